#pragma once
// Masking in pixel space: the masked patches of the model's input image painted over, so the
// model sees every token (no dropping, no mask token) but no content there.

#include "analysis/patch_mask.h"
#include "imaging/rgb_image.h"

namespace msnlens {

enum class PixelFill {
  Gray,  // mid gray (128)
  Blur,  // a heavy Gaussian blur of the image: colour stays, detail goes
};

// `input` is the resized model input; its patch grid is mask.rows() x mask.cols().
RgbImage fill_patches(const RgbImage& input, const PatchMask& mask, PixelFill fill);

}  // namespace msnlens
