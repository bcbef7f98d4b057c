// Image decoding and ViTImageProcessor preprocessing against Pillow's output for the bundled
// photos (RGB, grayscale, RGBA, palette), plus the resize filters' basic properties.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "checkpoint/safetensors.h"
#include "imaging/image_file.h"
#include "imaging/preprocessor.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;

namespace {

class MatchesPillow : public ::testing::TestWithParam<std::string> {};

TEST_P(MatchesPillow, Photo) {
  const std::string image = GetParam();
  const TensorMap expected = read_safetensors(data_path("cases/preprocess-224.safetensors")).tensors;
  const PreprocessorConfig config = PreprocessorConfig::imagenet(224);
  const at::Tensor got = preprocess(read_image(data_path("images/" + image)), config);
  const at::Tensor want = expected.at("pixel_values." + image);
  ASSERT_EQ(got.sizes().vec(), want.sizes().vec());
  // Back to uint8 levels: the processor's only rounding happens there.
  const at::Tensor std = at::tensor({0.229, 0.224, 0.225}, at::kDouble).view({1, 3, 1, 1});
  const at::Tensor levels = ((got.to(at::kDouble) - want.to(at::kDouble)) * std * 255.0).abs();
  const double max_level = levels.max().item<double>();
  const double mean_level = levels.mean().item<double>();
  const double max_norm = (got - want).abs().max().item<double>();
  const double mean_norm = (got - want).abs().mean().item<double>();
  std::printf("%s: max %.4f, mean %.5f uint8 levels off Pillow\n", image.c_str(), max_level, mean_level);
  EXPECT_TRUE(max_norm <= 0.02 && mean_norm <= 0.002) << "max " << max_norm << ", mean " << mean_norm;
  // Pillow's fixed-point resampling is reproduced exactly: no pixel is off by a level.
  EXPECT_LT(max_level, 0.01);
}

INSTANTIATE_TEST_SUITE_P(Images, MatchesPillow,
                         ::testing::Values("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "green_palette.png",
                                           "horse.png"),
                         ParamName());

TEST(Resize, KeepsConstantImages) {
  RgbImage flat(37, 23);
  std::fill(flat.pixels.begin(), flat.pixels.end(), std::uint8_t{137});
  for (auto filter : {ResampleFilter::Bilinear, ResampleFilter::Bicubic, ResampleFilter::Lanczos,
                      ResampleFilter::Box, ResampleFilter::Hamming, ResampleFilter::Nearest}) {
    for (auto [w, h] : {std::pair{224, 224}, std::pair{5, 9}, std::pair{37, 100}}) {
      SCOPED_TRACE("filter " + std::to_string(static_cast<int>(filter)) + ", " + std::to_string(w) + "x" + std::to_string(h));
      const RgbImage r = pil_resize(flat, w, h, filter);
      EXPECT_EQ(r.width, w);
      EXPECT_EQ(r.height, h);
      EXPECT_TRUE(std::all_of(r.pixels.begin(), r.pixels.end(), [](std::uint8_t v) { return v == 137; }));
    }
  }
}

TEST(Resize, IdentityAndNearest) {
  RgbImage ramp(4, 1);
  for (int x = 0; x < 4; ++x) ramp.row(0)[x * 3] = ramp.row(0)[x * 3 + 1] = ramp.row(0)[x * 3 + 2] = static_cast<std::uint8_t>(x * 80);
  EXPECT_EQ(pil_resize(ramp, 4, 1, ResampleFilter::Bilinear).pixels, ramp.pixels);
  // Nearest samples pixel centres: 4 -> 2 keeps columns 1 and 3 (Pillow picks floor((x + 0.5) * 2)).
  const RgbImage half = pil_resize(ramp, 2, 1, ResampleFilter::Nearest);
  ASSERT_EQ(half.width, 2);
  EXPECT_EQ(int(half.row(0)[0]), 80);
  EXPECT_EQ(int(half.row(0)[3]), 240);
  // Bilinear 4 -> 2 averages pairs with the triangle filter widened to two pixels.
  const RgbImage avg = pil_resize(ramp, 2, 1, ResampleFilter::Bilinear);
  EXPECT_TRUE(avg.row(0)[0] > 0 && avg.row(0)[0] < 80 + 40) << int(avg.row(0)[0]);
}

}  // namespace
