#pragma once
// Heat maps as colours: OpenCV's colormaps on values in [0, 1]; cells without a value (NaN,
// e.g. dropped patches) come out transparent.

#include <cstdint>
#include <string>
#include <vector>

namespace msnlens {

enum class Colormap { Viridis, Inferno, Magma, Plasma, Turbo, Jet, Hot, Bone };

// Display names in menu order.
const std::vector<std::pair<std::string, Colormap>>& colormaps();

// RGBA bytes, row-major, cols x rows; `values` has cols * rows entries in [0, 1].
std::vector<std::uint8_t> colorize(const std::vector<float>& values, int cols, int rows, Colormap map);

}  // namespace msnlens
