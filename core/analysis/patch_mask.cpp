#include "analysis/patch_mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "common/error.h"

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

PatchMask PatchMask::parse(const std::string& spec, int rows, int cols) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  try {
    if (kind == "random" || kind == "focal") {
      const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
      const auto second = rest.find(':');
      const double ratio = std::stod(rest.substr(0, second));
      const std::uint64_t seed = second == std::string::npos ? 0 : std::stoull(rest.substr(second + 1));
      if (!(ratio >= 0.0 && ratio <= 1.0)) fail("--mask", "ratio " + rest.substr(0, second) + " is not in 0..1");
      return kind == "random" ? random(rows, cols, ratio, seed) : focal(rows, cols, ratio, seed);
    }
    PatchMask mask(rows, cols);
    std::stringstream list(spec);
    for (std::string item; std::getline(list, item, ',');) {
      const int p = std::stoi(item);
      if (p < 0 || p >= mask.size()) fail("--mask", "patch " + item + " is outside 0.." + std::to_string(mask.size() - 1));
      mask.set(p, true);
    }
    return mask;
  } catch (const std::logic_error&) {  // stod / stoi
    fail("--mask", "\"" + spec + "\" is not a patch list, random:RATIO[:SEED] or focal:RATIO[:SEED]");
  }
}

}  // namespace msnlens
