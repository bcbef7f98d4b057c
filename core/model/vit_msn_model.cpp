#include "model/vit_msn_model.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "common/torch_compat.h"
#include "model/weight_binder.h"

namespace msnlens {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

Linear bind_linear(WeightBinder& w, const std::string& name, std::int64_t out, std::int64_t in,
                   bool bias = true) {
  Linear l;
  l.weight = w.take(name + ".weight", {out, in});
  if (bias) l.bias = w.take(name + ".bias", {out});
  return l;
}

LayerNorm bind_layer_norm(WeightBinder& w, const std::string& name, std::int64_t dim, double eps) {
  return {w.take(name + ".weight", {dim}), w.take(name + ".bias", {dim}), eps};
}

std::optional<BatchNorm1d> bind_batch_norm(WeightBinder& w, const std::string& name, std::int64_t dim) {
  if (!w.has(name + ".weight")) return std::nullopt;
  w.ignore(name + ".num_batches_tracked");
  return BatchNorm1d{w.take(name + ".weight", {dim}), w.take(name + ".bias", {dim}),
                     w.take(name + ".running_mean", {dim}), w.take(name + ".running_var", {dim})};
}

// An index tensor given per batch row or once for all rows, as [batch, n] int64.
// A weight as checkpoints store it: float32 on the CPU, detached from any autograd graph.
void put_host_copy(TensorMap& w, const std::string& name, const at::Tensor& t) {
  w[name] = t.detach().to(at::kCPU, at::kFloat).clone();
}

at::Tensor per_row(const at::Tensor& t, std::int64_t batch, const char* name) {
  at::Tensor r = t.dim() == 1 ? t.unsqueeze(0) : t;
  if (r.dim() != 2 || (r.size(0) != batch && r.size(0) != 1))
    fail(name, "has shape " + shape_of(t) + "; expected [" + std::to_string(batch) + ", n] or [n]");
  return r.expand({batch, r.size(1)});
}

}  // namespace

ViTMSNModel::ViTMSNModel(const ViTMSNConfig& config, const TensorMap& weights, const std::string& where)
    : config_(config), activation_(config.hidden_act) {
  config_.validate(where);
  WeightBinder w(weights, where);
  const std::int64_t d = config_.hidden_size, p = config_.patch_size, inner = config_.intermediate_size;

  patch_weight_ = w.take("embeddings.patch_embeddings.projection.weight", {d, config_.num_channels, p, p});
  patch_bias_ = w.take("embeddings.patch_embeddings.projection.bias", {d});
  cls_token_ = w.take("embeddings.cls_token", {1, 1, d});
  mask_token_ = w.take_optional("embeddings.mask_token", {1, 1, d});
  position_embeddings_ = w.take("embeddings.position_embeddings", {1, config_.num_patches() + 1, d});

  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    EncoderLayer layer;
    layer.layernorm_before = bind_layer_norm(w, l + "layernorm_before", d, config_.layer_norm_eps);
    layer.layernorm_after = bind_layer_norm(w, l + "layernorm_after", d, config_.layer_norm_eps);
    const Linear q = bind_linear(w, l + "attention.attention.query", d, d, config_.qkv_bias);
    const Linear k = bind_linear(w, l + "attention.attention.key", d, d, config_.qkv_bias);
    const Linear v = bind_linear(w, l + "attention.attention.value", d, d, config_.qkv_bias);
    // One GEMM instead of three: the fused layout the original MSN code uses and trains.
    layer.attention.qkv.weight = at::cat({q.weight, k.weight, v.weight}, 0);
    if (config_.qkv_bias) layer.attention.qkv.bias = at::cat({q.bias, k.bias, v.bias}, 0);
    layer.attention.output = bind_linear(w, l + "attention.output.dense", d, d);
    layer.attention.num_heads = config_.num_attention_heads;
    layer.intermediate = bind_linear(w, l + "intermediate.dense", inner, d);
    layer.output = bind_linear(w, l + "output.dense", d, inner);
    layers_.push_back(std::move(layer));
  }
  layernorm_ = bind_layer_norm(w, "layernorm", d, config_.layer_norm_eps);

  if (w.has("classifier.weight")) {
    const at::Tensor weight = w.take_any("classifier.weight");
    if (weight.dim() != 2 || weight.size(1) != d)
      fail(where, "tensor \"classifier.weight\" has shape " + shape_of(weight) + ", expected [labels, " +
                      std::to_string(d) + "]");
    classifier_ = {weight, w.take("classifier.bias", {weight.size(0)})};
  }

  if (w.has("projection_head.fc1.weight")) {
    ProjectionHead head;
    const at::Tensor fc1 = w.take_any("projection_head.fc1.weight");
    const at::Tensor fc3 = w.take_any("projection_head.fc3.weight");
    if (fc1.dim() != 2 || fc1.size(1) != d || fc3.dim() != 2 || fc3.size(1) != fc1.size(0))
      fail(where, "projection head tensors have inconsistent shapes " + shape_of(fc1) + " and " + shape_of(fc3));
    const std::int64_t hidden = fc1.size(0), out = fc3.size(0);
    head.fc1 = {fc1, w.take("projection_head.fc1.bias", {hidden})};
    head.bn1 = bind_batch_norm(w, "projection_head.bn1", hidden);
    head.fc2 = bind_linear(w, "projection_head.fc2", hidden, hidden);
    head.bn2 = bind_batch_norm(w, "projection_head.bn2", hidden);
    head.fc3 = {fc3, w.take("projection_head.fc3.bias", {out})};
    head_ = std::move(head);
    if (w.has("prototypes")) {
      const at::Tensor protos = w.take_any("prototypes");
      if (protos.dim() != 2 || protos.size(1) != out)
        fail(where, "tensor \"prototypes\" has shape " + shape_of(protos) + ", expected [K, " +
                        std::to_string(out) + "] to match the projection head");
      prototypes_ = l2_normalize(protos);
    }
  }
  w.finish();

  for (const auto& [name, t] : weights)
    if (name.find("running_") == std::string::npos && name.find("num_batches") == std::string::npos)
      num_parameters_ += t.numel();
}

