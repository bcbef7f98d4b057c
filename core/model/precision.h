#pragma once

#include <ATen/ATen.h>

#include <string>

namespace msnlens {

// The dtype matrix multiplications run in. LayerNorm, softmax and the residual stream stay in
// float32 whatever is chosen (as torch.autocast does), so reduced precision only rounds GEMMs.
enum class Precision { FP32, BF16, FP16 };

inline at::ScalarType compute_dtype(Precision p) {
  switch (p) {
    case Precision::BF16: return at::kBFloat16;
    case Precision::FP16: return at::kHalf;
    case Precision::FP32: break;
  }
  return at::kFloat;
}

inline const char* to_string(Precision p) {
  switch (p) {
    case Precision::BF16: return "bf16";
    case Precision::FP16: return "fp16";
    case Precision::FP32: break;
  }
  return "fp32";
}

// "fp32" | "bf16" | "fp16"; throws Error otherwise.
Precision parse_precision(const std::string& name);

}  // namespace msnlens
