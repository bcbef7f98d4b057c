#include "analysis/attention_maps.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace msnlens {

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

std::vector<float> display_map(std::vector<float> values, int query_patch) {
  if (query_patch >= 0 && static_cast<std::size_t>(query_patch) < values.size())
    values[static_cast<std::size_t>(query_patch)] = std::numeric_limits<float>::quiet_NaN();
  normalize_unit(values);
  return values;
}

}  // namespace msnlens
