#pragma once
// transformers' ViTImageProcessor: resize with Pillow's filter to a fixed size, rescale the
// uint8 values (x / 255), normalize per channel ((x - mean) / std), lay out as [1, 3, H, W].

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <array>
#include <string>

#include "imaging/pil_resize.h"
#include "imaging/rgb_image.h"

namespace msnlens {

struct PreprocessorConfig {
  bool do_resize = true;
  int height = 224;
  int width = 224;
  ResampleFilter resample = ResampleFilter::Bilinear;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean{0.5, 0.5, 0.5};  // ViTImageProcessor's defaults
  std::array<double, 3> image_std{0.5, 0.5, 0.5};

  // ImageNet statistics at `size`: what the hub's vit-msn processors and the MSN code use.
  static PreprocessorConfig imagenet(int size);

  // Reads preprocessor_config.json fields ("size" as an int or {height, width}); errors name
  // the field. Fields absent keep their current value.
  void update(const nlohmann::json& json, const std::string& where);
  nlohmann::json to_json() const;
};

// [1, 3, height, width] float32: to_pixel_values(resize_for_model(image)).
at::Tensor preprocess(const RgbImage& image, const PreprocessorConfig& config);
// The resize step alone (the image unchanged when do_resize is off): what the model's patch
// grid lies on, so pixel-level edits (filling masked patches) happen here.
RgbImage resize_for_model(const RgbImage& image, const PreprocessorConfig& config);
// Rescale, normalize and lay out an already resized image.
at::Tensor to_pixel_values(const RgbImage& resized, const PreprocessorConfig& config);

}  // namespace msnlens