void ViTMSNModel::to(at::Device device, Precision precision) {
  const at::ScalarType dtype = compute_dtype(precision);
  fused_.reset();
  device_ = device;
  precision_ = precision;
  patch_weight_ = patch_weight_.to(device, dtype);
  patch_bias_ = patch_bias_.to(device, dtype);
  cls_token_ = cls_token_.to(device, at::kFloat);
  if (mask_token_.defined()) mask_token_ = mask_token_.to(device, at::kFloat);
  position_embeddings_ = position_embeddings_.to(device, at::kFloat);
  for (auto& layer : layers_) {
    layer.layernorm_before.to(device);
    layer.layernorm_after.to(device);
    layer.attention.qkv.to(device, dtype);
    layer.attention.output.to(device, dtype);
    layer.intermediate.to(device, dtype);
    layer.output.to(device, dtype);
  }
  layernorm_.to(device);
  // Heads on the CLS token are tiny: keep them float32 so logits and prototypes stay exact.
  if (has_classifier()) classifier_.to(device, at::kFloat);
  if (head_) {
    for (Linear* l : {&head_->fc1, &head_->fc2, &head_->fc3}) l->to(device, at::kFloat);
    for (auto* bn : {&head_->bn1, &head_->bn2})
      if (*bn) (*bn)->to(device);
  }
  if (prototypes_.defined()) prototypes_ = prototypes_.to(device, at::kFloat);
}

std::string ViTMSNModel::use_fused_cpu() {
  if (!device_.is_cpu()) return "the model is not on the CPU";
  std::vector<EncoderLayerWeights> weights;
  for (const EncoderLayer& l : layers_)
    weights.push_back({l.layernorm_before.weight, l.layernorm_before.bias, l.attention.qkv.weight, l.attention.qkv.bias,
                       l.attention.output.weight, l.attention.output.bias, l.layernorm_after.weight, l.layernorm_after.bias,
                       l.intermediate.weight, l.intermediate.bias, l.output.weight, l.output.bias});
  const EncoderSpec spec{config_.num_attention_heads, config_.layer_norm_eps, activation_.name(), config_.num_patches() + 1};
  std::string why;
  fused_ = FusedCpuEncoder::create(weights, spec, precision_, &why);
  return why;
}

