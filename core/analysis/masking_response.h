#pragma once
// How a masked view's outputs moved away from the unmasked ones: the measures MSN Lens shows
// beside every masked result and plots in sweeps.

#include <cstdint>
#include <vector>

namespace msnlens {

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

// KL(p || q) in nats for two probability vectors; q's zeros are clamped to 1e-12.
double kl_divergence(const std::vector<float>& p, const std::vector<float>& q);

// Indices of the k largest values, largest first (ties: lower index first).
std::vector<int> top_indices(const std::vector<float>& values, int k);

struct RankMove {
  int index = 0;
  int rank_before = 0, rank_after = 0;  // 0-based ranks among all classes
  float score_before = 0, score_after = 0;
};

// For every class in either top-k: where it stood before and after masking.
std::vector<RankMove> rank_moves(const std::vector<float>& before, const std::vector<float>& after, int k);

}  // namespace msnlens
