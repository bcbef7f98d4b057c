#pragma once
// What a ViT attends to, computed from the attention probabilities of a forward pass: one
// query token's attention per head or fused over heads, and attention rollout (Abnar &
// Zuidema 2020) as vit-explain computes it. Plain C++ on float arrays, so widgets and tests
// can use it without LibTorch.

#include <cstdint>
#include <memory>
#include <vector>

namespace msnlens {

// Attention probabilities of every layer, [layers][heads][tokens][tokens]; row q holds what
// query token q attends to. Token 0 is CLS; token t > 0 is patch token_patch[t - 1].
struct AttentionStack {
  int layers = 0, heads = 0, tokens = 0;
  // One [heads][tokens][tokens] block per layer. Shared, so a block can be the engine's own
  // output buffer (kept alive by the pointer) rather than a copy of it.
  std::vector<std::shared_ptr<const float>> layer_data;
  std::vector<int> token_patch;  // patch index of each non-CLS token (all patches unless dropped)

  const float* matrix(int layer, int head) const {
    return layer_data[static_cast<std::size_t>(layer)].get() + static_cast<std::size_t>(head) * tokens * tokens;
  }
  bool empty() const { return layer_data.empty(); }
};

enum class HeadFusion { Single, Mean, Max, Min };

// One row per layer: attention of `query` to every token, for head `head` (Single) or fused.
std::vector<float> query_attention(const AttentionStack& a, int layer, HeadFusion fusion, int head, int query);

// Rollout through all layers: each layer's heads fused (Single counts as Mean here), the lowest
// `discard_ratio` of its entries zeroed (except CLS -> CLS, as vit-explain), the identity added
// for the residual path, rows renormalised, and the layers multiplied. Returns tokens x tokens.
std::vector<float> attention_rollout(const AttentionStack& a, HeadFusion fusion, float discard_ratio);

// Spreads per-token values onto the patch grid (num_patches cells); patches with no token
// (dropped) get `missing`.
std::vector<float> tokens_to_patches(const std::vector<float>& token_values, const std::vector<int>& token_patch,
                                     int num_patches, float missing);

// Rescales finite values to [0, 1] (min -> 0, max -> 1); non-finite values stay as they are.
void normalize_unit(std::vector<float>& values);

}  // namespace msnlens
