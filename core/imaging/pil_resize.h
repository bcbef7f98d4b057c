#pragma once
// Pillow's Image.resize, reproduced to the bit: separable passes (horizontal, then vertical)
// whose kernels widen with the downscale factor (antialiasing), coefficients in 22-bit fixed
// point, rounding as Pillow does. transformers' ViTImageProcessor resizes with Pillow, so
// anything else (OpenCV, torch's antialiased interpolate) shifts inputs by up to a level.

#include "imaging/rgb_image.h"

namespace msnlens {

// The numbering of PIL.Image.Resampling, which preprocessor_config.json's "resample" uses.
enum class ResampleFilter { Nearest = 0, Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 };

RgbImage pil_resize(const RgbImage& image, int width, int height, ResampleFilter filter);

}  // namespace msnlens
