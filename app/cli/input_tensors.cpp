#include "input_tensors.h"

#include "checkpoint/safetensors.h"
#include "common/error.h"

namespace msnlens {

InputTensors read_input_tensors(const std::string& path) {
  SafetensorsContent c = read_safetensors(path);
  auto take = [&](const char* name) {
    const auto it = c.tensors.find(name);
    return it == c.tensors.end() ? at::Tensor() : it->second;
  };
  InputTensors in{take("inputs.pixel_values"), take("inputs.head_mask"), take("inputs.bool_masked_pos"), take("inputs.keep_patches")};
  if (!in.pixel_values.defined()) fail(path, "has no tensor \"inputs.pixel_values\"");
  in.pixel_values = in.pixel_values.to(at::kFloat);
  return in;
}

}  // namespace msnlens
