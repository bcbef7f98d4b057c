#include "imaging/colormap.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace msnlens {

const std::vector<std::pair<std::string, Colormap>>& colormaps() {
  static const std::vector<std::pair<std::string, Colormap>> names = {
      {"Viridis", Colormap::Viridis}, {"Inferno", Colormap::Inferno}, {"Magma", Colormap::Magma},
      {"Plasma", Colormap::Plasma},   {"Turbo", Colormap::Turbo},     {"Jet", Colormap::Jet},
      {"Hot", Colormap::Hot},         {"Bone", Colormap::Bone}};
  return names;
}

namespace {
int opencv_map(Colormap map) {
  switch (map) {
    case Colormap::Viridis: return cv::COLORMAP_VIRIDIS;
    case Colormap::Inferno: return cv::COLORMAP_INFERNO;
    case Colormap::Magma: return cv::COLORMAP_MAGMA;
    case Colormap::Plasma: return cv::COLORMAP_PLASMA;
    case Colormap::Turbo: return cv::COLORMAP_TURBO;
    case Colormap::Jet: return cv::COLORMAP_JET;
    case Colormap::Hot: return cv::COLORMAP_HOT;
    case Colormap::Bone: return cv::COLORMAP_BONE;
  }
  return cv::COLORMAP_VIRIDIS;
}
}  // namespace

std::vector<std::uint8_t> colorize(const std::vector<float>& values, int cols, int rows, Colormap map) {
  if (cols <= 0 || rows <= 0 || values.size() != static_cast<std::size_t>(cols) * static_cast<std::size_t>(rows))
    fail("colorize", "values do not match a " + std::to_string(cols) + "x" + std::to_string(rows) + " grid");
  cv::Mat gray(rows, cols, CV_8UC1);
  for (int i = 0; i < rows * cols; ++i) {
    const float v = values[static_cast<std::size_t>(i)];
    gray.data[i] = static_cast<std::uint8_t>(std::isfinite(v) ? std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f) : 0);
  }
  cv::Mat bgr;
  cv::applyColorMap(gray, bgr, opencv_map(map));
  std::vector<std::uint8_t> rgba(static_cast<std::size_t>(rows) * cols * 4);
  for (int i = 0; i < rows * cols; ++i) {
    const std::uint8_t* p = bgr.data + 3 * i;
    std::uint8_t* q = rgba.data() + 4 * i;
    q[0] = p[2];
    q[1] = p[1];
    q[2] = p[0];
    q[3] = std::isfinite(values[static_cast<std::size_t>(i)]) ? 255 : 0;
  }
  return rgba;
}

std::vector<std::uint8_t> colorize_channels(const std::vector<float>& values, int channels, int cols, int rows, Colormap map) {
  if (channels != 3) return colorize(values, cols, rows, map);
  const auto cells = static_cast<std::size_t>(cols) * static_cast<std::size_t>(std::max(rows, 0));
  if (cols <= 0 || values.size() != cells * 3) fail("colorize", "values do not match a " + std::to_string(cols) + "x" + std::to_string(rows) + " grid of RGB");
  std::vector<std::uint8_t> rgba(cells * 4);
  for (std::size_t i = 0; i < cells; ++i) {
    bool finite = true;
    for (std::size_t k = 0; k < 3; ++k) {
      const float v = values[i * 3 + k];
      finite = finite && std::isfinite(v);
      rgba[i * 4 + k] = static_cast<std::uint8_t>(std::isfinite(v) ? std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f) : 0);
    }
    rgba[i * 4 + 3] = finite ? 255 : 0;
  }
  return rgba;
}

RgbImage blend_patches(const RgbImage& image, const std::vector<std::uint8_t>& rgba, int cols, int rows, double opacity) {
  RgbImage out = image;
  for (int y = 0; y < out.height; ++y) {
    const int r = std::min(rows - 1, y * rows / out.height);
    std::uint8_t* row = out.row(y);
    for (int x = 0; x < out.width; ++x) {
      const std::uint8_t* c = rgba.data() + 4 * (static_cast<std::size_t>(r) * cols + static_cast<std::size_t>(std::min(cols - 1, x * cols / out.width)));
      const double a = opacity * c[3] / 255.0;
      for (int k = 0; k < 3; ++k) row[3 * x + k] = static_cast<std::uint8_t>(std::lround((1.0 - a) * row[3 * x + k] + a * c[k]));
    }
  }
  return out;
}

}  // namespace msnlens
