#include "imaging/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.h"

namespace msnlens {
namespace {

// Pillow's fixed-point precision for 8-bit images: 32 bits minus 8 for the value, 2 for sign.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Filter {
  double support;
  double (*weight)(double);
};

double box(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double bilinear(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming(double x) {
  x = std::abs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= M_PI;
  return std::sin(x) / x * (0.54 + 0.46 * std::cos(x));
}
double bicubic(double x) {
  constexpr double a = -0.5;  // Pillow's choice (Keys' kernel)
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

Filter filter_for(ResampleFilter f) {
  switch (f) {
    case ResampleFilter::Box: return {0.5, box};
    case ResampleFilter::Bilinear: return {1.0, bilinear};
    case ResampleFilter::Hamming: return {1.0, hamming};
    case ResampleFilter::Bicubic: return {2.0, bicubic};
    case ResampleFilter::Lanczos: return {3.0, lanczos};
    case ResampleFilter::Nearest: break;
  }
  fail("resample", "no convolution filter for nearest");
}

// For each output pixel: first input index, tap count, and fixed-point weights (ksize apart).
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weights;
};

Coefficients precompute(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = filter.support * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.weights.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // Pillow truncates toward zero here (a C cast), then clamps to the image.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = filter.weight((x + xmin - center + 0.5) * ss);
      k[static_cast<std::size_t>(x)] = w;
      total += w;
    }
    for (int x = 0; x < xmax; ++x) {
      double w = k[static_cast<std::size_t>(x)];
      if (total != 0.0) w /= total;
      const double fixed = w * (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize) + static_cast<std::size_t>(x)] =
          static_cast<std::int32_t>(w < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    c.first[static_cast<std::size_t>(xx)] = xmin;
    c.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int64_t acc) {
  const std::int64_t v = acc >> kPrecisionBits;
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(v, 0, 255));
}

// Resamples along x (rows) for input rows [row0, row0 + rows).
RgbImage horizontal(const RgbImage& in, int out_width, int row0, int rows, const Coefficients& c) {
  RgbImage out(out_width, rows);
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* src = in.row(row0 + y);
    std::uint8_t* dst = out.row(y);
    for (int xx = 0; xx < out_width; ++xx) {
      const std::int32_t* k = &c.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
      const int xmin = c.first[static_cast<std::size_t>(xx)], n = c.count[static_cast<std::size_t>(xx)];
      for (int ch = 0; ch < 3; ++ch) {
        std::int64_t acc = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) acc += static_cast<std::int64_t>(src[(x + xmin) * 3 + ch]) * k[x];
        dst[xx * 3 + ch] = clip8(acc);
      }
    }
  }
  return out;
}

// Resamples along y; `shift` is the first input row `in` holds.
RgbImage vertical(const RgbImage& in, int out_height, int shift, const Coefficients& c) {
  RgbImage out(in.width, out_height);
  for (int yy = 0; yy < out_height; ++yy) {
    const std::int32_t* k = &c.weights[static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize)];
    const int ymin = c.first[static_cast<std::size_t>(yy)] - shift, n = c.count[static_cast<std::size_t>(yy)];
    std::uint8_t* dst = out.row(yy);
    for (int xx = 0; xx < in.width * 3; ++xx) {
      std::int64_t acc = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < n; ++y) acc += static_cast<std::int64_t>(in.row(y + ymin)[xx]) * k[y];
      dst[xx] = clip8(acc);
    }
  }
  return out;
}

// Pillow's NEAREST: affine sampling at pixel centres, stepping in doubles as it does.
RgbImage nearest(const RgbImage& in, int width, int height) {
  RgbImage out(width, height);
  const double sx = static_cast<double>(in.width) / width, sy = static_cast<double>(in.height) / height;
  std::vector<int> xs(static_cast<std::size_t>(width));
  double xo = sx * 0.5;
  for (int x = 0; x < width; ++x, xo += sx) xs[static_cast<std::size_t>(x)] = std::min(static_cast<int>(xo), in.width - 1);
  double yo = sy * 0.5;
  for (int y = 0; y < height; ++y, yo += sy) {
    const std::uint8_t* src = in.row(std::min(static_cast<int>(yo), in.height - 1));
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < width; ++x)
      std::copy_n(src + xs[static_cast<std::size_t>(x)] * 3, 3, dst + x * 3);
  }
  return out;
}

}  // namespace

RgbImage pil_resize(const RgbImage& image, int width, int height, ResampleFilter filter) {
  if (image.empty() || width <= 0 || height <= 0) fail("resize", "empty image or target size");
  if (width == image.width && height == image.height) return image;
  if (filter == ResampleFilter::Nearest) return nearest(image, width, height);
  const Filter f = filter_for(filter);
  const bool need_h = width != image.width, need_v = height != image.height;
  const Coefficients cv = precompute(image.height, height, f);
  // Only the input rows the vertical pass reads are resampled horizontally.
  const int first_row = cv.first.front();
  const int last_row = cv.first.back() + cv.count.back();
  if (!need_h) return vertical(image, height, 0, cv);
  const Coefficients ch = precompute(image.width, width, f);
  if (!need_v) return horizontal(image, width, 0, image.height, ch);
  const RgbImage temp = horizontal(image, width, first_row, last_row - first_row, ch);
  return vertical(temp, height, first_row, cv);
}

}  // namespace msnlens
