#pragma once
// How faithful a map is to the model, measured with MSN's own masking (token dropping, so no
// out-of-distribution grey fill): the deletion and insertion curves of Petsiuk et al. and
// Chefer et al., and the same curves for random orders as the baseline.
//
// Over the N patches the view saw, ranked by the map's value (descending, ties to the lower
// patch index; float32 values): with S steps, k_i = floor(i·N/S + 0.5) for i = 0..S;
//   deletion[i]  = p_t with the first k_i ranked patches dropped, the rest of the view kept
//   insertion[i] = p_t with only the first k_i kept (i = 0: the CLS token alone)
// p_t is the target's softmax probability (target_probabilities). AUC: the trapezoid rule over
// the fractions k_i / N. Random order r is random_order(N, seed + r).

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/views.h"

namespace msnlens {

struct FaithfulnessOptions {
  int steps = 10;          // S
  int random_orders = 8;   // R
  std::uint64_t seed = 0;  // of the first random order

  bool operator==(const FaithfulnessOptions& o) const { return steps == o.steps && random_orders == o.random_orders && seed == o.seed; }
};

struct FaithfulnessCurve {
  std::vector<double> deletion, insertion;  // S + 1 values of p_t
  double deletion_auc = 0, insertion_auc = 0;
};

struct Faithfulness {
  ExplainTarget target;
  std::vector<double> fractions;  // k_i / N
  FaithfulnessCurve map;          // in the map's order
  std::vector<FaithfulnessCurve> random;  // one per random order
  double random_deletion_auc = 0, random_insertion_auc = 0;  // their means
};

// The random orders' spread at each step, for drawing the baseline as a band.
struct FaithfulnessBand {
  std::vector<double> deletion_low, deletion_high, insertion_low, insertion_high;  // min and max over the orders
};
FaithfulnessBand random_band(const Faithfulness& f);
// "deletion AUC 0.214 (random 0.351) · insertion AUC 0.612 (random 0.402)": what captions and
// figures say of a map's curves.
std::string faithfulness_caption(const Faithfulness& f);

// The seen patches (`seen`, patch indices) in the order of `map` (a value per grid patch):
// descending value, ties to the lower patch index; patches whose value is NaN go last.
std::vector<int> rank_by_map(const std::vector<float>& map, const std::vector<int>& seen);
// A permutation of 0..n-1: Fisher–Yates from the last position down, j = next() mod (i + 1),
// next() being splitmix64 started at `seed` (so a float64 reference can draw the same orders).
std::vector<int> random_order(int n, std::uint64_t seed);
// The trapezoid rule.
double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace msnlens