std::vector<std::pair<std::string, at::Tensor>> ViTMSNModel::encoder_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> p = {
      {"embeddings.cls_token", cls_token_},
      {"embeddings.position_embeddings", position_embeddings_},
      {"embeddings.patch_embeddings.projection.weight", patch_weight_},
      {"embeddings.patch_embeddings.projection.bias", patch_bias_}};
  if (mask_token_.defined()) p.emplace_back("embeddings.mask_token", mask_token_);
  auto linear = [&](const std::string& name, const Linear& l) {
    p.emplace_back(name + ".weight", l.weight);
    if (l.bias.defined()) p.emplace_back(name + ".bias", l.bias);
  };
  auto norm = [&](const std::string& name, const LayerNorm& n) {
    p.emplace_back(name + ".weight", n.weight);
    p.emplace_back(name + ".bias", n.bias);
  };
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const EncoderLayer& layer = layers_[i];
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    norm(l + "layernorm_before", layer.layernorm_before);
    linear(l + "attention.attention.qkv", layer.attention.qkv);
    linear(l + "attention.output.dense", layer.attention.output);
    norm(l + "layernorm_after", layer.layernorm_after);
    linear(l + "intermediate.dense", layer.intermediate);
    linear(l + "output.dense", layer.output);
  }
  norm("layernorm", layernorm_);
  return p;
}

std::vector<std::pair<std::string, at::Tensor>> ViTMSNModel::encoder_checkpoint_views() const {
  std::vector<std::pair<std::string, at::Tensor>> views;
  const std::string fused = ".attention.attention.qkv.";
  for (const auto& [name, t] : encoder_parameters()) {
    const auto pos = name.find(fused);
    if (pos == std::string::npos) {
      views.emplace_back(name, t);
      continue;
    }
    const std::string prefix = name.substr(0, pos) + ".attention.attention.", kind = name.substr(pos + fused.size());
    const std::vector<at::Tensor> parts = t.chunk(3, 0);
    views.emplace_back(prefix + "query." + kind, parts[0]);
    views.emplace_back(prefix + "key." + kind, parts[1]);
    views.emplace_back(prefix + "value." + kind, parts[2]);
  }
  return views;
}

TensorMap ViTMSNModel::state_dict() const {
  TensorMap w;
  auto put = [&](const std::string& name, const at::Tensor& t) { put_host_copy(w, name, t); };
  for (const auto& [name, t] : encoder_checkpoint_views()) put(name, t);
  if (has_classifier()) {
    put("classifier.weight", classifier_.weight);
    put("classifier.bias", classifier_.bias);
  }
  if (head_) head_->export_to(w);
  if (has_prototypes()) put("prototypes", prototypes_);
  return w;
}

at::Tensor ViTMSNModel::position_embeddings_for(std::int64_t height, std::int64_t width, bool interpolate) const {
  const std::int64_t positions = position_embeddings_.size(1) - 1;
  const std::int64_t grid_h = height / config_.patch_size, grid_w = width / config_.patch_size;
  if (!interpolate || (grid_h * grid_w == positions && height == width)) return position_embeddings_;
  // transformers' interpolate_pos_encoding: bicubic resize of the square grid to the new one.
  const std::int64_t side = config_.grid_size(), d = config_.hidden_size;
  const at::Tensor grid = position_embeddings_.slice(1, 1).reshape({1, side, side, d}).permute({0, 3, 1, 2});
  const at::Tensor resized = at::upsample_bicubic2d(grid, {grid_h, grid_w}, /*align_corners=*/false);
  return at::cat({position_embeddings_.slice(1, 0, 1), resized.permute({0, 2, 3, 1}).reshape({1, -1, d})}, 1);
}

