#include "model/random_init.h"

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "common/json_file.h"
#include "imaging/preprocessor.h"

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

const std::vector<ReleasedShape>& released_shapes() {
  static const std::vector<ReleasedShape> shapes = [] {
    auto shape = [](std::string name, std::string title, std::int64_t hidden, std::int64_t layers, std::int64_t patch) {
      ViTMSNConfig c;  // defaults: ViT-B/16 at 224 px
      c.hidden_size = hidden;
      c.num_hidden_layers = layers;
      c.num_attention_heads = hidden / 64;
      c.intermediate_size = 4 * hidden;
      c.patch_size = patch;
      for (std::int64_t i = 0; i < 1000; ++i) c.id2label[i] = "class " + std::to_string(i);
      return ReleasedShape{std::move(name), std::move(title), c};
    };
    return std::vector<ReleasedShape>{shape("small", "ViT-S/16", 384, 12, 16), shape("base", "ViT-B/16", 768, 12, 16),
                                      shape("large", "ViT-L/16", 1024, 24, 16), shape("base-4", "ViT-B/4", 768, 12, 4),
                                      shape("large-7", "ViT-L/7", 1024, 24, 7)};
  }();
  return shapes;
}

const ReleasedShape& released_shape(const std::string& name) {
  const std::string wanted = name == "vit-s" ? "small" : name == "vit-b" ? "base" : name;
  std::string names;
  for (const ReleasedShape& s : released_shapes()) {
    if (s.name == wanted) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  fail(name, "is not a released ViT-MSN shape (use " + names + ")");
}

void write_random_checkpoint(const ReleasedShape& shape, const std::filesystem::path& dir, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  const TensorMap weights = random_weights(shape.config, seed);
  write_safetensors(dir / "model.safetensors", {weights.begin(), weights.end()}, {{"format", "pt"}});
  nlohmann::json config = shape.config.to_json();
  config["architectures"] = {"ViTMSNModel"};
  config["model_type"] = "vit_msn";
  write_json_file(dir / "config.json", config);
  write_json_file(dir / "preprocessor_config.json", PreprocessorConfig::imagenet(static_cast<int>(shape.config.image_size)).to_json());
}

}  // namespace msnlens
