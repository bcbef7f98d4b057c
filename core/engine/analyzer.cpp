#include "engine/analyzer.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>

#include "common/error.h"
#include "imaging/patch_fill.h"

namespace msnlens {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Attention scores per query block while recomputing a whole layer (16 MB of float32).
constexpr std::int64_t kBlockScores = std::int64_t{1} << 22;

std::vector<float> host_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Heads (dimension 0) combined into one map.
at::Tensor fuse(const at::Tensor& per_head, HeadFusion fusion, int head) {
  switch (fusion) {
    case HeadFusion::Single: return per_head[std::clamp<std::int64_t>(head, 0, per_head.size(0) - 1)];
    case HeadFusion::Mean: return per_head.mean(0);
    case HeadFusion::Max: return std::get<0>(per_head.max(0));
    case HeadFusion::Min: return std::get<0>(per_head.min(0));
  }
  return per_head.mean(0);
}

// vit-explain's discard: the lowest floor(ratio * n) entries of the fused map set to zero,
// except entry 0 (CLS -> CLS). Ties at the threshold go in index order.
void discard_lowest(at::Tensor& fused, float ratio) {
  at::Tensor flat = fused.view({-1});
  const auto drop = static_cast<std::int64_t>(static_cast<double>(flat.numel()) * std::clamp(ratio, 0.0f, 1.0f));
  if (drop <= 0) return;
  const at::Tensor threshold = std::get<0>(flat.kthvalue(drop));
  at::Tensor zero = flat.lt(threshold);
  const std::int64_t missing = drop - zero.sum().item<std::int64_t>();
  if (missing > 0) {
    const at::Tensor tied = flat.eq(threshold);
    zero.logical_or_(tied.logical_and(tied.cumsum(0).le(missing)));
  }
  zero[0] = false;
  flat.masked_fill_(zero, 0.0);
}

// Every row of CLS embeddings [N, D] and of the heads' outputs on them, one host copy each.
std::vector<Readout> readouts(const HeadOutputs& heads, const at::Tensor& cls) {
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

std::shared_ptr<const ForwardState> Analyzer::forward(const PreparedImage& image, const PatchMask& mask,
                                                     MaskMode mode) const {
  c10::InferenceMode guard;
  const int patches = num_patches();
  if (mask.size() != patches)
    fail("mask", "covers " + std::to_string(mask.size()) + " patches; the model's grid has " + std::to_string(patches));
  auto state = std::make_shared<ForwardState>();
  state->token_patch_.resize(static_cast<std::size_t>(patches));
  for (int p = 0; p < patches; ++p) state->token_patch_[static_cast<std::size_t>(p)] = p;

  ForwardOptions options;
  options.output_attentions = false;
  options.output_hidden_states = true;
  at::Tensor pixels = image.pixels;
  if (mask.any()) {
    switch (mode) {
      case MaskMode::DropTokens: {
        const std::vector<std::int64_t> kept = mask.kept();
        options.keep_patches = at::tensor(kept, at::kLong).view({1, static_cast<std::int64_t>(kept.size())});
        state->token_patch_.assign(kept.begin(), kept.end());
        break;
      }
      case MaskMode::MaskToken:
        options.bool_masked_pos =
            at::tensor(std::vector<std::int64_t>(mask.flags().begin(), mask.flags().end())).to(at::kBool).view({1, -1});
        break;
      case MaskMode::FillGray:
      case MaskMode::FillBlur:
        pixels = to_pixel_values(fill_patches(image.resized, mask, mode == MaskMode::FillGray ? PixelFill::Gray : PixelFill::Blur),
                                 session_.preprocessor());
        break;
    }
  }
  ModelOutput out = session_.forward(pixels, options);
  state->hidden_ = std::move(out.hidden_states);
  state->readout_ = readouts({out.logits, out.projection, out.prototype_probs}, out.cls_embedding()).front();
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

std::vector<float> Analyzer::on_patches(const ForwardState& state, const at::Tensor& token_values) const {
  return tokens_to_patches(host_vector(token_values), state.token_patch(), num_patches(), kNaN);
}

at::Tensor Analyzer::rollout_row(const ForwardState& state, HeadFusion fusion, float discard_ratio, std::int64_t query) const {
  const ViTMSNModel& model = session_.model();
  const std::int64_t t = state.tokens();
  if (fusion == HeadFusion::Single) fusion = HeadFusion::Mean;
  // R = Â_L ⋯ Â_1 and we want row `query` only: v = e_q, then v ← v Â_l from the last layer
  // down, one layer's fused T x T matrix at a time.
  at::Tensor v = at::zeros({1, t}, state.hidden_.front().options().dtype(at::kFloat));
  v[0][query] = 1.0;
  for (std::size_t l = model.num_layers(); l-- > 0;) {
    const LayerAttention attention = model.layer_attention(l, state.hidden_[l]);
    const std::int64_t block = std::max<std::int64_t>(1, kBlockScores / (attention.heads() * t));
    at::Tensor fused = at::empty({t, t}, v.options());
    for (std::int64_t start = 0; start < t; start += block) {
      const std::int64_t end = std::min(t, start + block);
      fused.slice(0, start, end).copy_(fuse(attention.probs(start, end)[0], fusion, 0));
    }
    discard_lowest(fused, discard_ratio);
    fused.diagonal().add_(1.0);  // the residual path: (A + I), rows renormalised
    fused.div_(fused.sum(-1, /*keepdim=*/true));
    v = at::matmul(v, fused);
  }
  return v[0];
}

std::vector<float> Analyzer::patch_map(const ForwardState& state, const MapSpec& spec) const {
  c10::InferenceMode guard;
  const std::int64_t query = query_token(state, spec.query_patch);
  if (query < 0) return std::vector<float>(static_cast<std::size_t>(num_patches()), kNaN);
  if (spec.source == MapSpec::Source::Rollout)
    return on_patches(state, rollout_row(state, spec.fusion, spec.discard_ratio, query));
  const auto layers = static_cast<int>(session_.model().num_layers());
  const int layer = spec.layer < 0 ? layers - 1 : std::min(spec.layer, layers - 1);
  return on_patches(state, fuse(query_rows(state, static_cast<std::size_t>(layer), query), spec.fusion, spec.head));
}

std::vector<std::vector<float>> Analyzer::head_maps(const ForwardState& state, int layer, int query_patch) const {
  c10::InferenceMode guard;
  const ViTMSNConfig& c = session_.model().config();
  const std::int64_t query = query_token(state, query_patch);
  std::vector<std::vector<float>> maps;
  if (query < 0) return std::vector<std::vector<float>>(static_cast<std::size_t>(c.num_attention_heads),
                                                        std::vector<float>(static_cast<std::size_t>(num_patches()), kNaN));
  const auto layers = static_cast<int>(session_.model().num_layers());
  const at::Tensor rows = query_rows(state, static_cast<std::size_t>(layer < 0 ? layers - 1 : std::min(layer, layers - 1)), query);
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
  return readouts(model.heads(normed), normed);
}

}  // namespace msnlens
