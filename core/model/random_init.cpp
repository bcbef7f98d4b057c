#include "model/random_init.h"

namespace msnlens {

TensorMap random_weights(const ViTMSNConfig& c, std::uint64_t seed, std::int64_t classifier_labels) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double std = c.initializer_range;
  auto normal = [&](at::IntArrayRef shape) { return at::normal(0.0, std, shape, gen); };
  const std::int64_t d = c.hidden_size, inner = c.intermediate_size, p = c.patch_size;
  TensorMap w;
  w["embeddings.cls_token"] = normal({1, 1, d});
  w["embeddings.position_embeddings"] = normal({1, c.num_patches() + 1, d});
  w["embeddings.patch_embeddings.projection.weight"] = normal({d, c.num_channels, p, p});
  w["embeddings.patch_embeddings.projection.bias"] = at::zeros({d});
  auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in) {
    w[name + ".weight"] = normal({out, in});
    w[name + ".bias"] = at::zeros({out});
  };
  auto norm = [&](const std::string& name) {
    w[name + ".weight"] = at::ones({d});
    w[name + ".bias"] = at::zeros({d});
  };
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    for (const char* qkv : {"query", "key", "value"}) linear(l + "attention.attention." + qkv, d, d);
    linear(l + "attention.output.dense", d, d);
    linear(l + "intermediate.dense", inner, d);
    linear(l + "output.dense", d, inner);
    norm(l + "layernorm_before");
    norm(l + "layernorm_after");
  }
  norm("layernorm");
  if (classifier_labels > 0) linear("classifier", classifier_labels, d);
  return w;
}

ViTMSNConfig vit_small_16() {
  ViTMSNConfig c;
  c.hidden_size = 384;
  c.num_attention_heads = 6;
  c.intermediate_size = 1536;
  return c;
}

ViTMSNConfig vit_base_16() { return ViTMSNConfig(); }  // ViTMSNConfig's defaults are ViT-B/16

}  // namespace msnlens
