#pragma once
// Every difference between the LibTorch versions MSN Lens builds against (Debian's 1.13 and
// official 2.x releases) lives here.

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace msnlens {

// The 1/sqrt(d) of scaled dot-product attention for d-dimensional heads.
inline double attention_scale(std::int64_t head_dim) { return 1.0 / std::sqrt(static_cast<double>(head_dim)); }

// softmax(q k^T / sqrt(d)) v for [B, H, T, d] inputs, when the probabilities are not wanted.
// LibTorch 2 added fused scaled-dot-product attention (flash / memory-efficient kernels on
// CUDA, a flash kernel on the CPU) that never materialises the T x T probabilities.
inline at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#else
  // Query blocks of at most ~4M scores each: long sequences (ViT-B/4 has 3137 tokens, 118M
  // scores per layer) then never hold a layer's whole T x T x heads probabilities at once.
  constexpr std::int64_t kScoresPerBlock = std::int64_t{1} << 22;
  const std::int64_t t = q.size(-2), per_query = q.numel() / q.size(-1) / t * k.size(-2);
  const std::int64_t block = std::max<std::int64_t>(1, kScoresPerBlock / std::max<std::int64_t>(1, per_query));
  // k^T and v laid out once, not once per block (q, k, v are strided views of the fused QKV);
  // the scale goes on k^T, the smaller operand for a whole sequence.
  const at::Tensor kt = (k.transpose(-2, -1) * attention_scale(q.size(-1))).contiguous(), vc = v.contiguous();
  auto attend = [&](const at::Tensor& qb) {
    const at::Tensor scores = at::matmul(qb, kt);
    // bf16 scores: LibTorch's bf16 softmax computes in float32 and rounds once, 5x faster than
    // converting to and from a float32 softmax; the probabilities are rounded to bf16 for the
    // product with v either way.
    const at::Tensor probs = scores.scalar_type() == at::kBFloat16 ? at::softmax(scores, -1)
                                                                  : at::softmax(scores, -1, at::kFloat).to(v.scalar_type());
    return at::matmul(probs, vc);
  };
  if (block >= t) return attend(q);
  std::vector<at::Tensor> blocks;
  for (std::int64_t start = 0; start < t; start += block) blocks.push_back(attend(q.slice(-2, start, std::min(t, start + block))));
  return at::cat(blocks, -2);
#endif
}

// Whether an autocast region is active (pretraining's bf16 forwards), on the CPU or CUDA.
inline bool autocast_active() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU) || at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_cpu_enabled() || at::autocast::is_enabled();
#endif
}

// Turns bf16 autocast on or off for `device`'s type (LibTorch 2.4 replaced the per-backend calls).
inline void set_bf16_autocast(at::Device device, bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(device.type(), at::kBFloat16);
  at::autocast::set_autocast_enabled(device.type(), enabled);
#else
  if (device.is_cuda()) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
  if (!enabled) at::autocast::clear_cache();
}

// Interactive masking changes the sequence length with every edit. LibTorch 2.2+ may run
// attention through cuDNN, which builds an execution plan per new shape (tens of ms); the
// flash and memory-efficient kernels need none. Called once a session is on a GPU.
inline void avoid_per_shape_attention_plans() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  at::globalContext().setSDPUseCuDNN(false);
#endif
}

}  // namespace msnlens
