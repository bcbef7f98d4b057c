#pragma once
// A per-patch map as the widgets draw it: values in [0, 1] through a colormap, NaN transparent.

#include <QImage>

#include <vector>

#include "msnlens.h"

namespace msnlens {

// cols x rows RGBA image of `values` (row-major, `channels` per patch: one through the
// colormap, three as red, green and blue).
QImage heatmap_image(const std::vector<float>& values, int cols, int rows, Colormap colormap, int channels = 1);

}  // namespace msnlens
