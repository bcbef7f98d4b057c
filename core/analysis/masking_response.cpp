#include "analysis/masking_response.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace msnlens {

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : 0.0;
}

double kl_divergence(const std::vector<float>& p, const std::vector<float>& q) {
  double kl = 0;
  for (std::size_t i = 0; i < std::min(p.size(), q.size()); ++i)
    if (p[i] > 0) kl += p[i] * (std::log(static_cast<double>(p[i])) - std::log(std::max(static_cast<double>(q[i]), 1e-12)));
  return kl;
}

std::vector<int> top_indices(const std::vector<float>& values, int k) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  const auto n = static_cast<std::ptrdiff_t>(std::min<std::size_t>(static_cast<std::size_t>(std::max(k, 0)), values.size()));
  std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int a, int b) {
    return values[static_cast<std::size_t>(a)] > values[static_cast<std::size_t>(b)] ||
           (values[static_cast<std::size_t>(a)] == values[static_cast<std::size_t>(b)] && a < b);
  });
  order.resize(static_cast<std::size_t>(n));
  return order;
}

std::vector<RankMove> rank_moves(const std::vector<float>& before, const std::vector<float>& after, int k) {
  const int n = static_cast<int>(std::min(before.size(), after.size()));
  const std::vector<int> rb = top_indices(before, n), ra = top_indices(after, n);
  std::vector<int> rank_b(static_cast<std::size_t>(n)), rank_a(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    rank_b[static_cast<std::size_t>(rb[static_cast<std::size_t>(r)])] = r;
    rank_a[static_cast<std::size_t>(ra[static_cast<std::size_t>(r)])] = r;
  }
  std::vector<int> shown;
  for (int r = 0; r < std::min(k, n); ++r) shown.push_back(rb[static_cast<std::size_t>(r)]);
  for (int r = 0; r < std::min(k, n); ++r)
    if (std::find(shown.begin(), shown.end(), ra[static_cast<std::size_t>(r)]) == shown.end()) shown.push_back(ra[static_cast<std::size_t>(r)]);
  std::vector<RankMove> out;
  for (const int i : shown) {
    const auto u = static_cast<std::size_t>(i);
    out.push_back({i, rank_b[u], rank_a[u], before[u], after[u]});
  }
  return out;
}

}  // namespace msnlens
