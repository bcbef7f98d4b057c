#pragma once
// Tensor steps the analyzer's maps share (engine/analyzer.cpp, engine/explanations.cpp), with
// their bodies in map_ops.cpp.

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "analysis/attention_maps.h"

namespace msnlens {

class ForwardState;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Attention scores per query block while recomputing a whole layer (16 MB of float32).
constexpr std::int64_t kBlockScores = std::int64_t{1} << 22;

// A tensor's values as float32 on the host, row-major.
std::vector<float> host_vector(const at::Tensor& t);

// Heads (dimension 0) combined into one map (`head` with HeadFusion::Single).
at::Tensor fuse(const at::Tensor& per_head, HeadFusion fusion, int head);

// vit-explain's discard: the lowest floor(ratio * n) entries of the fused [T, T] map (values
// >= 0) set to zero, except entry 0 (CLS -> CLS). Ties at the threshold go in index order.
// On the CPU a radix select; elsewhere discard_lowest_by_sort.
void discard_lowest(at::Tensor& fused, float ratio);
// The same selection as one stable sort on the tensor's device, with no host synchronisation
// (kthvalue, which it replaces, took 17 ms a layer on an H200). Identical results on the CPU.
void discard_lowest_by_sort(at::Tensor& fused, float ratio);

// Row `query` of M_{L-1} ⋯ M_0 ([T] on the state's device), M_l = layer_matrix(l) [T, T], from
// the last layer down as row-vector products: no T x T product is ever formed.
at::Tensor chain_row(const ForwardState& state, std::size_t layers, std::int64_t query,
                     const std::function<at::Tensor(std::size_t)>& layer_matrix);

// Rollout's layer matrix from a fused [T, T] map, in place: discard, + I, rows normalised.
at::Tensor normalized_with_identity(at::Tensor& fused, float discard_ratio);

}  // namespace msnlens
