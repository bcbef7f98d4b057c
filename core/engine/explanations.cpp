#include "engine/explanations.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "engine/few_shot.h"
#include "engine/map_ops.h"

namespace msnlens {
namespace {

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GB", bytes / 1e9);
  return text;
}

const char* source_name(PredictionSource s) {
  switch (s) {
    case PredictionSource::Classifier: return "classifier label";
    case PredictionSource::FewShot: return "few-shot class";
    case PredictionSource::Prototypes: return "prototype";
    case PredictionSource::None: break;
  }
  return "target";
}

}  // namespace

at::Tensor target_logits(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target, const LinearHead& few_shot) {
  auto check_index = [&](std::int64_t count) {
    if (target.index < 0 || target.index >= count)
      fail("target", std::string(source_name(target.source)) + " " + std::to_string(target.index) + " is outside 0.." +
                         std::to_string(count - 1));
  };
  switch (target.source) {
    case PredictionSource::Classifier:
      if (!model.has_classifier()) fail("target", "this model has no classifier");
      check_index(model.num_labels());
      return model.heads(cls).logits.to(at::kFloat);
    case PredictionSource::Prototypes:
      if (!model.has_prototypes()) fail("target", "this model has no MSN prototypes");
      check_index(model.num_prototypes());
      return model.heads(cls).prototype_scores.to(at::kFloat);
    case PredictionSource::FewShot: {
      if (few_shot.empty()) fail("target", "no few-shot classes: fit or load some first");
      if (few_shot.dim != cls.size(1))
        fail("target", "the few-shot classes take embeddings of " + std::to_string(few_shot.dim) + " values; this model's have " +
                           std::to_string(cls.size(1)));
      check_index(static_cast<std::int64_t>(few_shot.classes.size()));
      return few_shot_logits(cls, few_shot);
    }
    case PredictionSource::None: break;
  }
  fail("target", "this map explains a score: pick a classifier label, a few-shot class or a prototype");
}

at::Tensor target_scores(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target, const LinearHead& few_shot) {
  return target_logits(model, cls, target, few_shot).select(1, target.index);
}

at::Tensor target_probabilities(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target,
                                const LinearHead& few_shot) {
  return at::softmax(target_logits(model, cls, target, few_shot).to(at::kDouble), 1).select(1, target.index);
}

at::Tensor gradient_row(const ViTMSNModel& model, const ForwardState& state, const MapSpec& spec, const LinearHead& few_shot,
                        std::int64_t query) {
  const std::int64_t t = state.tokens(), heads = model.config().num_attention_heads;
  // Each layer keeps its float32 maps, their GEMM-dtype copy and their gradient.
  const double need = 3.0 * 4.0 * static_cast<double>(model.num_layers()) * static_cast<double>(heads * t * t);
  if (need > static_cast<double>(kGradientBudget))
    fail(to_string(spec.source), "needs about " + gigabytes(need) + " for " + std::to_string(t) + " tokens (limit " +
                                     gigabytes(static_cast<double>(kGradientBudget)) +
                                     "); drop patches, or use occlusion, which needs no gradients");

  std::vector<at::Tensor> probs, grads;
  {
    // Autograd from the view's embeddings; the weights stay constants.
    c10::InferenceMode no_inference(false);
    at::AutoGradMode grad_mode(true);
    const at::Tensor x = state.layer_input(0).clone().requires_grad_(true);
    ForwardOptions o;
    o.output_attentions = true;
    o.output_hidden_states = false;
    const ModelOutput out = model.encode(x, o);
    const at::Tensor y = target_scores(model, out.cls_embedding(), spec.target, few_shot).sum();
    grads = torch::autograd::grad({y}, out.attentions, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                  /*allow_unused=*/true);
    for (const at::Tensor& a : out.attentions) probs.push_back(a.detach());
  }
  const bool chefer = spec.source == MapSpec::Source::Chefer;
  return chain_row(state, model.num_layers(), query, [&](std::size_t l) {
    const at::Tensor a = probs[l][0];
    const at::Tensor g = grads[l].defined() ? grads[l][0].to(at::kFloat) : at::zeros_like(a);
    if (chefer) {
      at::Tensor m = (a * g).clamp_min_(0.0).mean(0);
      m.diagonal().add_(1.0);
      return m;
    }
    at::Tensor fused = (a * g).mean(0).clamp_min_(0.0);
    return normalized_with_identity(fused, spec.discard_ratio);
  });
}

