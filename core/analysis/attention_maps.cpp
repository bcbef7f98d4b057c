#include "analysis/attention_maps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace msnlens {
namespace {

// Heads of one layer fused into a tokens x tokens matrix.
std::vector<float> fused_matrix(const AttentionStack& a, int layer, HeadFusion fusion, int head) {
  const std::size_t n = static_cast<std::size_t>(a.tokens) * a.tokens;
  if (fusion == HeadFusion::Single) {
    const float* m = a.matrix(layer, head);
    return {m, m + n};
  }
  std::vector<float> out(a.matrix(layer, 0), a.matrix(layer, 0) + n);
  for (int h = 1; h < a.heads; ++h) {
    const float* m = a.matrix(layer, h);
    for (std::size_t i = 0; i < n; ++i) {
      switch (fusion) {
        case HeadFusion::Mean: out[i] += m[i]; break;
        case HeadFusion::Max: out[i] = std::max(out[i], m[i]); break;
        case HeadFusion::Min: out[i] = std::min(out[i], m[i]); break;
        case HeadFusion::Single: break;
      }
    }
  }
  if (fusion == HeadFusion::Mean)
    for (float& v : out) v /= static_cast<float>(a.heads);
  return out;
}

}  // namespace

std::vector<float> query_attention(const AttentionStack& a, int layer, HeadFusion fusion, int head, int query) {
  std::vector<float> row(static_cast<std::size_t>(a.tokens));
  const std::size_t offset = static_cast<std::size_t>(query) * a.tokens;
  if (fusion == HeadFusion::Single) {
    const float* m = a.matrix(layer, head) + offset;
    return {m, m + a.tokens};
  }
  for (int t = 0; t < a.tokens; ++t) {
    float v = a.matrix(layer, 0)[offset + t];
    for (int h = 1; h < a.heads; ++h) {
      const float x = a.matrix(layer, h)[offset + t];
      if (fusion == HeadFusion::Mean) v += x;
      else if (fusion == HeadFusion::Max) v = std::max(v, x);
      else v = std::min(v, x);
    }
    row[static_cast<std::size_t>(t)] = fusion == HeadFusion::Mean ? v / static_cast<float>(a.heads) : v;
  }
  return row;
}

std::vector<float> attention_rollout(const AttentionStack& a, HeadFusion fusion, float discard_ratio) {
  const int t = a.tokens;
  const std::size_t n = static_cast<std::size_t>(t) * t;
  std::vector<float> result(n, 0.0f), next(n);
  for (int i = 0; i < t; ++i) result[static_cast<std::size_t>(i) * t + i] = 1.0f;
  std::vector<std::size_t> order(n);
  for (int layer = 0; layer < a.layers; ++layer) {
    std::vector<float> m = fused_matrix(a, layer, fusion == HeadFusion::Single ? HeadFusion::Mean : fusion, 0);
    const auto drop = static_cast<std::size_t>(static_cast<double>(n) * std::clamp(discard_ratio, 0.0f, 1.0f));
    if (drop > 0) {
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(drop - 1), order.end(),
                       [&](std::size_t x, std::size_t y) { return m[x] < m[y]; });
      for (std::size_t i = 0; i < drop; ++i)
        if (order[i] != 0) m[order[i]] = 0.0f;  // vit-explain never discards entry 0 (CLS -> CLS)
    }
    for (int i = 0; i < t; ++i) {  // (A + I) / 2, rows renormalised
      float* row = &m[static_cast<std::size_t>(i) * t];
      row[i] += 1.0f;
      const float sum = std::accumulate(row, row + t, 0.0f);
      for (int j = 0; j < t; ++j) row[j] /= sum;
    }
    std::fill(next.begin(), next.end(), 0.0f);
    for (int i = 0; i < t; ++i)
      for (int k = 0; k < t; ++k) {
        const float w = m[static_cast<std::size_t>(i) * t + k];
        if (w == 0.0f) continue;
        const float* src = &result[static_cast<std::size_t>(k) * t];
        float* dst = &next[static_cast<std::size_t>(i) * t];
        for (int j = 0; j < t; ++j) dst[j] += w * src[j];
      }
    result.swap(next);
  }
  return result;
}

std::vector<float> tokens_to_patches(const std::vector<float>& token_values, const std::vector<int>& token_patch,
                                     int num_patches, float missing) {
  std::vector<float> grid(static_cast<std::size_t>(num_patches), missing);
  for (std::size_t i = 0; i < token_patch.size() && i + 1 < token_values.size(); ++i) {
    const int p = token_patch[i];
    if (p >= 0 && p < num_patches) grid[static_cast<std::size_t>(p)] = token_values[i + 1];
  }
  return grid;
}

void normalize_unit(std::vector<float>& values) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (const float v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo)) {
    for (float& v : values)
      if (std::isfinite(v)) v = 0.0f;
    return;
  }
  for (float& v : values)
    if (std::isfinite(v)) v = (v - lo) / (hi - lo);
}

}  // namespace msnlens
