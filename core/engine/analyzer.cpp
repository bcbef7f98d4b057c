#include "engine/analyzer.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "engine/map_ops.h"
#include "imaging/patch_fill.h"

namespace msnlens {

std::vector<float> host_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Max and min go head by head: LibTorch's reduction over the outer dimension is several times
// slower than elementwise passes.
at::Tensor fuse(const at::Tensor& per_head, HeadFusion fusion, int head) {
  const std::int64_t heads = per_head.size(0);
  switch (fusion) {
    case HeadFusion::Single: return per_head[std::clamp<std::int64_t>(head, 0, heads - 1)];
    case HeadFusion::Mean: return per_head.sum(0).div_(static_cast<double>(heads));
    case HeadFusion::Max:
    case HeadFusion::Min: {
      at::Tensor out = per_head[0].clone();
      for (std::int64_t h = 1; h < heads; ++h)
        fusion == HeadFusion::Max ? at::maximum_out(out, out, per_head[h]) : at::minimum_out(out, out, per_head[h]);
      return out;
    }
  }
  return per_head.mean(0);
}

namespace {

// The k-th smallest (1-based) of n non-negative floats, and how many are smaller: radix
// selection on the bit patterns (which order like non-negative values), two histogram passes
// instead of LibTorch's single-threaded quickselect (0.5 s on one ViT-B/4 map).
std::pair<float, std::size_t> kth_smallest_nonnegative(const float* v, std::size_t n, std::size_t k) {
  std::vector<std::size_t> hist(std::size_t{1} << 16);
  auto bits = [](float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
  };
  auto pick = [&](std::size_t& rank, std::size_t& below) {  // the bin holding the rank-th value
    std::size_t bin = 0;
    while (hist[bin] < rank) rank -= hist[bin], below += hist[bin], ++bin;
    return static_cast<std::uint32_t>(bin);
  };
  for (std::size_t i = 0; i < n; ++i) ++hist[bits(v[i]) >> 16];
  std::size_t rank = k, below = 0;
  const std::uint32_t high = pick(rank, below);
  std::fill(hist.begin(), hist.end(), 0);
  for (std::size_t i = 0; i < n; ++i)
    if (const std::uint32_t b = bits(v[i]); b >> 16 == high) ++hist[b & 0xFFFF];
  const std::uint32_t low = pick(rank, below);
  const std::uint32_t pattern = high << 16 | low;
  float value;
  std::memcpy(&value, &pattern, sizeof value);
  return {value, below};
}

}  // namespace

namespace {

std::int64_t discarded(std::int64_t n, float ratio) {
  return static_cast<std::int64_t>(static_cast<double>(n) * std::clamp(ratio, 0.0f, 1.0f));
}

}  // namespace

void discard_lowest(at::Tensor& fused, float ratio) {
  if (!fused.is_cpu()) return discard_lowest_by_sort(fused, ratio);
  at::Tensor flat = fused.view({-1});
  const std::int64_t drop = discarded(flat.numel(), ratio);
  if (drop <= 0) return;
  float* v = flat.data_ptr<float>();
  const auto n = static_cast<std::size_t>(flat.numel());
  const auto [threshold, below] = kth_smallest_nonnegative(v, n, static_cast<std::size_t>(drop));
  std::size_t tied = static_cast<std::size_t>(drop) - below;  // of the values equal to the threshold
  const float keep = v[0];
  for (std::size_t i = 0; i < n; ++i) {
    if (v[i] < threshold) v[i] = 0.0f;
    else if (v[i] == threshold && tied > 0) v[i] = 0.0f, --tied;
  }
  v[0] = keep;
}

void discard_lowest_by_sort(at::Tensor& fused, float ratio) {
  at::Tensor flat = fused.view({-1});
  const std::int64_t drop = discarded(flat.numel(), ratio);
  if (drop <= 0) return;
  // A stable ascending order lists the values below the threshold, then the tied ones by index:
  // its first `drop` entries are exactly what the radix select zeroes.
  const at::Tensor order = std::get<1>(flat.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  const at::Tensor first = flat.slice(0, 0, 1).clone();
  flat.index_fill_(0, order.slice(0, 0, drop), 0.0);
  flat.slice(0, 0, 1).copy_(first);
}

namespace {

// Every row of CLS embeddings [N, D] and of the heads' outputs on them, one host copy each.
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

}  // namespace

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

std::size_t ForwardState::device_bytes() const {
  std::size_t n = 0;
  for (const at::Tensor& t : hidden_) n += static_cast<std::size_t>(t.numel()) * t.element_size();
  return n;
}

int Analyzer::num_patches() const {
  const ViTMSNConfig& c = session_.model().config();
  return static_cast<int>(c.grid_size() * c.grid_size());
}

Analyzer::Input Analyzer::input(const PreparedImage& image, const PatchMask& mask, MaskMode mode) const {
  const int patches = num_patches();
  if (mask.size() != patches)
    fail("mask", "covers " + std::to_string(mask.size()) + " patches; the model's grid has " + std::to_string(patches));
  Input in;
  in.pixels = image.pixels;
  in.options.output_attentions = false;
  in.options.output_hidden_states = true;
  in.token_patch.resize(static_cast<std::size_t>(patches));
  for (int p = 0; p < patches; ++p) in.token_patch[static_cast<std::size_t>(p)] = p;
  if (!mask.any()) return in;
  switch (mode) {
    case MaskMode::DropTokens: {
      const std::vector<std::int64_t> kept = mask.kept();
      in.options.keep_patches = at::tensor(kept, at::kLong).view({1, static_cast<std::int64_t>(kept.size())});
      in.token_patch.assign(kept.begin(), kept.end());
      break;
    }
    case MaskMode::MaskToken:
      in.options.bool_masked_pos =
          at::tensor(std::vector<std::int64_t>(mask.flags().begin(), mask.flags().end())).to(at::kBool).view({1, -1});
      break;
    case MaskMode::FillGray:
    case MaskMode::FillBlur:
      if (image.resized.empty()) fail("mask", "pixel fill needs the image, not only its pixel values");
      in.pixels = to_pixel_values(fill_patches(image.resized, mask, mode == MaskMode::FillGray ? PixelFill::Gray : PixelFill::Blur),
                                  session_.preprocessor());
      break;
  }
  return in;
}

std::shared_ptr<const ForwardState> Analyzer::forward(const PreparedImage& image, const PatchMask& mask,
                                                     MaskMode mode) const {
  c10::InferenceMode guard;
  Input in = input(image, mask, mode);
  ModelOutput out = session_.forward(in.pixels, in.options);
  auto state = std::make_shared<ForwardState>();
  state->hidden_ = std::move(out.hidden_states);
  state->readout_ = readouts(out).front();
  state->token_patch_ = std::move(in.token_patch);
  return state;
}

std::int64_t Analyzer::query_token(const ForwardState& state, int query_patch) {
  if (query_patch < 0) return 0;
  const auto& tp = state.token_patch();
  const auto it = std::find(tp.begin(), tp.end(), query_patch);
  return it == tp.end() ? -1 : static_cast<std::int64_t>(it - tp.begin()) + 1;
}

at::Tensor Analyzer::query_rows(const ForwardState& state, std::size_t layer, std::int64_t query) const {
  return session_.model().layer_attention(layer, state.hidden_[layer]).probs(query, query + 1)[0].select(1, 0);
}

std::vector<float> Analyzer::on_patches(const ForwardState& state, const at::Tensor& token_values, int channels) const {
  if (channels == 1) return tokens_to_patches(host_vector(token_values), state.token_patch(), num_patches(), kNaN);
  // [T, channels]: each channel spread on its own, then interleaved per patch.
  const auto c = static_cast<std::size_t>(channels), patches = static_cast<std::size_t>(num_patches());
  std::vector<float> out(patches * c, kNaN);
  for (std::size_t k = 0; k < c; ++k) {
    const std::vector<float> channel = on_patches(state, token_values.select(1, static_cast<std::int64_t>(k)));
    for (std::size_t p = 0; p < patches; ++p) out[p * c + k] = channel[p];
  }
  return out;
}

at::Tensor Analyzer::chain_row(const ForwardState& state, std::int64_t query,
                               const std::function<at::Tensor(std::size_t)>& layer_matrix) const {
  // We want one row of M_L ⋯ M_1: v = e_q, then v ← v M_l from the last layer down, one
  // layer's T x T matrix at a time.
  at::Tensor v = at::zeros({1, state.tokens()}, state.hidden_.front().options().dtype(at::kFloat));
  v[0][query] = 1.0;
  for (std::size_t l = session_.model().num_layers(); l-- > 0;) v = at::matmul(v, layer_matrix(l));
  return v[0];
}

at::Tensor Analyzer::rollout_row(const ForwardState& state, HeadFusion fusion, float discard_ratio, std::int64_t query) const {
  const ViTMSNModel& model = session_.model();
  const std::int64_t t = state.tokens();
  if (fusion == HeadFusion::Single) fusion = HeadFusion::Mean;
  return chain_row(state, query, [&](std::size_t l) {
    const LayerAttention attention = model.layer_attention(l, state.hidden_[l]);
    const std::int64_t block = std::max<std::int64_t>(1, kBlockScores / (attention.heads() * t));
    at::Tensor fused = at::empty({t, t}, state.hidden_[l].options().dtype(at::kFloat));
    for (std::int64_t start = 0; start < t; start += block) {
      const std::int64_t end = std::min(t, start + block);
      fused.slice(0, start, end).copy_(fuse(attention.probs(start, end)[0], fusion, 0));
    }
    return normalized_with_identity(fused, discard_ratio);
  });
}

at::Tensor normalized_with_identity(at::Tensor& fused, float discard_ratio) {
  discard_lowest(fused, discard_ratio);
  fused.diagonal().add_(1.0);  // the residual path: (A + I), rows renormalised
  return fused.div_(fused.sum(-1, /*keepdim=*/true));
}

std::vector<float> Analyzer::patch_map(const ForwardState& state, const MapSpec& spec, const LinearHead& few_shot,
                                      const Progress& progress) const {
  c10::InferenceMode guard;
  using Source = MapSpec::Source;
  const int layers = static_cast<int>(session_.model().num_layers());
  switch (spec.source) {
    case Source::Occlusion: return occlusion_map(state, spec.target, few_shot, progress);
    case Source::Pca: return pca_map(state, {&state});
    case Source::TokenNorm: {
      const at::Tensor& x = state.hidden_[static_cast<std::size_t>(resolve_layer(spec.layer, layers)) + 1];
      return on_patches(state, x[0].norm(2, -1));
    }
    default: break;
  }
  const std::int64_t query = query_token(state, spec.query_patch);
  if (query < 0) return std::vector<float>(static_cast<std::size_t>(num_patches()), kNaN);
  switch (spec.source) {
    case Source::Rollout: return on_patches(state, rollout_row(state, spec.fusion, spec.discard_ratio, query));
    case Source::GradRollout:
    case Source::Chefer: return on_patches(state, gradient_row(state, spec, few_shot, query));
    case Source::Similarity: {
      const at::Tensor z = session_.model().final_norm(state.hidden_.back())[0];
      const at::Tensor unit = l2_normalize(z);
      return on_patches(state, at::matmul(unit, unit[query]));
    }
    default: {
      const int layer = resolve_layer(spec.layer, layers);
      return on_patches(state, fuse(query_rows(state, static_cast<std::size_t>(layer), query), spec.fusion, spec.head));
    }
  }
}

std::vector<std::vector<float>> Analyzer::head_maps(const ForwardState& state, int layer, int query_patch) const {
  c10::InferenceMode guard;
  const ViTMSNConfig& c = session_.model().config();
  const std::int64_t query = query_token(state, query_patch);
  std::vector<std::vector<float>> maps;
  if (query < 0) return std::vector<std::vector<float>>(static_cast<std::size_t>(c.num_attention_heads),
                                                        std::vector<float>(static_cast<std::size_t>(num_patches()), kNaN));
  const int shown = resolve_layer(layer, static_cast<int>(session_.model().num_layers()));
  const at::Tensor rows = query_rows(state, static_cast<std::size_t>(shown), query);
  for (std::int64_t h = 0; h < rows.size(0); ++h) maps.push_back(on_patches(state, rows[h]));
  return maps;
}

std::vector<std::vector<float>> Analyzer::overview(const ForwardState& state, int query_patch) const {
  c10::InferenceMode guard;
  const ViTMSNModel& model = session_.model();
  const std::int64_t query = query_token(state, query_patch);
  const auto cells = model.num_layers() * static_cast<std::size_t>(model.config().num_attention_heads);
  if (query < 0) return std::vector<std::vector<float>>(cells, std::vector<float>(static_cast<std::size_t>(num_patches()), kNaN));
  std::vector<at::Tensor> rows;
  for (std::size_t l = 0; l < model.num_layers(); ++l) rows.push_back(query_rows(state, l, query));
  const at::Tensor all = at::cat(rows).to(at::kCPU);  // one copy: [layers * heads, T]
  std::vector<std::vector<float>> maps;
  for (std::int64_t i = 0; i < all.size(0); ++i) maps.push_back(on_patches(state, all[i]));
  return maps;
}

std::vector<Readout> Analyzer::lens(const ForwardState& state) const {
  c10::InferenceMode guard;
  const ViTMSNModel& model = session_.model();
  std::vector<at::Tensor> cls;
  for (std::size_t l = 1; l < state.hidden_.size(); ++l) cls.push_back(state.hidden_[l].select(1, 0));
  // All layers as one batch: eval-mode heads treat rows independently.
  const at::Tensor normed = model.final_norm(at::cat(cls));
  return readout_rows(model.heads(normed), normed);
}

}  // namespace msnlens
