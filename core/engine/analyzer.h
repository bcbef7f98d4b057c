#pragma once
// What the views show of one forward pass, computed on the session's device. A forward keeps
// only each layer's input there (the float32 residual stream); a layer's attention is
// recomputed from it when a view asks, in blocks of query tokens, and reduced on the device
// (one query's row, head fusion, rollout as a chain of row-vector products) so that only the
// small arrays a view draws reach the host. No layer's T x T x heads maps are kept.
//
// The maps, for a view whose tokens are CLS (0) and the patches it kept (A_l: layer l's
// attention [heads, T, T]; y: the target's score, see ExplainTarget; q: the query's token):
//   rollout       Â_l = fuse_heads(A_l) + I, rows normalised (the lowest discard_ratio of the
//                 fused entries zeroed first, CLS→CLS kept); map = (Â_L ⋯ Â_1)[q, 1:]
//   grad-rollout  the same with fuse = max(0, mean_h(A_l ⊙ ∂y/∂A_l))           (vit-explain)
//   chefer        R = ∏_l (I + mean_h max(0, ∂y/∂A_l ⊙ A_l)), L down to 1; map = R[q, 1:]
//   occlusion     map[p] = y(view) − y(view without p's token), in batches
//   similarity    cos(z_q, z_p), z = final-LayerNorm tokens
//   token norms   ‖x_p‖ after the layer (before the final LayerNorm)
//   pca           scores of z_p − mean on the top three principal directions of the view's
//                 patch tokens (or of several views' together), each signed so that Σ score³ > 0
//                 over the fitted tokens (stable under the eigensolver's sign choice)
//   distance      per layer × head: mean over patch queries i of Σ_j A[i, j] ‖c_i − c_j‖ over
//                 patch keys j, c = patch centres in pixels (the ViT paper's attention distance)
// Gradients are taken with autograd from the kept embeddings; the memory they need grows with
// layers × heads × T², and a request beyond kGradientBudget is refused with that figure.

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "analysis/linear_head.h"
#include "analysis/views.h"
#include "engine/forward_io.h"
#include "engine/inference_session.h"

namespace msnlens {

// One forward pass of one image under one mask, kept on the session's device.
class ForwardState {
 public:
  const Readout& readout() const { return readout_; }
  // Layer l's input, [1, T, D] on the device (l = 0: the embeddings); output(): the last layer's.
  const at::Tensor& layer_input(std::size_t l) const { return hidden_[l]; }
  const at::Tensor& output() const { return hidden_.back(); }
  const std::vector<int>& token_patch() const { return token_patch_; }
  std::int64_t tokens() const { return hidden_.front().size(1); }
  std::size_t device_bytes() const;

 private:
  friend class Analyzer;
  std::vector<at::Tensor> hidden_;  // L + 1: the embeddings, then each layer's output, [1, T, D]
  Readout readout_;
  std::vector<int> token_patch_;
};

class Analyzer {
 public:
  explicit Analyzer(const InferenceSession& session) : session_(session) {}

  // What the model is fed for `image` with `mask` applied as `mode` says.
  struct Input {
    at::Tensor pixels;
    ForwardOptions options;
    std::vector<int> token_patch;  // patch index of token t + 1
  };
  Input input(const PreparedImage& image, const PatchMask& mask, MaskMode mode) const;

  // `image` with `mask` applied as `mode` says (nothing masked: the unmasked view). Throws
  // Error for what the model cannot do (a mask token it lacks, a mask of another grid).
  std::shared_ptr<const ForwardState> forward(const PreparedImage& image, const PatchMask& mask, MaskMode mode) const;

  // Per patch of the grid (Pca: 3 values per patch), NaN where the model saw no token (see
  // ViewMaps). `few_shot` scores few-shot targets. Occlusion reports (done, total) patches
  // after each batch; when `progress` returns false it stops and the rest stays NaN.
  std::vector<float> patch_map(const ForwardState& state, const MapSpec& spec, const LinearHead& few_shot = {},
                               const Progress& progress = {}) const;
  // Pca of `state` on components fitted to the patch tokens of `fit` together (their mean,
  // directions and signs), so that the colours of several images mean the same.
  std::vector<float> pca_map(const ForwardState& state, const std::vector<const ForwardState*>& fit) const;
  // Mean attention distance in pixels, [layers * heads] layer-major.
  std::vector<float> attention_distance(const ForwardState& state) const;
  // Every head of `layer` for the query: [heads][patches].
  std::vector<std::vector<float>> head_maps(const ForwardState& state, int layer, int query_patch) const;
  // Every layer x head for the query: [layers * heads][patches], layer-major.
  std::vector<std::vector<float>> overview(const ForwardState& state, int query_patch) const;
  // Each layer's CLS token through the final LayerNorm and the heads (the depth lens).
  std::vector<Readout> lens(const ForwardState& state) const;

  int num_patches() const;

 private:
  // Token index of the query (0: CLS); -1 when the model saw no token of that patch.
  static std::int64_t query_token(const ForwardState& state, int query_patch);
  // [heads, T] on the device: the query's attention in `layer`.
  at::Tensor query_rows(const ForwardState& state, std::size_t layer, std::int64_t query) const;
  // [T] on the device: Abnar & Zuidema's rollout, row `query`.
  at::Tensor rollout_row(const ForwardState& state, HeadFusion fusion, float discard_ratio, std::int64_t query) const;
  std::vector<float> on_patches(const ForwardState& state, const at::Tensor& token_values, int channels = 1) const;

  const InferenceSession& session_;
};

}  // namespace msnlens
