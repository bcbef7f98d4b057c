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

}  // namespace msnlens
