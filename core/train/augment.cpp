#include "train/augment.h"

#include <cmath>

namespace msnlens {
namespace {

double uniform(at::Generator& gen, double lo, double hi) {
  return lo + (hi - lo) * at::rand({1}, gen, at::kDouble).item<double>();
}

// torchvision's RandomResizedCrop box: area fraction and aspect ratio drawn, ten tries, then
// the whole image.
std::array<std::int64_t, 4> crop_box(std::int64_t h, std::int64_t w, const ViewSpec& s, at::Generator& gen) {
  const double area = static_cast<double>(h * w);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(gen, s.scale_min, s.scale_max);
    const double ratio = std::exp(uniform(gen, std::log(3.0 / 4.0), std::log(4.0 / 3.0)));
    const auto cw = static_cast<std::int64_t>(std::lround(std::sqrt(target * ratio)));
    const auto ch = static_cast<std::int64_t>(std::lround(std::sqrt(target / ratio)));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      const auto top = static_cast<std::int64_t>(uniform(gen, 0, static_cast<double>(h - ch + 1)));
      const auto left = static_cast<std::int64_t>(uniform(gen, 0, static_cast<double>(w - cw + 1)));
      return {std::min(top, h - ch), std::min(left, w - cw), ch, cw};
    }
  }
  return {0, 0, h, w};
}

}  // namespace

at::Tensor make_views(const std::vector<at::Tensor>& images, const ViewSpec& spec, const std::array<double, 3>& mean,
                      const std::array<double, 3>& std, std::vector<at::Generator>& gens) {
  std::vector<at::Tensor> views;
  views.reserve(images.size());
  const std::int64_t c = images.empty() ? 3 : images.front().size(0);
  for (std::size_t i = 0; i < images.size(); ++i) {
    at::Generator& gen = gens[i];
    const std::int64_t h = images[i].size(1), w = images[i].size(2);
    const auto [top, left, ch, cw] = crop_box(h, w, spec, gen);
    at::Tensor v = images[i].slice(1, top, top + ch).slice(2, left, left + cw).unsqueeze(0);
    v = at::upsample_bilinear2d(v, {spec.size, spec.size}, /*align_corners=*/false);
    if (spec.flip && uniform(gen, 0, 1) < 0.5) v = v.flip({3});
    if (spec.jitter > 0) {
      const double brightness = uniform(gen, 1 - spec.jitter, 1 + spec.jitter);
      const double contrast = uniform(gen, 1 - spec.jitter, 1 + spec.jitter);
      v = v * brightness;
      v = (v - v.mean()) * contrast + v.mean();
      if (c == 3) {
        const double saturation = uniform(gen, 1 - spec.jitter, 1 + spec.jitter);
        const at::Tensor gray = v.mean(1, true);
        v = (v - gray) * saturation + gray;
      }
      v = v.clamp(0, 1);
    }
    views.push_back(v);
  }
  at::Tensor out = at::cat(views, 0);
  const at::Tensor m = at::tensor(std::vector<double>(mean.begin(), mean.begin() + c), at::kFloat).view({1, c, 1, 1});
  const at::Tensor s = at::tensor(std::vector<double>(std.begin(), std.begin() + c), at::kFloat).view({1, c, 1, 1});
  return (out - m) / s;
}

}  // namespace msnlens