ForwardOptions ViTMSNModel::prepare(const at::Tensor& pixel_values, const ForwardOptions& o) const {
  if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels)
    fail("pixel_values", "has shape " + shape_of(pixel_values) + "; expected [batch, " +
                             std::to_string(config_.num_channels) + ", height, width]");
  const std::int64_t batch = pixel_values.size(0), height = pixel_values.size(2), width = pixel_values.size(3);
  const std::int64_t p = config_.patch_size;
  if (!o.interpolate_pos_encoding && (height != config_.image_size || width != config_.image_size))
    fail("pixel_values", "input image size (" + std::to_string(height) + "x" + std::to_string(width) +
                             ") doesn't match the model (" + std::to_string(config_.image_size) + "x" +
                             std::to_string(config_.image_size) + "); enable interpolate_pos_encoding to run other sizes");
  if (height < p || width < p)
    fail("pixel_values", "image of " + std::to_string(height) + "x" + std::to_string(width) +
                             " is smaller than one " + std::to_string(p) + "-pixel patch");
  const std::int64_t patches = (height / p) * (width / p);

  ForwardOptions out = o;
  if (o.head_mask.defined()) {
    const std::int64_t layers = config_.num_hidden_layers, heads = config_.num_attention_heads;
    const bool per_head = o.head_mask.dim() == 1 && o.head_mask.size(0) == heads;
    const bool per_layer = o.head_mask.dim() == 2 && o.head_mask.size(0) == layers && o.head_mask.size(1) == heads;
    if (!per_head && !per_layer)
      fail("head_mask", "has shape " + shape_of(o.head_mask) + "; expected [" + std::to_string(heads) + "] or [" +
                            std::to_string(layers) + ", " + std::to_string(heads) + "]");
    out.head_mask = o.head_mask.to(device_, at::kFloat).expand({layers, heads}).contiguous();
  }
  if (o.bool_masked_pos.defined()) {
    if (!has_mask_token())
      fail("bool_masked_pos", "this checkpoint has no mask token (embeddings.mask_token); "
                              "mask by dropping tokens (keep_patches) instead");
    out.bool_masked_pos = per_row(o.bool_masked_pos.to(device_, at::kBool), batch, "bool_masked_pos");
    if (out.bool_masked_pos.size(1) != patches)
      fail("bool_masked_pos", "has " + std::to_string(out.bool_masked_pos.size(1)) + " entries per image; the input has " +
                                  std::to_string(patches) + " patches");
  }
  if (o.keep_patches.defined()) {
    if (o.keep_patches.is_floating_point()) fail("keep_patches", "must hold integer patch indices");
    out.keep_patches = per_row(o.keep_patches.to(device_, at::kLong), batch, "keep_patches").contiguous();
    if (out.keep_patches.numel() > 0) {
      const auto lo = out.keep_patches.min().item<std::int64_t>(), hi = out.keep_patches.max().item<std::int64_t>();
      if (lo < 0 || hi >= patches)
        fail("keep_patches", "index " + std::to_string(lo < 0 ? lo : hi) + " is outside 0.." + std::to_string(patches - 1));
    }
  }
  return out;
}

at::Tensor ViTMSNModel::embed(const at::Tensor& pixel_values, const ForwardOptions& o) const {
  const std::int64_t batch = pixel_values.size(0), height = pixel_values.size(2), width = pixel_values.size(3);
  const std::int64_t p = config_.patch_size;
  at::Tensor x = at::conv2d(pixel_values.to(patch_weight_.scalar_type()), patch_weight_, patch_bias_, /*stride=*/{p, p});
  x = x.flatten(2).transpose(1, 2).to(at::kFloat);  // [B, patches, D]

  if (o.bool_masked_pos.defined()) {
    const at::Tensor mask = o.bool_masked_pos.unsqueeze(-1).to(at::kFloat);
    x = x * (1.0 - mask) + mask_token_.expand_as(x) * mask;
  }
  x = at::cat({cls_token_.expand({batch, 1, -1}), x}, 1);
  x = x + position_embeddings_for(height, width, o.interpolate_pos_encoding);
  if (o.keep_patches.defined()) {
    // MSN's masking: drop patch tokens after position embeddings are added; CLS stays first.
    const at::Tensor& keep = o.keep_patches;
    const at::Tensor kept = x.slice(1, 1).gather(1, keep.unsqueeze(-1).expand({batch, keep.size(1), x.size(2)}));
    x = at::cat({x.slice(1, 0, 1), kept}, 1);
  }
  return x;
}

