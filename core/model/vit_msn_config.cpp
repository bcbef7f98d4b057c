#include "model/vit_msn_config.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"

namespace msnlens {

using nlohmann::json;

const std::vector<std::string>& known_activations() {
  static const std::vector<std::string> names = {"gelu", "gelu_new", "gelu_pytorch_tanh",
                                                 "quick_gelu", "relu", "selu", "silu"};
  return names;
}

void ViTMSNConfig::update(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "config is not a JSON object");
  read_field(j, "hidden_size", hidden_size, where);
  read_field(j, "num_hidden_layers", num_hidden_layers, where);
  read_field(j, "num_attention_heads", num_attention_heads, where);
  read_field(j, "intermediate_size", intermediate_size, where);
  read_field(j, "hidden_act", hidden_act, where);
  read_field(j, "hidden_dropout_prob", hidden_dropout_prob, where);
  read_field(j, "attention_probs_dropout_prob", attention_probs_dropout_prob, where);
  read_field(j, "initializer_range", initializer_range, where);
  read_field(j, "layer_norm_eps", layer_norm_eps, where);
  if (j.contains("image_size") && j["image_size"].is_array())
    fail(where + ": field \"image_size\"", "non-square image sizes are not supported; give one integer");
  read_field(j, "image_size", image_size, where);
  if (j.contains("patch_size") && j["patch_size"].is_array())
    fail(where + ": field \"patch_size\"", "non-square patches are not supported; give one integer");
  read_field(j, "patch_size", patch_size, where);
  read_field(j, "num_channels", num_channels, where);
  read_field(j, "qkv_bias", qkv_bias, where);
  read_field(j, "model_type", model_type, where);
  read_field(j, "torch_dtype", torch_dtype, where);
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    if (!j["architectures"].is_array()) fail(where + ": field \"architectures\"", "expected a list");
    architectures.clear();
    for (const auto& a : j["architectures"])
      if (a.is_string()) architectures.push_back(a.get<std::string>());
  }
  if (j.contains("id2label") && !j["id2label"].is_null()) {
    const json& labels = j["id2label"];
    if (!labels.is_object()) fail(where + ": field \"id2label\"", "expected an object");
    id2label.clear();
    for (const auto& [key, value] : labels.items()) {
      std::int64_t index = -1;
      std::istringstream s(key);
      if (!(s >> index) || !s.eof() || index < 0 || !value.is_string())
        fail(where + ": field \"id2label\"", "entry \"" + key + "\" is not index: name");
      id2label[index] = value.get<std::string>();
    }
  }
}

void ViTMSNConfig::validate(const std::string& where) const {
  auto positive = [&](std::int64_t v, const char* name) {
    if (v <= 0) fail(where, std::string(name) + " must be positive, got " + std::to_string(v));
  };
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(image_size, "image_size");
  positive(patch_size, "patch_size");
  positive(num_channels, "num_channels");
  if (hidden_size % num_attention_heads != 0)
    fail(where, "num_attention_heads (" + std::to_string(num_attention_heads) +
                    ") does not divide hidden_size (" + std::to_string(hidden_size) + ")");
  if (image_size % patch_size != 0)
    fail(where, "patch_size (" + std::to_string(patch_size) + ") does not divide image_size (" +
                    std::to_string(image_size) + ")");
  if (!(layer_norm_eps > 0)) fail(where, "layer_norm_eps must be positive");
  const auto& acts = known_activations();
  if (std::find(acts.begin(), acts.end(), hidden_act) == acts.end()) {
    std::string list;
    for (const auto& a : acts) list += (list.empty() ? "" : ", ") + a;
    fail(where, "unknown hidden_act \"" + hidden_act + "\" (known: " + list + ")");
  }
}

json ViTMSNConfig::to_json() const {
  json j = {{"hidden_size", hidden_size},
            {"num_hidden_layers", num_hidden_layers},
            {"num_attention_heads", num_attention_heads},
            {"intermediate_size", intermediate_size},
            {"hidden_act", hidden_act},
            {"hidden_dropout_prob", hidden_dropout_prob},
            {"attention_probs_dropout_prob", attention_probs_dropout_prob},
            {"initializer_range", initializer_range},
            {"layer_norm_eps", layer_norm_eps},
            {"image_size", image_size},
            {"patch_size", patch_size},
            {"num_channels", num_channels},
            {"qkv_bias", qkv_bias},
            {"model_type", model_type}};
  if (!architectures.empty()) j["architectures"] = architectures;
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (!id2label.empty()) {
    json labels = json::object();
    for (const auto& [i, name] : id2label) labels[std::to_string(i)] = name;
    j["id2label"] = labels;
  }
  return j;
}

std::string ViTMSNConfig::label(std::int64_t index) const {
  const auto it = id2label.find(index);
  return it != id2label.end() ? it->second : "LABEL_" + std::to_string(index);
}

}  // namespace msnlens
