#include "ui/heatmap.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace msnlens {

std::vector<float> patch_heatmap(const ForwardResult& result, const HeatmapSettings& s, int num_patches,
                                 const std::vector<float>* rollout) {
  const AttentionStack& a = result.attention;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (a.empty()) return std::vector<float>(static_cast<std::size_t>(num_patches), nan);
  // The query patch's token, if the model saw that patch at all.
  int query = 0;
  if (s.query_patch >= 0) {
    const auto it = std::find(a.token_patch.begin(), a.token_patch.end(), s.query_patch);
    if (it == a.token_patch.end()) return std::vector<float>(static_cast<std::size_t>(num_patches), nan);
    query = static_cast<int>(it - a.token_patch.begin()) + 1;
  }
  std::vector<float> row;
  if (s.source == HeatmapSettings::Source::Rollout && rollout != nullptr &&
      rollout->size() == static_cast<std::size_t>(a.tokens) * a.tokens) {
    row.assign(rollout->begin() + static_cast<std::ptrdiff_t>(query) * a.tokens,
               rollout->begin() + static_cast<std::ptrdiff_t>(query + 1) * a.tokens);
  } else {
    const int layer = s.layer < 0 ? a.layers - 1 : std::min(s.layer, a.layers - 1);
    row = query_attention(a, layer, s.fusion, std::clamp(s.head, 0, a.heads - 1), query);
  }
  std::vector<float> grid = tokens_to_patches(row, a.token_patch, num_patches, nan);
  if (s.query_patch >= 0) grid[static_cast<std::size_t>(s.query_patch)] = nan;  // attention to itself dwarfs the rest
  normalize_unit(grid);
  return grid;
}

QImage heatmap_image(const std::vector<float>& values, int cols, int rows, Colormap colormap) {
  if (cols <= 0 || rows <= 0 || values.size() != static_cast<std::size_t>(cols) * rows) return {};
  const std::vector<std::uint8_t> rgba = colorize(values, cols, rows, colormap);
  QImage image(cols, rows, QImage::Format_RGBA8888);
  for (int y = 0; y < rows; ++y) std::memcpy(image.scanLine(y), rgba.data() + static_cast<std::size_t>(y) * cols * 4, static_cast<std::size_t>(cols) * 4);
  return image;
}

}  // namespace msnlens
