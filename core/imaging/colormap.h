#pragma once
// Heat maps as colours: OpenCV's colormaps on values in [0, 1]; cells without a value (NaN,
// e.g. dropped patches) come out transparent.

#include <cstdint>
#include <string>
#include <vector>

#include "imaging/rgb_image.h"

namespace msnlens {

enum class Colormap { Viridis, Inferno, Magma, Plasma, Turbo, Jet, Hot, Bone };

// Display names in menu order.
const std::vector<std::pair<std::string, Colormap>>& colormaps();

// RGBA bytes, row-major, cols x rows; `values` has cols * rows entries in [0, 1].
std::vector<std::uint8_t> colorize(const std::vector<float>& values, int cols, int rows, Colormap map);

// RGBA bytes of a map with `channels` values per patch in [0, 1]: one channel through `map`,
// three taken as red, green and blue (principal components). NaN: transparent.
std::vector<std::uint8_t> colorize_channels(const std::vector<float>& values, int channels, int cols, int rows, Colormap map);

// `image` with RGBA patch colours (cols x rows, each stretched over its share of the image)
// blended on top at `opacity` times their alpha.
RgbImage blend_patches(const RgbImage& image, const std::vector<std::uint8_t>& rgba, int cols, int rows, double opacity);

}  // namespace msnlens
