#include "analysis/faithfulness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace msnlens {

std::vector<int> rank_by_map(const std::vector<float>& map, const std::vector<int>& seen) {
  std::vector<int> order = seen;
  const auto value = [&](int p) { return map[static_cast<std::size_t>(p)]; };
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const bool na = std::isnan(value(a)), nb = std::isnan(value(b));
    if (na != nb) return nb;
    if (!na && value(a) != value(b)) return value(a) > value(b);
    return a < b;
  });
  return order;
}

std::vector<int> random_order(int n, std::uint64_t seed) {
  std::uint64_t state = seed;
  auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<int> order(static_cast<std::size_t>(std::max(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[next() % static_cast<std::uint64_t>(i + 1)]);
  return order;
}

FaithfulnessBand random_band(const Faithfulness& f) {
  FaithfulnessBand b;
  if (f.random.empty()) return b;
  b.deletion_low = b.deletion_high = f.random.front().deletion;
  b.insertion_low = b.insertion_high = f.random.front().insertion;
  for (const FaithfulnessCurve& r : f.random)
    for (std::size_t i = 0; i < r.deletion.size() && i < b.deletion_low.size(); ++i) {
      b.deletion_low[i] = std::min(b.deletion_low[i], r.deletion[i]);
      b.deletion_high[i] = std::max(b.deletion_high[i], r.deletion[i]);
      b.insertion_low[i] = std::min(b.insertion_low[i], r.insertion[i]);
      b.insertion_high[i] = std::max(b.insertion_high[i], r.insertion[i]);
    }
  return b;
}

std::string faithfulness_caption(const Faithfulness& f) {
  char text[160];
  std::snprintf(text, sizeof text, "deletion AUC %.3f (random %.3f) \u00b7 insertion AUC %.3f (random %.3f)", f.map.deletion_auc,
                f.random_deletion_auc, f.map.insertion_auc, f.random_insertion_auc);
  return text;
}

double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y) {
  double area = 0;
  for (std::size_t i = 1; i < x.size() && i < y.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

}  // namespace msnlens
