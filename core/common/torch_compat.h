#pragma once
// Every difference between the LibTorch versions MSN Lens builds against (Debian's 1.13 and
// official 2.x releases) lives here.

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

namespace msnlens {

// softmax(q k^T) v for [B, H, T, d] inputs whose q already carries the 1/sqrt(d) factor, when
// the probabilities are not wanted. LibTorch 2 added fused scaled-dot-product attention
// (flash / memory-efficient kernels on CUDA, a flash kernel on the CPU) that never
// materialises the T x T probabilities; 2.1 let callers set its scale.
inline at::Tensor fused_attention_prescaled(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, /*scale=*/1.0);
#elif TORCH_VERSION_MAJOR == 2
  return at::scaled_dot_product_attention(q * std::sqrt(static_cast<double>(q.size(-1))), k, v);
#else
  const at::Tensor probs = at::softmax(at::matmul(q, k.transpose(-2, -1)), -1, at::kFloat);
  return at::matmul(probs.to(v.scalar_type()), v);
#endif
}

}  // namespace msnlens
