#include "analysis/faithfulness.h"

#include <algorithm>
#include <cmath>
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

double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y) {
  double area = 0;
  for (std::size_t i = 1; i < x.size() && i < y.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

}  // namespace msnlens
