#pragma once
// The fields of transformers' ViTMSNConfig, with its defaults, read from config.json (or set
// with --config for original MSN files, which carry none).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace msnlens {

struct ViTMSNConfig {
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.0;
  double attention_probs_dropout_prob = 0.0;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-6;
  std::int64_t image_size = 224;
  std::int64_t patch_size = 16;
  std::int64_t num_channels = 3;
  bool qkv_bias = true;
  std::string model_type = "vit_msn";
  std::vector<std::string> architectures;
  std::string torch_dtype;
  std::map<std::int64_t, std::string> id2label;

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::int64_t grid_size() const { return image_size / patch_size; }
  std::int64_t num_patches() const { return grid_size() * grid_size(); }

  // Sets every field present in `json` (unknown fields are ignored, as transformers does);
  // a field of the wrong type is an error naming it. Does not validate.
  void update(const nlohmann::json& json, const std::string& where);
  // Positive sizes, heads dividing the hidden size, a known activation. Throws Error.
  void validate(const std::string& where) const;
  nlohmann::json to_json() const;

  // id2label[index], or "LABEL_<index>" as transformers names unlisted classes.
  std::string label(std::int64_t index) const;
};

// Activations transformers' ACT2FN offers for `hidden_act` that ViT-MSN can use.
const std::vector<std::string>& known_activations();

}  // namespace msnlens
