#include "checkpoint/key_layout.h"

#include <algorithm>

#include "common/error.h"

namespace msnlens {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool any_key_starts_with(const TensorMap& m, const std::string& prefix) {
  const auto it = m.lower_bound(prefix);
  return it != m.end() && starts_with(it->first, prefix);
}

// Tensors under `prefix`, with the prefix removed.
TensorMap strip(const TensorMap& m, const std::string& prefix) {
  TensorMap out;
  for (const auto& [k, v] : m)
    if (starts_with(k, prefix)) out[k.substr(prefix.size())] = v;
  return out;
}

// timm / DeiT names used by the original MSN encoder -> transformers ViTMSN names.
void add_original(TensorMap& out, const std::string& name, const at::Tensor& t, const std::string& where) {
  static const std::vector<std::pair<std::string, std::string>> fixed = {
      {"cls_token", "embeddings.cls_token"},
      {"pos_embed", "embeddings.position_embeddings"},
      {"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"},
      {"patch_embed.proj.bias", "embeddings.patch_embeddings.projection.bias"},
      {"norm.weight", "layernorm.weight"},
      {"norm.bias", "layernorm.bias"},
  };
  static const std::vector<std::pair<std::string, std::string>> in_block = {
      {"norm1.", "layernorm_before."},        {"norm2.", "layernorm_after."},
      {"attn.proj.", "attention.output.dense."}, {"mlp.fc1.", "intermediate.dense."},
      {"mlp.fc2.", "output.dense."},
  };
  for (const auto& [from, to] : fixed)
    if (name == from) return void(out[to] = t);
  if (starts_with(name, "fc.")) return void(out["projection_head." + name.substr(3)] = t);

  // "blocks.<digits>.<rest>"
  const std::size_t dot = name.find('.', 7);
  const bool digits = starts_with(name, "blocks.") && dot != std::string::npos && dot > 7 &&
                      std::all_of(name.begin() + 7, name.begin() + static_cast<std::ptrdiff_t>(dot), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && dot + 1 < name.size()) {
    const std::string layer = "encoder.layer." + name.substr(7, dot - 7) + ".";
    const std::string rest = name.substr(dot + 1);
    if (rest == "attn.qkv.weight" || rest == "attn.qkv.bias") {
      // Fused [3 * D, ...] rows are query, key, value in that order.
      if (t.size(0) % 3 != 0) fail(where, "tensor \"" + name + "\" cannot be split into query, key, value");
      const auto parts = t.chunk(3, 0);
      const std::string kind = rest.substr(9);  // "weight" | "bias"
      out[layer + "attention.attention.query." + kind] = parts[0];
      out[layer + "attention.attention.key." + kind] = parts[1];
      out[layer + "attention.attention.value." + kind] = parts[2];
      return;
    }
    for (const auto& [from, to] : in_block)
      if (starts_with(rest, from)) return void(out[layer + to + rest.substr(from.size())] = t);
  }
  out[name] = t;  // unknown: left for the model to report
}

bool is_original_encoder(const TensorMap& m) {
  return any_key_starts_with(m, "blocks.") || m.count("pos_embed") != 0;
}

}  // namespace

CanonicalWeights to_canonical_names(const TensorMap& raw, const std::string& where) {
  CanonicalWeights out;
  if (raw.empty()) fail(where, "holds no tensors");

  // Original MSN training checkpoints: pick the EMA target encoder, as the paper evaluates it.
  for (const std::string which : {"target_encoder", "encoder"}) {
    const TensorMap encoder = strip(raw, which + ".");
    if (encoder.empty()) continue;
    const TensorMap unwrapped = any_key_starts_with(encoder, "module.") ? strip(encoder, "module.") : encoder;
    if (!is_original_encoder(unwrapped)) continue;
    for (const auto& [k, v] : unwrapped) add_original(out.tensors, k, v, where);
    if (const auto p = raw.find("prototypes"); p != raw.end()) out.tensors["prototypes"] = p->second;
    out.layout = "original MSN (" + which + ")";
    return out;
  }

  TensorMap flat = raw;
  for (const std::string wrapper : {"state_dict.", "model."})
    if (flat.size() == strip(flat, wrapper).size()) flat = strip(flat, wrapper);
  if (flat.size() == strip(flat, "module.").size()) flat = strip(flat, "module.");

  if (is_original_encoder(flat)) {  // a bare encoder state dict from the MSN code
    for (const auto& [k, v] : flat) add_original(out.tensors, k, v, where);
    out.layout = "original MSN (encoder state dict)";
    return out;
  }
  const bool prefixed = any_key_starts_with(flat, "vit.");
  for (const auto& [k, v] : flat) out.tensors[prefixed && starts_with(k, "vit.") ? k.substr(4) : k] = v;
  out.layout = out.tensors.count("classifier.weight") ? "transformers ViTMSNForImageClassification"
                                                      : "transformers ViTMSNModel";
  return out;
}

}  // namespace msnlens
