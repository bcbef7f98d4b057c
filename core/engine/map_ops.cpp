#include "engine/map_ops.h"

#include "engine/analyzer.h"

#include <algorithm>
#include <cstring>

namespace msnlens {

std::vector<float> host_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Max and min go head by head: LibTorch's reduction over the outer dimension is several times
// slower than elementwise passes.
at::Tensor fuse(const at::Tensor& per_head, HeadFusion fusion, int head) {
  const std::int64_t heads = per_head.size(0);
  switch (fusion) {
    case HeadFusion::Single: return per_head[std::clamp<std::int64_t>(head, 0, heads - 1)];
    case HeadFusion::Mean: return per_head.sum(0).div_(static_cast<double>(heads));
    case HeadFusion::Max:
    case HeadFusion::Min: {
      at::Tensor out = per_head[0].clone();
      for (std::int64_t h = 1; h < heads; ++h)
        fusion == HeadFusion::Max ? at::maximum_out(out, out, per_head[h]) : at::minimum_out(out, out, per_head[h]);
      return out;
    }
  }
  return per_head.mean(0);
}

namespace {

// The k-th smallest (1-based) of n non-negative floats, and how many are smaller: radix
// selection on the bit patterns (which order like non-negative values), two histogram passes
// instead of LibTorch's single-threaded quickselect (0.5 s on one ViT-B/4 map).
std::pair<float, std::size_t> kth_smallest_nonnegative(const float* v, std::size_t n, std::size_t k) {
  std::vector<std::size_t> hist(std::size_t{1} << 16);
  auto bits = [](float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
  };
  auto pick = [&](std::size_t& rank, std::size_t& below) {  // the bin holding the rank-th value
    std::size_t bin = 0;
    while (hist[bin] < rank) rank -= hist[bin], below += hist[bin], ++bin;
    return static_cast<std::uint32_t>(bin);
  };
  for (std::size_t i = 0; i < n; ++i) ++hist[bits(v[i]) >> 16];
  std::size_t rank = k, below = 0;
  const std::uint32_t high = pick(rank, below);
  std::fill(hist.begin(), hist.end(), 0);
  for (std::size_t i = 0; i < n; ++i)
    if (const std::uint32_t b = bits(v[i]); b >> 16 == high) ++hist[b & 0xFFFF];
  const std::uint32_t low = pick(rank, below);
  const std::uint32_t pattern = high << 16 | low;
  float value;
  std::memcpy(&value, &pattern, sizeof value);
  return {value, below};
}

}  // namespace

namespace {

std::int64_t discarded(std::int64_t n, float ratio) {
  return static_cast<std::int64_t>(static_cast<double>(n) * std::clamp(ratio, 0.0f, 1.0f));
}

}  // namespace

void discard_lowest(at::Tensor& fused, float ratio) {
  if (!fused.is_cpu()) return discard_lowest_by_sort(fused, ratio);
  at::Tensor flat = fused.view({-1});
  const std::int64_t drop = discarded(flat.numel(), ratio);
  if (drop <= 0) return;
  float* v = flat.data_ptr<float>();
  const auto n = static_cast<std::size_t>(flat.numel());
  const auto [threshold, below] = kth_smallest_nonnegative(v, n, static_cast<std::size_t>(drop));
  std::size_t tied = static_cast<std::size_t>(drop) - below;  // of the values equal to the threshold
  const float keep = v[0];
  for (std::size_t i = 0; i < n; ++i) {
    if (v[i] < threshold) v[i] = 0.0f;
    else if (v[i] == threshold && tied > 0) v[i] = 0.0f, --tied;
  }
  v[0] = keep;
}

void discard_lowest_by_sort(at::Tensor& fused, float ratio) {
  at::Tensor flat = fused.view({-1});
  const std::int64_t drop = discarded(flat.numel(), ratio);
  if (drop <= 0) return;
  // A stable ascending order lists the values below the threshold, then the tied ones by index:
  // its first `drop` entries are exactly what the radix select zeroes.
  const at::Tensor order = std::get<1>(flat.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  const at::Tensor first = flat.slice(0, 0, 1).clone();
  flat.index_fill_(0, order.slice(0, 0, drop), 0.0);
  flat.slice(0, 0, 1).copy_(first);
}

at::Tensor normalized_with_identity(at::Tensor& fused, float discard_ratio) {
  discard_lowest(fused, discard_ratio);
  fused.diagonal().add_(1.0);  // the residual path: (A + I), rows renormalised
  return fused.div_(fused.sum(-1, /*keepdim=*/true));
}

at::Tensor chain_row(const ForwardState& state, std::size_t layers, std::int64_t query,
                     const std::function<at::Tensor(std::size_t)>& layer_matrix) {
  // One row of M_{L-1} ⋯ M_0: v = e_q, then v ← v M_l from the last layer down.
  at::Tensor v = at::zeros({1, state.tokens()}, state.layer_input(0).options().dtype(at::kFloat));
  v[0][query] = 1.0;
  for (std::size_t l = layers; l-- > 0;) v = at::matmul(v, layer_matrix(l));
  return v[0];
}

}  // namespace msnlens