at::Tensor ViTMSNModel::SelfAttention::forward(const at::Tensor& x, const at::Tensor& head_mask, at::Tensor* probs_out,
                                               const Hooks& hooks, std::size_t layer) const {
  const std::int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / num_heads;
  const at::Tensor heads = qkv(x).view({b, t, 3, num_heads, hd}).permute({2, 0, 3, 1, 4});
  const at::Tensor q = heads[0], k = heads[1], v = heads[2];
  at::Tensor context;
  if (probs_out == nullptr && !hooks.has(layer, HookPoint::AttnScores) && !hooks.has(layer, HookPoint::Pattern)) {
    // Nobody looks at the maps: fused attention, and head_mask scales each head's output,
    // which equals scaling its probabilities.
    context = fused_attention(q, k, v);
    if (head_mask.defined()) context = context * head_mask.to(context.scalar_type());
  } else {
    at::Tensor scores = at::matmul(q * attention_scale(hd), k.transpose(-2, -1));
    if (hooks.has(layer, HookPoint::AttnScores)) scores = hooks.apply(layer, HookPoint::AttnScores, scores.to(at::kFloat));
    // Softmax in float32 whatever the GEMM dtype, as transformers' eager attention does.
    at::Tensor probs = at::softmax(scores, -1, at::kFloat);
    if (head_mask.defined()) probs = probs * head_mask;
    probs = hooks.apply(layer, HookPoint::Pattern, probs);
    context = at::matmul(probs.to(v.scalar_type()), v);
    if (probs_out) *probs_out = probs;
  }
  context = hooks.apply(layer, HookPoint::HeadOutput, context);
  return output(context.transpose(1, 2).reshape({b, t, d}));
}

at::Tensor ViTMSNModel::EncoderLayer::forward(const at::Tensor& x, const Activation& act, const at::Tensor& head_mask,
                                              at::Tensor* probs_out, const Hooks& hooks, std::size_t layer) const {
  // The residual stream stays float32: adding a bf16/fp16 branch promotes it inside the add,
  // with no separate conversion pass.
  const at::Tensor h = x + attention.forward(layernorm_before(x), head_mask, probs_out, hooks, layer);
  return h + output(act(intermediate(layernorm_after(h))));
}

at::Tensor ProjectionHead::forward(const at::Tensor& cls) const {
  at::Tensor z = fc1(cls);
  if (bn1) z = (*bn1)(z);
  z = at::gelu(z);
  z = fc2(z);
  if (bn2) z = (*bn2)(z);
  return fc3(at::gelu(z));
}

void ProjectionHead::export_to(TensorMap& w) const {
  auto put = [&](const std::string& name, const at::Tensor& t) { put_host_copy(w, name, t); };
  const std::pair<const char*, const Linear*> linears[] = {{"fc1", &fc1}, {"fc2", &fc2}, {"fc3", &fc3}};
  for (const auto& [name, l] : linears) {
    put(std::string("projection_head.") + name + ".weight", l->weight);
    put(std::string("projection_head.") + name + ".bias", l->bias);
  }
  const std::pair<const char*, const std::optional<BatchNorm1d>*> norms[] = {{"bn1", &bn1}, {"bn2", &bn2}};
  for (const auto& [name, bn] : norms) {
    if (!*bn) continue;
    const std::string p = std::string("projection_head.") + name + ".";
    put(p + "weight", (*bn)->weight);
    put(p + "bias", (*bn)->bias);
    put(p + "running_mean", (*bn)->running_mean);
    put(p + "running_var", (*bn)->running_var);
  }
}

ModelOutput ViTMSNModel::forward(const at::Tensor& pixel_values, const ForwardOptions& options) const {
  c10::InferenceMode guard;
  return forward_prepared(pixel_values.to(device_, at::kFloat), prepare(pixel_values, options));
}

ModelOutput ViTMSNModel::forward_prepared(const at::Tensor& pixel_values, const ForwardOptions& options) const {
  return encode(embed(pixel_values, options), options);
}

