#include "imaging/patch_fill.h"

#include <opencv2/imgproc.hpp>

#include <cstring>

namespace msnlens {

RgbImage fill_patches(const RgbImage& input, const PatchMask& mask, PixelFill fill) {
  RgbImage out = input;
  if (!mask.any() || mask.rows() <= 0 || mask.cols() <= 0) return out;
  const int ph = input.height / mask.rows(), pw = input.width / mask.cols();
  cv::Mat blurred;
  if (fill == PixelFill::Blur) {
    const cv::Mat src(input.height, input.width, CV_8UC3, const_cast<std::uint8_t*>(input.pixels.data()));
    const double sigma = 0.75 * std::max(ph, pw);  // wider than a patch: nothing of it survives
    cv::GaussianBlur(src, blurred, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
  }
  for (int p = 0; p < mask.size(); ++p) {
    if (!mask.masked(p)) continue;
    const int r = p / mask.cols(), c = p % mask.cols();
    for (int y = r * ph; y < (r + 1) * ph; ++y) {
      std::uint8_t* row = out.row(y) + static_cast<std::size_t>(c) * pw * 3;
      if (fill == PixelFill::Gray) std::memset(row, 128, static_cast<std::size_t>(pw) * 3);
      else std::memcpy(row, blurred.ptr(y) + static_cast<std::size_t>(c) * pw * 3, static_cast<std::size_t>(pw) * 3);
    }
  }
  return out;
}

}  // namespace msnlens
