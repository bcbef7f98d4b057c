#pragma once
// The encoder layers of a ViT on oneDNN primitives, for inference on the CPU. Same math as
// ViTMSNModel's LibTorch layers (which stay the reference, the autograd path and the CUDA path),
// arranged for the hardware:
//   - GEMM weights reordered once, at load, into the blocked layouts oneDNN's AVX-512 / AMX
//     kernels read (LibTorch 1.13 hands oneDNN plain weights, repacked on every call);
//   - bias + activation, and the residual add, applied inside the GEMMs as post-ops, so the
//     residual stream stays float32 without a separate add or conversion pass;
//   - attention as batched matmuls reading query, key and value straight out of the fused QKV
//     output (no head-layout copies), softmax in float32, probabilities kept only when asked.
// bf16: GEMM inputs and weights bf16, accumulation, LayerNorm statistics, softmax and the
// residual stream float32. fp32: float32 throughout, on oneDNN rather than the BLAS.

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "model/precision.h"

namespace msnlens {

// One pre-LN block's parameters as ViTMSNModel holds them: GEMM weights [out, in], any dtype.
struct EncoderLayerWeights {
  at::Tensor norm1_weight, norm1_bias;
  at::Tensor qkv_weight, qkv_bias;  // query, key and value fused; bias may be undefined
  at::Tensor proj_weight, proj_bias;
  at::Tensor norm2_weight, norm2_bias;
  at::Tensor fc1_weight, fc1_bias;
  at::Tensor fc2_weight, fc2_bias;
};

struct EncoderSpec {
  std::int64_t num_heads = 0;
  double layer_norm_eps = 1e-12;
  std::string activation = "gelu";  // transformers' hidden_act
  std::int64_t tokens = 197;        // the usual sequence length, to pick weight layouts for
};

class FusedCpuEncoder {
 public:
  // Copies and reorders the weights (the caller's tensors are not kept). Returns nullptr and
  // says why in *why when this build, CPU or configuration has no fused path.
  static std::unique_ptr<FusedCpuEncoder> create(const std::vector<EncoderLayerWeights>& layers,
                                                 const EncoderSpec& spec, Precision precision, std::string* why);
  virtual ~FusedCpuEncoder() = default;

  // Layers first..last-1 (last clamped to the layer count) on x, layer `first`'s input:
  // [B, T, D] float32 on the CPU. head_mask: [layers, heads] float32 or undefined; it
  // multiplies the attention probabilities, as in transformers. Returns the last layer's output
  // [B, T, D] float32; appends every layer's output to *hidden and its probabilities
  // [B, heads, T, T] float32 to *attentions where those are non-null.
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& head_mask, std::vector<at::Tensor>* hidden,
                             std::vector<at::Tensor>* attentions, std::size_t first, std::size_t last) const = 0;

  // The kernels that run the GEMMs, as oneDNN names them ("brg:avx512_core_bf16").
  virtual std::string kernels() const = 0;
  // Bytes of the reordered weight copies this encoder holds.
  virtual std::size_t weight_bytes() const = 0;
};

// How many times faster one ViT-S encoder layer (197 tokens) runs on these kernels in bf16 than
// in float32, measured once per process (~0.1 s, interleaved, best of five); 0 where this build
// or CPU has no fused bf16 kernels.
double bf16_layer_speedup();

}  // namespace msnlens
