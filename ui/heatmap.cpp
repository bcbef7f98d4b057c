#include "ui/heatmap.h"

#include <cstring>

namespace msnlens {

QImage heatmap_image(const std::vector<float>& values, int cols, int rows, Colormap colormap, int channels) {
  if (cols <= 0 || rows <= 0 || values.size() != static_cast<std::size_t>(cols) * rows * channels) return {};
  const std::vector<std::uint8_t> rgba = colorize_channels(values, channels, cols, rows, colormap);
  QImage image(cols, rows, QImage::Format_RGBA8888);
  for (int y = 0; y < rows; ++y) std::memcpy(image.scanLine(y), rgba.data() + static_cast<std::size_t>(y) * cols * 4, static_cast<std::size_t>(cols) * 4);
  return image;
}

}  // namespace msnlens
