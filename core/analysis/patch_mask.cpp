#include "analysis/patch_mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace msnlens {
namespace {

int count_for(int total, double ratio) {
  return std::clamp(static_cast<int>(std::lround(std::clamp(ratio, 0.0, 1.0) * total)), 0, total);
}

}  // namespace

void PatchMask::clear() { std::fill(masked_.begin(), masked_.end(), std::uint8_t{0}); }

void PatchMask::invert() {
  for (auto& m : masked_) m = m ? 0 : 1;
}

int PatchMask::count() const { return static_cast<int>(std::count(masked_.begin(), masked_.end(), std::uint8_t{1})); }

std::vector<std::int64_t> PatchMask::kept() const {
  std::vector<std::int64_t> out;
  for (int p = 0; p < size(); ++p)
    if (!masked(p)) out.push_back(p);
  return out;
}

PatchMask PatchMask::random(int rows, int cols, double ratio, std::uint64_t seed) {
  PatchMask m(rows, cols);
  std::vector<int> order(static_cast<std::size_t>(m.size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  // Fisher-Yates written out: std::shuffle's sequence differs between standard libraries.
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  for (int i = 0; i < count_for(m.size(), ratio); ++i) m.set(order[static_cast<std::size_t>(i)], true);
  return m;
}

PatchMask PatchMask::focal(int rows, int cols, double ratio, std::uint64_t seed) {
  PatchMask m(rows, cols);
  const double keep = 1.0 - std::clamp(ratio, 0.0, 1.0);
  // A block with the grid's aspect ratio covering `keep` of it.
  const int h = std::clamp(static_cast<int>(std::lround(rows * std::sqrt(keep))), 0, rows);
  const int w = std::clamp(static_cast<int>(std::lround(cols * std::sqrt(keep))), 0, cols);
  std::mt19937_64 rng(seed);
  const int top = static_cast<int>(rng() % static_cast<std::uint64_t>(rows - h + 1));
  const int left = static_cast<int>(rng() % static_cast<std::uint64_t>(cols - w + 1));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m.set(r * cols + c, !(r >= top && r < top + h && c >= left && c < left + w));
  return m;
}

PatchMask PatchMask::by_score(int rows, int cols, const std::vector<float>& scores, double ratio, bool most_attended) {
  PatchMask m(rows, cols);
  std::vector<int> order(static_cast<std::size_t>(m.size()));
  std::iota(order.begin(), order.end(), 0);
  auto score = [&](int p) {
    const float s = static_cast<std::size_t>(p) < scores.size() ? scores[static_cast<std::size_t>(p)] : 0.0f;
    return std::isfinite(s) ? s : 0.0f;
  };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return most_attended ? score(a) > score(b) : score(a) < score(b);
  });
  for (int i = 0; i < count_for(m.size(), ratio); ++i) m.set(order[static_cast<std::size_t>(i)], true);
  return m;
}

}  // namespace msnlens
