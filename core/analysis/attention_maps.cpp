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

std::vector<float> display_channels(std::vector<float> values, int channels) {
  if (channels <= 1) {
    normalize_unit(values);
    return values;
  }
  const std::size_t c = static_cast<std::size_t>(channels), n = values.size() / c;
  for (std::size_t k = 0; k < c; ++k) {
    std::vector<float> channel(n);
    for (std::size_t i = 0; i < n; ++i) channel[i] = values[i * c + k];
    normalize_unit(channel);
    for (std::size_t i = 0; i < n; ++i) values[i * c + k] = channel[i];
  }
  return values;
}

std::vector<int> high_outliers(const std::vector<float>& values) {
  std::vector<float> finite;
  for (const float v : values)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.size() < 3) return {};
  auto median = [](std::vector<float> v) {
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    const double hi = *mid;
    if (v.size() % 2) return hi;
    return 0.5 * (hi + *std::max_element(v.begin(), mid));
  };
  const double m = median(finite);
  for (float& v : finite) v = static_cast<float>(std::abs(v - m));
  const double mad = median(finite);
  std::vector<int> out;
  if (!(mad > 0)) return out;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isfinite(values[i]) && 0.6745 * (values[i] - m) / mad > kOutlierZScore) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace msnlens
