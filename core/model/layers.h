#pragma once
// The small modules a ViT is made of, as plain structs of tensors (the inference model, which
// pretraining trains too).
// Weights of GEMMs live in the compute dtype; norms keep float32 parameters and outputs.

#include <ATen/ATen.h>

#include <string>

#include "common/torch_compat.h"

namespace msnlens {

struct Linear {
  at::Tensor weight;  // [out, in], compute dtype
  at::Tensor bias;    // [out] or undefined

  // Accepts float32 input, multiplies in the weight's dtype, returns that dtype. Under autocast
  // (pretraining) autocast picks the GEMM dtype, so the input is left as it comes.
  at::Tensor operator()(const at::Tensor& x) const {
    return at::linear(autocast_active() ? x : x.to(weight.scalar_type()), weight, bias);
  }
  std::int64_t out_features() const { return weight.size(0); }
  void to(at::Device device, at::ScalarType dtype);
};

struct LayerNorm {
  at::Tensor weight, bias;  // float32
  double eps = 1e-6;

  at::Tensor operator()(const at::Tensor& x) const {
    return at::layer_norm(x.to(at::kFloat), {weight.size(0)}, weight, bias, eps);
  }
  void to(at::Device device);
};

// Eval-mode BatchNorm1d (running statistics), as in MSN's projection head.
struct BatchNorm1d {
  at::Tensor weight, bias, running_mean, running_var;  // float32
  double eps = 1e-5;

  at::Tensor operator()(const at::Tensor& x) const {
    return at::batch_norm(x.to(at::kFloat), weight, bias, running_mean, running_var,
                          /*training=*/false, /*momentum=*/0.1, eps, /*cudnn_enabled=*/true);
  }
  void to(at::Device device);
};

// Rows scaled to unit L2 norm, as F.normalize(x, dim=-1) (norms clamped at 1e-12).
inline at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

// transformers' ACT2FN entries by name (see known_activations()).
class Activation {
 public:
  explicit Activation(std::string name = "gelu");
  at::Tensor operator()(const at::Tensor& x) const;
  const std::string& name() const { return name_; }

 private:
  enum class Kind { Gelu, GeluNew, GeluTanh, QuickGelu, Relu, Selu, Silu } kind_;
  std::string name_;
};

}  // namespace msnlens