std::vector<float> occlusion_row(const ViTMSNModel& model, const ForwardState& state, const ExplainTarget& target,
                                 const LinearHead& few_shot, const Progress& progress) {
  const at::Tensor& x = state.layer_input(0);  // [1, T, D]: the view's embeddings
  const std::int64_t t = x.size(1), d = x.size(2);
  ForwardOptions o;
  o.output_attentions = false;
  o.output_hidden_states = false;
  const at::Tensor reference = l2_normalize(model.final_norm(state.output().select(1, 0)));
  auto scores = [&](const at::Tensor& embeddings) {
    const at::Tensor cls = model.encode(embeddings, o).cls_embedding();
    // Without a target: cos − 1 = −½‖â − b̂‖², which float32 resolves where 1 − cos is lost.
    if (target.source == PredictionSource::None) return (l2_normalize(cls) - reference).pow(2).sum(-1).mul(-0.5);
    return target_scores(model, cls, target, few_shot);
  };
  const double base = scores(x).item<double>();
  // Row r of a batch drops token `first + r`: kept token j is j, or j + 1 from that token on.
  const std::int64_t patches = t - 1;
  const std::int64_t batch = std::clamp<std::int64_t>(8192 / std::max<std::int64_t>(t, 1), 1, std::max<std::int64_t>(patches, 1));
  const at::Tensor positions = at::arange(t - 1, x.options().dtype(at::kLong)).unsqueeze(0);
  std::vector<float> values(static_cast<std::size_t>(t), kNaN);
  for (std::int64_t first = 1; first <= patches; first += batch) {
    const std::int64_t rows = std::min(batch, patches - first + 1);
    const at::Tensor dropped = at::arange(first, first + rows, positions.options()).unsqueeze(1);
    const at::Tensor kept = positions + positions.ge(dropped).to(at::kLong);  // [rows, T - 1]
    const at::Tensor occluded = x[0].index_select(0, kept.flatten()).view({rows, t - 1, d});
    const std::vector<float> y = host_vector(scores(occluded));
    for (std::int64_t r = 0; r < rows; ++r) values[static_cast<std::size_t>(first + r)] = static_cast<float>(base - y[static_cast<std::size_t>(r)]);
    if (progress && !progress(static_cast<int>(first + rows - 1), static_cast<int>(patches))) break;
  }
  return values;
}

at::Tensor pca_scores(const ViTMSNModel& model, const ForwardState& state, const std::vector<const ForwardState*>& fit) {
  constexpr std::int64_t kComponents = kPcaComponents;
  c10::InferenceMode guard;
  auto patch_tokens = [&](const ForwardState& s) { return model.final_norm(s.output())[0].slice(0, 1).to(at::kCPU, at::kDouble); };
  std::vector<at::Tensor> fitted;
  for (const ForwardState* s : fit) fitted.push_back(patch_tokens(*s));
  const at::Tensor x = fitted.empty() ? patch_tokens(state) : at::cat(fitted);
  const at::Tensor z = patch_tokens(state);
  const std::int64_t n = x.size(0), d = x.size(1), k = std::min({kComponents, n, d});
  at::Tensor scores = at::zeros({z.size(0), kComponents}, z.options());
  if (k > 0) {
    const at::Tensor mean = x.mean(0, /*keepdim=*/true), centred = x - mean;
    // Principal directions from the smaller Gram matrix; eigh sorts eigenvalues ascending.
    at::Tensor directions;  // [D, k]
    if (n <= d) {
      const auto [values, vectors] = at::linalg_eigh(at::matmul(centred, centred.t()));
      const at::Tensor u = vectors.slice(1, n - k).flip(1), s = values.slice(0, n - k).flip(0).clamp_min(1e-300).sqrt();
      directions = at::matmul(centred.t(), u) / s;
    } else {
      directions = std::get<1>(at::linalg_eigh(at::matmul(centred.t(), centred))).slice(1, d - k).flip(1);
    }
    at::Tensor sign = at::matmul(centred, directions).pow(3).sum(0).sign();
    sign.masked_fill_(sign.eq(0), 1.0);
    scores.slice(1, 0, k).copy_(at::matmul(z - mean, directions) * sign);
  }
  return at::cat({at::zeros({1, kComponents}, scores.options()), scores});  // CLS row unused
}

std::vector<float> attention_distance(const ViTMSNModel& model, const ForwardState& state) {
  c10::InferenceMode guard;
  const ViTMSNConfig& c = model.config();
  const std::int64_t t = state.tokens(), n = t - 1, heads = c.num_attention_heads;
  std::vector<float> out;
  if (n <= 0) return std::vector<float>(model.num_layers() * static_cast<std::size_t>(heads), kNaN);
  std::vector<float> centres;
  const auto cols = static_cast<int>(c.grid_size());
  for (const int p : state.token_patch()) centres.push_back(static_cast<float>(p / cols)), centres.push_back(static_cast<float>(p % cols));
  const at::Tensor grid = at::tensor(centres).view({n, 2}).to(state.layer_input(0).device());
  const at::Tensor pixels = at::cdist(grid, grid) * static_cast<double>(c.patch_size);  // [n, n]
  const std::int64_t block = std::max<std::int64_t>(1, kBlockScores / (heads * t));
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    const LayerAttention attention = model.layer_attention(l, state.layer_input(l));
    at::Tensor total = at::zeros({heads}, pixels.options());
    for (std::int64_t start = 1; start < t; start += block) {
      const std::int64_t end = std::min(t, start + block);
      const at::Tensor rows = attention.probs(start, end)[0].slice(2, 1);  // [heads, rows, n]: patch keys
      total += (rows * pixels.slice(0, start - 1, end - 1)).sum({1, 2});
    }
    const std::vector<float> layer = host_vector(total / static_cast<double>(n));
    out.insert(out.end(), layer.begin(), layer.end());
  }
  return out;
}

}  // namespace msnlens