ModelOutput ViTMSNModel::run(at::Tensor x, std::size_t first, const ForwardOptions& options, const Hooks& hooks) const {
  if (first > layers_.size())
    fail("run", "starts at layer " + std::to_string(first) + " of a model with " + std::to_string(layers_.size()));
  ModelOutput out;
  if (options.output_hidden_states) out.hidden_states.push_back(x);
  // The fused kernels compute no gradients: anything autograd may need takes the LibTorch layers.
  const bool fusable = fused_ && x.device().is_cpu() && !at::GradMode::is_enabled() && !autocast_active();
  for (std::size_t l = first; l < layers_.size();) {
    x = hooks.apply(l, HookPoint::ResidPre, x);
    if (fusable && !hooks.inside_attention(l)) {
      // The longest run of layers no hook touches goes through the fused kernels at once.
      std::size_t end = l + 1;
      while (end < layers_.size() && !hooks.inside_attention(end) && !hooks.has(end, HookPoint::ResidPre)) ++end;
      x = fused_->forward(x, options.head_mask, options.output_hidden_states ? &out.hidden_states : nullptr,
                          options.output_attentions ? &out.attentions : nullptr, l, end);
      l = end;
      continue;
    }
    at::Tensor probs;
    const at::Tensor head_mask = options.head_mask.defined()
                                     ? options.head_mask[static_cast<std::int64_t>(l)].view({1, -1, 1, 1})
                                     : at::Tensor();
    x = layers_[l].forward(x, activation_, head_mask, options.output_attentions ? &probs : nullptr, hooks, l);
    if (options.output_hidden_states) out.hidden_states.push_back(x);
    if (options.output_attentions) out.attentions.push_back(probs);
    ++l;
  }
  out.last_hidden_state = layernorm_(x);
  HeadOutputs h = heads(out.cls_embedding());
  out.logits = std::move(h.logits);
  out.projection = std::move(h.projection);
  out.prototype_probs = std::move(h.prototype_probs);
  return out;
}

LayerAttention ViTMSNModel::layer_attention(std::size_t layer, const at::Tensor& x) const {
  c10::InferenceMode guard;
  const EncoderLayer& l = layers_.at(layer);
  const Linear& qkv = l.attention.qkv;
  const std::int64_t b = x.size(0), t = x.size(1), d = x.size(2), heads = l.attention.num_heads;
  LayerAttention a;
  a.normed_ = l.layernorm_before(x).to(qkv.weight.scalar_type());
  a.query_weight_ = qkv.weight.slice(0, 0, d);
  if (qkv.bias.defined()) a.query_bias_ = qkv.bias.slice(0, 0, d);
  a.scale_ = attention_scale(d / heads);
  const at::Tensor key_bias = qkv.bias.defined() ? qkv.bias.slice(0, d, 2 * d) : at::Tensor();
  // Stored transposed and contiguous, [B, heads, head_dim, T]: every query block multiplies by it.
  a.keys_t_ = at::linear(a.normed_, qkv.weight.slice(0, d, 2 * d), key_bias).view({b, t, heads, d / heads}).permute({0, 2, 3, 1}).contiguous();
  return a;
}

at::Tensor LayerAttention::probs(std::int64_t begin, std::int64_t end) const {
  c10::InferenceMode guard;
  const std::int64_t b = keys_t_.size(0), heads = keys_t_.size(1), hd = keys_t_.size(2);
  const at::Tensor q = (at::linear(normed_.slice(1, begin, end), query_weight_, query_bias_) * scale_)
                           .view({b, end - begin, heads, hd}).transpose(1, 2);
  // Softmax in float32 whatever the GEMM dtype, as in forward().
  return at::softmax(at::matmul(q, keys_t_), -1, at::kFloat);
}

HeadOutputs ViTMSNModel::heads(const at::Tensor& cls) const {
  HeadOutputs out;
  if (has_classifier()) out.logits = classifier_(cls);
  if (head_) {
    out.projection = head_->forward(cls);
    if (has_prototypes()) {
      out.prototype_scores = at::matmul(l2_normalize(out.projection), prototypes_.t()) / kPrototypeTemperature;
      out.prototype_probs = at::softmax(out.prototype_scores, -1);
    }
  }
  return out;
}

}  // namespace msnlens
