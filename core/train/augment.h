#pragma once
// MSN's views of an image batch: random resized crops (the large anchor / target views and the
// small focal views), horizontal flips and brightness / contrast (and for colour, saturation)
// jitter; then normalised. Works on float images in [0, 1].

#include <ATen/ATen.h>

#include <array>
#include <vector>

namespace msnlens {

struct ViewSpec {
  int size = 28;
  double scale_min = 0.3, scale_max = 1.0;  // fraction of the image area a crop covers
  bool flip = true;
  double jitter = 0.0;  // strength of colour jitter (0: none)
};

// One view per image ([C, H, W] each, sizes may differ), normalised with `mean` / `std`.
// Image i draws its randomness from gens[i] only, so its views do not depend on which other
// images share the batch (or the process).
at::Tensor make_views(const std::vector<at::Tensor>& images, const ViewSpec& spec, const std::array<double, 3>& mean,
                      const std::array<double, 3>& std, std::vector<at::Generator>& gens);

}  // namespace msnlens
