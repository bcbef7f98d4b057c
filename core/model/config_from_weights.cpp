#include "model/config_from_weights.h"

#include <cmath>

#include "common/error.h"

namespace msnlens {

ViTMSNConfig config_from_weights(const TensorMap& weights, const std::string& where,
                                 std::int64_t heads_override) {
  auto get = [&](const std::string& name, std::int64_t dims) -> const at::Tensor& {
    const auto it = weights.find(name);
    if (it == weights.end()) fail(where, "cannot derive the model config: missing tensor \"" + name + "\"");
    if (it->second.dim() != dims) fail(where, "tensor \"" + name + "\" has " + std::to_string(it->second.dim()) +
                                                  " dimensions, expected " + std::to_string(dims));
    return it->second;
  };
  ViTMSNConfig c;
  const at::Tensor& patch = get("embeddings.patch_embeddings.projection.weight", 4);
  const at::Tensor& pos = get("embeddings.position_embeddings", 3);
  c.hidden_size = patch.size(0);
  c.num_channels = patch.size(1);
  c.patch_size = patch.size(2);
  const std::int64_t positions = pos.size(1) - 1;
  const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(positions))));
  if (positions <= 0 || side * side != positions)
    fail(where, "position embeddings hold " + std::to_string(positions) + " patches, not a square grid");
  c.image_size = side * c.patch_size;
  c.num_hidden_layers = 0;
  while (weights.count("encoder.layer." + std::to_string(c.num_hidden_layers) + ".layernorm_before.weight"))
    ++c.num_hidden_layers;
  c.intermediate_size = get("encoder.layer.0.intermediate.dense.weight", 2).size(0);
  c.qkv_bias = weights.count("encoder.layer.0.attention.attention.query.bias") != 0;
  c.layer_norm_eps = 1e-6;  // timm/DeiT LayerNorm as used by MSN
  if (heads_override > 0) {
    c.num_attention_heads = heads_override;
  } else {
    if (c.hidden_size % kDefaultHeadDim != 0)
      fail(where, "cannot infer the number of attention heads for hidden size " + std::to_string(c.hidden_size) +
                      " (not a multiple of 64); give it with --config (num_attention_heads)");
    c.num_attention_heads = c.hidden_size / kDefaultHeadDim;
  }
  c.architectures = {"ViTMSNModel"};
  return c;
}

}  // namespace msnlens
