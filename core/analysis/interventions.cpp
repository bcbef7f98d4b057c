#include "analysis/interventions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace msnlens {

std::vector<float> ablation_display(const HeadAblation& a) {
  float scale = 0;
  for (const float d : a.delta)
    if (std::isfinite(d)) scale = std::max(scale, std::abs(d));
  std::vector<float> out(a.delta.size(), 0.0f);
  if (scale > 0)
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a.delta[i] / scale;
  return out;
}

std::vector<float> patching_display(const Patching& p, int layer) {
  const auto n = static_cast<std::size_t>(p.rows * p.cols);
  if (layer < 0 || layer >= p.layers || p.restoration.size() < n * static_cast<std::size_t>(p.layers)) return {};
  const auto first = p.restoration.begin() + static_cast<std::ptrdiff_t>(n * static_cast<std::size_t>(layer));
  std::vector<float> out(first, first + static_cast<std::ptrdiff_t>(n));
  for (float& v : out)
    if (!std::isnan(v)) v = std::clamp(v, 0.0f, 1.0f);
  return out;
}

std::string ablation_caption(const HeadAblation& a) {
  if (a.delta.empty() || a.heads <= 0) return {};
  const auto worst = std::max_element(a.delta.begin(), a.delta.end()) - a.delta.begin();
  char text[128];
  std::snprintf(text, sizeof text, "\u0394y %.3f when layer %d head %d is zeroed (y %.3f)", static_cast<double>(a.delta[static_cast<std::size_t>(worst)]),
                static_cast<int>(worst / a.heads) + 1, static_cast<int>(worst % a.heads) + 1, a.score);
  return text;
}

std::string patching_caption(const Patching& p, int layer) {
  if (layer < 0 || layer >= static_cast<int>(p.all.size())) return {};
  char text[160];
  std::snprintf(text, sizeof text, "input to layer %d: restored %.2f by every token, %.2f by the CLS token alone (y masked %.3f, unmasked %.3f)",
                layer + 1, p.all[static_cast<std::size_t>(layer)], p.cls[static_cast<std::size_t>(layer)], p.masked_score, p.clean_score);
  return text;
}

std::string knockout_caption(const KnockoutEffect& k) {
  char text[96];
  std::snprintf(text, sizeof text, "y %.3f \u2192 %.3f, CLS cosine %.5f", k.score, k.knocked_score, k.cls_cosine);
  return text;
}

}  // namespace msnlens
