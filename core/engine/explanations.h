#pragma once
// The maps beyond attention itself, each a function of the model and one kept forward pass
// (engine/analyzer.h defines every map; Analyzer::patch_map dispatches here and spreads the
// token values onto the patch grid): gradient relevance (grad-rollout, Chefer's), occlusion by
// token dropping, principal components of the patch tokens, attention distance. Class-specific
// maps explain y, the target's score before the softmax (ExplainTarget).

#include <vector>

#include "analysis/linear_head.h"
#include "analysis/views.h"
#include "engine/analyzer.h"

namespace msnlens {

// Device memory the gradient methods may take for their attention maps and gradients.
constexpr std::size_t kGradientBudget = std::size_t{4} << 30;
// Principal components a PCA map shows (as red, green and blue).
constexpr std::int64_t kPcaComponents = 3;

// [B, classes] the scores before the softmax of every class of the target's source, for
// final-LayerNorm CLS embeddings [B, D]; Error when the model or the classes cannot score the
// target.
at::Tensor target_logits(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target, const LinearHead& few_shot);
// [B] y_t, the target's column of target_logits.
at::Tensor target_scores(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target, const LinearHead& few_shot);
// [B] float64 p_t, the target's softmax probability among its source's classes (classifier
// labels, few-shot classes, prototypes: MSN's prototype assignment).
at::Tensor target_probabilities(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target,
                                const LinearHead& few_shot);
// [T] on the device: grad-rollout or Chefer's relevance (spec.source), row `query`; Error past
// kGradientBudget.
at::Tensor gradient_row(const ViTMSNModel& model, const ForwardState& state, const MapSpec& spec, const LinearHead& few_shot,
                        std::int64_t query);
// Per token (NaN for CLS and for tokens not reached when `progress` stopped it): y of the view
// minus y with that token dropped as well, in batches.
std::vector<float> occlusion_row(const ViTMSNModel& model, const ForwardState& state, const ExplainTarget& target,
                                 const LinearHead& few_shot, const Progress& progress);
// [T, kPcaComponents] float64 on the CPU (CLS row zero): the view's patch tokens on the
// components fitted to the patch tokens of `fit` together (or of the view alone when empty).
at::Tensor pca_scores(const ViTMSNModel& model, const ForwardState& state, const std::vector<const ForwardState*>& fit);
// Mean attention distance in pixels, [layers * heads] layer-major.
std::vector<float> attention_distance(const ViTMSNModel& model, const ForwardState& state);

}  // namespace msnlens
