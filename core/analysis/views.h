#pragma once
// What MSN Lens shows of an image, as plain values: the engine (engine/workbench.h) computes
// them, the app draws them, the CLI prints them. No LibTorch here.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/attention_maps.h"
#include "analysis/patch_mask.h"

namespace msnlens {

using ImageId = std::uint64_t;

// Told (done, total) as long work goes on; returning false stops it early.
using Progress = std::function<bool(int done, int total)>;

// How masked patches are hidden from the model.
enum class MaskMode {
  DropTokens,  // MSN's own masking: the patch tokens are removed after position embeddings
  MaskToken,   // transformers' bool_masked_pos: embeddings replaced by the learned mask token
  FillGray,    // the patch pixels painted mid gray, every token kept
  FillBlur,    // the patch pixels replaced by a heavy blur, every token kept
};
const char* to_string(MaskMode mode);
// "drop" | "token" | "gray" | "blur" (the CLI's names); nullopt otherwise.
std::optional<MaskMode> parse_mask_mode(const std::string& name);

// What the model's read-out makes of one CLS token.
struct Readout {
  std::vector<float> cls;              // CLS embedding after the final LayerNorm
  std::vector<float> class_probs;      // softmax over the classifier's logits; empty without one
  std::vector<float> prototype_probs;  // MSN prototype assignment; empty without prototypes
};

// Where a ranking or a class-specific explanation comes from: the checkpoint's classifier,
// few-shot classes fitted on CLS embeddings, or MSN's prototype assignment.
enum class PredictionSource { Classifier, FewShot, Prototypes, None };

// What a class-specific map explains: one score before the softmax, y_t = a classifier logit,
// a few-shot class's logit (w_k · standardised CLS / temperature) or a prototype's
// cos(projection, prototype) / 0.1. With None, occlusion measures how far the CLS embedding
// moves instead (1 − cosine) and the gradient methods refuse.
struct ExplainTarget {
  PredictionSource source = PredictionSource::None;
  int index = 0;  // -1: the unmasked image's top prediction under `source` (Workbench::maps resolves it)

  bool operator==(const ExplainTarget& o) const { return source == o.source && index == o.index; }
};

// Which map the canvas shows. Per patch of the grid, each from the view's own forward pass
// (definitions in engine/analyzer.h):
//   Attention   one layer's attention of the query, heads fused
//   Rollout     Abnar & Zuidema's attention rollout
//   GradRollout rollout of gradient-weighted attention (vit-explain), for `target`
//   Chefer      Chefer, Gur & Wolf's generic attention explainability, for `target`
//   Occlusion   how `target` falls when each patch's token is dropped as well
//   Similarity  cosine of the query's last-layer token with every patch token
//   TokenNorm   each token's norm after `layer` (high-norm outliers flagged)
//   Pca         the first three principal components of the last-layer patch tokens (RGB)
struct MapSpec {
  enum class Source { Attention, Rollout, GradRollout, Chefer, Occlusion, Similarity, TokenNorm, Pca };
  Source source = Source::Attention;
  int layer = -1;                      // -1: the last layer (Attention, TokenNorm)
  HeadFusion fusion = HeadFusion::Mean;
  int head = 0;                        // with HeadFusion::Single
  int query_patch = -1;                // -1: the CLS token
  float discard_ratio = 0.9f;          // Rollout, GradRollout
  ExplainTarget target;                // GradRollout, Chefer, Occlusion
  bool pca_all_images = false;         // Pca: components fitted on every loaded image together

  bool operator==(const MapSpec& o) const {
    return source == o.source && layer == o.layer && fusion == o.fusion && head == o.head &&
           query_patch == o.query_patch && discard_ratio == o.discard_ratio && target == o.target &&
           pca_all_images == o.pca_all_images;
  }
};
// The CLI's names: "attention", "rollout", "grad-rollout", "chefer", "occlusion",
// "similarity", "token-norms", "pca"; parse gives nullopt for anything else.
const char* to_string(MapSpec::Source source);
std::optional<MapSpec::Source> parse_map_source(const std::string& name);
// Whether the source explains a target (and so depends on the few-shot classes).
bool uses_target(MapSpec::Source source);
// Whether the source looks from the query patch (or CLS): attention, rollouts, relevance,
// similarity.
bool uses_query(MapSpec::Source source);
// Channels per patch of the source's map: 3 for Pca (principal components), else 1.
int map_channels(MapSpec::Source source);

// The layer a MapSpec (or a heads request) means in a model of `layers` layers: -1, and
// anything past the end, is the last.
inline int resolve_layer(int layer, int layers) { return layer < 0 ? layers - 1 : std::min(layer, layers - 1); }

// What the visible views ask of one result beyond its predictions.
struct MapRequest {
  MapSpec map;            // the canvas heat map
  bool heads = false;     // every head of map.layer for map.query_patch (the Attention tab's grid)
  bool overview = false;  // every layer x head for map.query_patch (the Heads tab)
  bool lens = false;      // each layer's CLS read out (the Lens tab)
  bool distance = false;  // mean attention distance per layer x head

  bool operator==(const MapRequest& o) const {
    return map == o.map && heads == o.heads && overview == o.overview && lens == o.lens && distance == o.distance;
  }
};

// One forward pass of one image, unmasked or masked: its read-out and what the model saw.
struct ViewSummary : Readout {
  ImageId image_id = 0;
  bool masked = false;
  MaskMode mode = MaskMode::DropTokens;
  PatchMask mask;                // what was masked (nothing for the unmasked view)
  std::vector<int> token_patch;  // patch index of token t + 1 (all patches unless dropped)
  double latency_ms = 0;         // request to result
};

// The maps and read-outs a MapRequest asked for, for one view. Maps are per patch of the
// model's grid, row-major, raw values (attention probabilities, rollout's row, scores, norms;
// Pca: 3 interleaved components per patch), NaN where the model saw no token of that patch or
// a cancelled occlusion did not get to it; map_display() (analysis/shown_view.h) turns one into what
// the canvas draws.
struct ViewMaps {
  ImageId image_id = 0;
  bool masked = false;
  MaskMode mode = MaskMode::DropTokens;
  PatchMask mask;
  MapRequest request;
  int layers = 0, heads = 0;
  std::vector<float> map;
  ExplainTarget target;                       // what a class map explains, resolved
  std::vector<int> outliers;                  // TokenNorm: patches with outlying norms
  std::vector<float> distance;                // [layers * heads], layer-major, in pixels
  std::vector<std::vector<float>> head_maps;  // [heads][patches] of request.map.layer
  std::vector<std::vector<float>> overview;   // [layers * heads][patches], layer-major
  std::vector<Readout> lens;                  // lens[l]: after layer l + 1
  double compute_ms = 0;
};

}  // namespace msnlens
