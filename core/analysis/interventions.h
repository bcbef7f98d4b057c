#pragma once
// What the causal interventions of engine/interventions.h report, as plain values. y is the
// target's score before the softmax (the logit, as for occlusion); layers count from 0.

#include <string>
#include <vector>

#include "analysis/views.h"

namespace msnlens {

// [layers, heads]: y of the view minus y with head (l, h) zeroed through head_mask.
struct HeadAblation {
  ExplainTarget target;
  int layers = 0, heads = 0;
  std::vector<float> delta;  // layer-major
  double score = 0;          // y of the view
};

// Patches made invisible: their attention logits set to −∞ before the softmax, for the CLS
// query or for every query, in the chosen layers.
struct KnockoutRequest {
  std::vector<int> patches;  // patch indices; those the view has no token of change nothing
  std::vector<int> layers;   // empty: every layer
  bool every_query = false;  // false: hidden from the CLS token only
};

struct KnockoutEffect {
  ExplainTarget target;
  double score = 0, knocked_score = 0;  // y of the view, and with the knockout
  double cls_cosine = 1;                // cos(knocked CLS embedding, the view's), after the final LayerNorm
};

// A masked (token-dropped) view and its unmasked view. For each layer l and kept patch p, p's
// input to layer l in the masked run is replaced by its value in the unmasked run and the run
// goes on: restoration = (y_patched − y_masked) / (y_clean − y_masked) (NaN when the mask
// changes nothing). Entry l is the input to layer l; at l = 0 (the embeddings) every kept
// token already equals its unmasked value, so that row is 0.
struct Patching {
  ExplainTarget target;
  int layers = 0, rows = 0, cols = 0;
  std::vector<float> restoration;   // [layers, rows * cols] layer-major; NaN where the masked view dropped the patch
  std::vector<double> cls, all;     // [layers]: the CLS token patched alone; every kept token and CLS at once
  double clean_score = 0, masked_score = 0;
};

// What the app draws of them. Head ablation as [-1, 1] per head, scaled by the largest |Δy|
// (0 where every head is 0); one layer of the patching stack as restoration clamped to [0, 1]
// (0: nothing restored, 1: all of the masking's effect undone), NaN where dropped.
std::vector<float> ablation_display(const HeadAblation& a);
std::vector<float> patching_display(const Patching& p, int layer);
// "Δy 0.412 when layer 3 head 2 is zeroed (y 5.210)": the head that matters most.
std::string ablation_caption(const HeadAblation& a);
// "restored 0.63 by every token, 0.41 by the CLS token alone at layer 4 (y masked 2.1, unmasked 5.2)".
std::string patching_caption(const Patching& p, int layer);
// "y 5.210 → 4.873, CLS cosine 0.99812".
std::string knockout_caption(const KnockoutEffect& k);

}  // namespace msnlens
