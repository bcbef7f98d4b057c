#include "model/layers.h"

#include <cmath>

#include "common/error.h"
#include "model/precision.h"

namespace msnlens {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") return Precision::FP16;
  fail("precision", "unknown precision \"" + name + "\" (use fp32, bf16 or fp16)");
}

void Linear::to(at::Device device, at::ScalarType dtype) {
  weight = weight.to(device, dtype).contiguous();
  if (bias.defined()) bias = bias.to(device, dtype).contiguous();
}

void LayerNorm::to(at::Device device) {
  weight = weight.to(device, at::kFloat);
  bias = bias.to(device, at::kFloat);
}

void BatchNorm1d::to(at::Device device) {
  weight = weight.to(device, at::kFloat);
  bias = bias.to(device, at::kFloat);
  running_mean = running_mean.to(device, at::kFloat);
  running_var = running_var.to(device, at::kFloat);
}

Activation::Activation(std::string name) : name_(std::move(name)) {
  if (name_ == "gelu") kind_ = Kind::Gelu;
  else if (name_ == "gelu_new") kind_ = Kind::GeluNew;
  else if (name_ == "gelu_pytorch_tanh") kind_ = Kind::GeluTanh;
  else if (name_ == "quick_gelu") kind_ = Kind::QuickGelu;
  else if (name_ == "relu") kind_ = Kind::Relu;
  else if (name_ == "selu") kind_ = Kind::Selu;
  else if (name_ == "silu") kind_ = Kind::Silu;
  else fail("hidden_act", "unknown activation \"" + name_ + "\"");
}

at::Tensor Activation::operator()(const at::Tensor& x) const {
  switch (kind_) {
    case Kind::Gelu: return at::gelu(x);  // exact erf form, as nn.GELU()
    case Kind::GeluNew: {
      // transformers' NewGELUActivation: the tanh approximation written out.
      const double c = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + at::tanh(c * (x + 0.044715 * at::pow(x, 3.0))));
    }
    case Kind::GeluTanh: return at::gelu(x, "tanh");
    case Kind::QuickGelu: return x * at::sigmoid(1.702 * x);
    case Kind::Relu: return at::relu(x);
    case Kind::Selu: return at::selu(x);
    case Kind::Silu: return at::silu(x);
  }
  return x;
}

}  // namespace msnlens
