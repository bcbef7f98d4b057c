#include "engine/forward_io.h"

#include <c10/core/InferenceMode.h>

#include "checkpoint/safetensors.h"
#include "engine/map_ops.h"
#include "imaging/patch_fill.h"

namespace msnlens {

std::vector<Readout> readout_rows(const HeadOutputs& heads, const at::Tensor& cls) {
  const std::int64_t n = cls.size(0);
  auto rows = [n](const at::Tensor& t) {
    std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
    if (!t.defined()) return out;
    const std::vector<float> all = host_vector(t);
    const auto width = static_cast<std::size_t>(t.size(1));
    for (std::size_t i = 0; i < out.size(); ++i) out[i].assign(all.begin() + static_cast<std::ptrdiff_t>(i * width),
                                                               all.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
    return out;
  };
  const auto c = rows(cls);
  const auto p = rows(heads.logits.defined() ? at::softmax(heads.logits.to(at::kDouble), -1) : at::Tensor());
  const auto q = rows(heads.prototype_probs);
  std::vector<Readout> out(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = {c[i], p[i], q[i]};
  return out;
}

std::vector<Readout> readouts(const ModelOutput& out) {
  c10::InferenceMode guard;
  return readout_rows({out.logits, out.projection, out.prototype_probs, {}}, out.cls_embedding());
}

void write_forward_tensors(const InferenceSession& session, const at::Tensor& pixel_values, const ForwardOptions& options,
                           const std::filesystem::path& path) {
  c10::InferenceMode guard;
  ForwardOptions o = options;
  o.output_attentions = false;
  o.output_hidden_states = true;
  const ModelOutput out = session.forward(pixel_values, o);
  const ViTMSNModel& model = session.model();
  const ForwardOptions prepared = model.prepare(pixel_values, options);  // head_mask as [layers, heads]
  const std::int64_t b = out.last_hidden_state.size(0), t = out.last_hidden_state.size(1);
  const std::int64_t heads = model.config().num_attention_heads;
  std::vector<std::pair<std::string, at::Tensor>> head_tensors;
  for (const auto& [name, tensor] : {std::pair{"logits", out.logits}, std::pair{"projection", out.projection},
                                     std::pair{"prototype_probs", out.prototype_probs}})
    if (tensor.defined()) head_tensors.emplace_back(name, tensor);
  std::vector<SafetensorsWriter::Entry> entries = {{"pixel_values", at::kFloat, pixel_values.sizes().vec()},
                                                   {"last_hidden_state", at::kFloat, out.last_hidden_state.sizes().vec()}};
  for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
    entries.push_back({"hidden_states." + std::to_string(i), at::kFloat, out.hidden_states[i].sizes().vec()});
  for (std::size_t i = 0; i < model.num_layers(); ++i) entries.push_back({"attentions." + std::to_string(i), at::kFloat, {b, heads, t, t}});
  for (const auto& [name, tensor] : head_tensors) entries.push_back({name, at::kFloat, tensor.sizes().vec()});
  SafetensorsWriter writer(path, entries, {{"producer", "msnlens"}});
  writer.write(pixel_values.to(at::kFloat));
  writer.write(out.last_hidden_state);
  for (const at::Tensor& h : out.hidden_states) writer.write(h);
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    at::Tensor probs = model.layer_attention(l, out.hidden_states[l]).probs(0, t);
    if (prepared.head_mask.defined()) probs = probs * prepared.head_mask[static_cast<std::int64_t>(l)].view({1, -1, 1, 1});
    writer.write(probs);
  }
  for (const auto& [name, tensor] : head_tensors) writer.write(tensor);
  writer.finish();
}

PreparedImage prepare_image(const RgbImage& image, const PreprocessorConfig& config) {
  PreparedImage p;
  p.resized = resize_for_model(image, config);
  p.pixels = to_pixel_values(p.resized, config);
  return p;
}

}  // namespace msnlens
