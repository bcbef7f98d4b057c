#include "imaging/patch_fill.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace msnlens {
namespace {

// Index into [0, n) mirrored at the edges, edge pixels repeated ("fedcba|abcdef"), as
// OpenCV's BORDER_REFLECT.
int reflect(int i, int n) {
  while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
  return i;
}

// Separable Gaussian blur of an interleaved RGB image; kernel width as OpenCV picks it for
// 8-bit images (about 6 sigma, odd).
RgbImage gaussian_blur(const RgbImage& in, double sigma) {
  const int radius = std::max(1, static_cast<int>(std::lround(sigma * 3.0)));
  std::vector<float> kernel(static_cast<std::size_t>(2 * radius + 1));
  float sum = 0;
  for (int i = -radius; i <= radius; ++i)
    sum += kernel[static_cast<std::size_t>(i + radius)] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& k : kernel) k /= sum;
  const int w = in.width, h = in.height;
  std::vector<float> rows(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float v = 0;
        for (int i = -radius; i <= radius; ++i)
          v += kernel[static_cast<std::size_t>(i + radius)] * in.row(y)[reflect(x + i, w) * 3 + c];
        rows[(static_cast<std::size_t>(y) * w + x) * 3 + c] = v;
      }
  RgbImage out(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float v = 0;
        for (int i = -radius; i <= radius; ++i)
          v += kernel[static_cast<std::size_t>(i + radius)] * rows[(static_cast<std::size_t>(reflect(y + i, h)) * w + x) * 3 + c];
        out.row(y)[x * 3 + c] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
  return out;
}

}  // namespace

RgbImage fill_patches(const RgbImage& input, const PatchMask& mask, PixelFill fill) {
  RgbImage out = input;
  if (!mask.any() || mask.rows() <= 0 || mask.cols() <= 0) return out;
  const int ph = input.height / mask.rows(), pw = input.width / mask.cols();
  RgbImage blurred;
  if (fill == PixelFill::Blur) blurred = gaussian_blur(input, 0.75 * std::max(ph, pw));  // wider than a patch: nothing of it survives
  for (int p = 0; p < mask.size(); ++p) {
    if (!mask.masked(p)) continue;
    const int r = p / mask.cols(), c = p % mask.cols();
    for (int y = r * ph; y < (r + 1) * ph; ++y) {
      std::uint8_t* row = out.row(y) + static_cast<std::size_t>(c) * pw * 3;
      if (fill == PixelFill::Gray) std::memset(row, 128, static_cast<std::size_t>(pw) * 3);
      else std::memcpy(row, blurred.row(y) + static_cast<std::size_t>(c) * pw * 3, static_cast<std::size_t>(pw) * 3);
    }
  }
  return out;
}

}  // namespace msnlens
