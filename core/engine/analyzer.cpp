#include "engine/analyzer.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "engine/explanations.h"
#include "engine/forward_io.h"
#include "engine/map_ops.h"
#include "imaging/patch_fill.h"

namespace msnlens {

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

at::Tensor Analyzer::rollout_row(const ForwardState& state, HeadFusion fusion, float discard_ratio, std::int64_t query) const {
  const ViTMSNModel& model = session_.model();
  const std::int64_t t = state.tokens();
  if (fusion == HeadFusion::Single) fusion = HeadFusion::Mean;
  return chain_row(state, model.num_layers(), query, [&](std::size_t l) {
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

std::vector<float> Analyzer::patch_map(const ForwardState& state, const MapSpec& spec, const LinearHead& few_shot,
                                      const Progress& progress) const {
  c10::InferenceMode guard;
  using Source = MapSpec::Source;
  const int layers = static_cast<int>(session_.model().num_layers());
  switch (spec.source) {
    case Source::Occlusion:
      return tokens_to_patches(occlusion_row(session_.model(), state, spec.target, few_shot, progress), state.token_patch(), num_patches(), kNaN);
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
    case Source::Chefer: return on_patches(state, gradient_row(session_.model(), state, spec, few_shot, query));
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

std::vector<float> Analyzer::pca_map(const ForwardState& state, const std::vector<const ForwardState*>& fit) const {
  return on_patches(state, pca_scores(session_.model(), state, fit), static_cast<int>(kPcaComponents));
}

std::vector<float> Analyzer::attention_distance(const ForwardState& state) const { return msnlens::attention_distance(session_.model(), state); }

}  // namespace msnlens
