#pragma once
// The tensors `infer --inputs` and `explain --inputs` read: the fixtures' convention, a
// safetensors file with inputs.pixel_values and, when present, inputs.head_mask,
// inputs.bool_masked_pos and inputs.keep_patches.

#include <ATen/ATen.h>

#include <string>

namespace msnlens {

struct InputTensors {
  at::Tensor pixel_values;  // float32
  at::Tensor head_mask, bool_masked_pos, keep_patches;  // undefined when absent
};

// Error naming the file when it cannot be read or has no inputs.pixel_values.
InputTensors read_input_tensors(const std::string& path);

}  // namespace msnlens
