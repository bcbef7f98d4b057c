#pragma once
// Hands named tensors to the modules that need them, checking each shape, and reports what
// is missing, mis-shaped or left over by name.

#include <set>
#include <string>
#include <vector>

#include "checkpoint/tensor_map.h"

namespace msnlens {

class WeightBinder {
 public:
  WeightBinder(const TensorMap& weights, std::string where) : weights_(weights), where_(std::move(where)) {}

  // A float32 copy of tensor `name` with exactly `shape`; throws Error naming it otherwise.
  at::Tensor take(const std::string& name, const std::vector<std::int64_t>& shape);
  // Same, but an absent tensor yields an undefined one.
  at::Tensor take_optional(const std::string& name, const std::vector<std::int64_t>& shape);
  // Any shape; for tensors whose size defines the module (classifier, projection head).
  at::Tensor take_any(const std::string& name);
  bool has(const std::string& name) const { return weights_.count(name) != 0; }
  // Marks a tensor as known but unused (BatchNorm's num_batches_tracked).
  void ignore(const std::string& name) { used_.insert(name); }

  // Throws Error listing every tensor no module took.
  void finish() const;

 private:
  const TensorMap& weights_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace msnlens
