#include "analysis/linear_head.h"

#include <algorithm>
#include <cmath>

namespace msnlens {

std::vector<float> LinearHead::probabilities(const std::vector<float>& x) const {
  if (empty() || static_cast<int>(x.size()) != dim) return {};
  // Centred on its own mean and L2-normalised, as the head was fitted.
  double mean = 0;
  for (const float v : x) mean += v;
  mean /= static_cast<double>(dim);
  double norm = 0;
  for (const float v : x) norm += (v - mean) * (v - mean);
  norm = std::max(std::sqrt(norm), 1e-12);
  std::vector<double> logits(classes.size());
  for (std::size_t c = 0; c < classes.size(); ++c) {
    double dot = 0;
    for (int d = 0; d < dim; ++d)
      dot += static_cast<double>(weight[c * static_cast<std::size_t>(dim) + static_cast<std::size_t>(d)]) * (x[static_cast<std::size_t>(d)] - mean);
    logits[c] = dot / norm / temperature;
  }
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double& l : logits) sum += (l = std::exp(l - top));
  std::vector<float> p(classes.size());
  for (std::size_t c = 0; c < classes.size(); ++c) p[c] = static_cast<float>(logits[c] / sum);
  return p;
}

}  // namespace msnlens
