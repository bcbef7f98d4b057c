#include "engine/interventions.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>

#include "common/error.h"
#include "engine/explanations.h"
#include "engine/map_ops.h"

namespace msnlens {
namespace {

ForwardOptions scores_only() {
  ForwardOptions o;
  o.output_attentions = false;
  o.output_hidden_states = false;
  return o;
}

// y of each row of a run's CLS tokens, float64 on the host.
std::vector<double> scores_of(const ViTMSNModel& model, const at::Tensor& cls, const ExplainTarget& target, const LinearHead& few_shot) {
  const at::Tensor y = target_scores(model, cls, target, few_shot).to(at::kCPU, at::kDouble).contiguous();
  return {y.data_ptr<double>(), y.data_ptr<double>() + y.numel()};
}

// y of a kept view, read from its last layer as every run here reads it.
double view_score(const ViTMSNModel& model, const ForwardState& view, const ExplainTarget& target, const LinearHead& few_shot) {
  return scores_of(model, model.final_norm(view.output().select(1, 0)), target, few_shot).front();
}

void check_target(const ExplainTarget& target, const char* what) {
  if (target.source == PredictionSource::None || target.index < 0)
    fail(what, "needs a target score: a classifier class, a few-shot class or a prototype");
}

}  // namespace

HeadAblation head_ablation(const ViTMSNModel& model, const ForwardState& view, const ExplainTarget& target,
                           const LinearHead& few_shot, const Progress& progress) {
  check_target(target, "head ablation");
  c10::InferenceMode guard;
  const std::int64_t heads = model.config().num_attention_heads;
  HeadAblation out;
  out.target = target;
  out.layers = static_cast<int>(model.num_layers());
  out.heads = static_cast<int>(heads);
  out.score = view_score(model, view, target, few_shot);
  const at::Tensor& x0 = view.layer_input(0);
  // Row h of the batch zeroes head h's output: the same as head_mask zeroing its probabilities.
  const at::Tensor keep = (1 - at::eye(heads, x0.options())).view({heads, heads, 1, 1});
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    Hooks hooks;
    hooks.add({l, HookPoint::HeadOutput}, [&](const at::Tensor& z) { return z * keep.to(z.scalar_type()); });
    const at::Tensor x = view.layer_input(l).expand({heads, -1, -1});
    const std::vector<double> y = scores_of(model, model.run(x, l, scores_only(), hooks).cls_embedding(), target, few_shot);
    for (const double v : y) out.delta.push_back(static_cast<float>(out.score - v));
    if (progress && !progress(static_cast<int>(l + 1), out.layers)) fail("head ablation", "stopped");
  }
  return out;
}

KnockoutEffect knockout(const ViTMSNModel& model, const ForwardState& view, const KnockoutRequest& request,
                        const ExplainTarget& target, const LinearHead& few_shot) {
  check_target(target, "knockout");
  c10::InferenceMode guard;
  const std::size_t layers = model.num_layers();
  std::vector<std::size_t> chosen;
  for (const int l : request.layers) {
    if (l < 0 || static_cast<std::size_t>(l) >= layers)
      fail("knockout", "layer " + std::to_string(l) + " is outside 0.." + std::to_string(layers - 1));
    chosen.push_back(static_cast<std::size_t>(l));
  }
  if (request.layers.empty())
    for (std::size_t l = 0; l < layers; ++l) chosen.push_back(l);
  std::sort(chosen.begin(), chosen.end());
  const std::int64_t t = view.tokens();
  std::vector<std::int64_t> keys;
  const std::vector<int>& token_patch = view.token_patch();
  for (const int p : request.patches) {
    const auto it = std::find(token_patch.begin(), token_patch.end(), p);
    if (it != token_patch.end()) keys.push_back(1 + (it - token_patch.begin()));
  }
  // [T, T]: true where a query may not see a key.
  const auto on_host = at::TensorOptions().dtype(at::kBool);
  at::Tensor hidden = at::zeros({t, t}, on_host);
  if (!keys.empty()) {
    const at::Tensor columns = at::tensor(keys, at::kLong);
    if (request.every_query) hidden.index_fill_(1, columns, true);
    else hidden[0].index_fill_(0, columns, true);
  }
  hidden = hidden.to(view.output().device());
  Hooks hooks;
  for (const std::size_t l : chosen)
    hooks.add({l, HookPoint::AttnScores}, [&](const at::Tensor& s) { return s.masked_fill(hidden, -std::numeric_limits<float>::infinity()); });
  KnockoutEffect out;
  out.target = target;
  out.score = view_score(model, view, target, few_shot);
  const std::size_t first = chosen.front();
  const at::Tensor cls = model.run(view.layer_input(first), first, scores_only(), hooks).cls_embedding();
  out.knocked_score = scores_of(model, cls, target, few_shot).front();
  const at::Tensor reference = model.final_norm(view.output().select(1, 0));
  out.cls_cosine = at::cosine_similarity(cls.to(at::kDouble), reference.to(at::kDouble), 1).item<double>();
  return out;
}

Patching activation_patching(const ViTMSNModel& model, const ForwardState& masked, const ForwardState& clean, int rows,
                             int cols, const ExplainTarget& target, const LinearHead& few_shot, const Progress& progress) {
  check_target(target, "patching");
  c10::InferenceMode guard;
  const std::int64_t t = masked.tokens();
  if (clean.tokens() != 1 + static_cast<std::int64_t>(rows) * cols)
    fail("patching", "needs the unmasked view of the image beside the masked one");
  Patching out;
  out.target = target;
  out.layers = static_cast<int>(model.num_layers());
  out.rows = rows;
  out.cols = cols;
  out.clean_score = view_score(model, clean, target, few_shot);
  out.masked_score = view_score(model, masked, target, few_shot);
  const double span = out.clean_score - out.masked_score;
  auto restoration = [&](double y) { return span == 0 ? kNaN : (y - out.masked_score) / span; };
  // The unmasked tokens in the masked run's order: CLS, then the patches it kept.
  std::vector<std::int64_t> clean_index = {0};
  for (const int p : masked.token_patch()) clean_index.push_back(1 + p);
  const auto device = masked.output().device();
  const at::Tensor order = at::tensor(clean_index, at::kLong).to(device);
  // Row r < T patches token r (r = 0: CLS); row T patches every token.
  const at::Tensor replace = at::cat({at::eye(t, at::TensorOptions().dtype(at::kBool)), at::ones({1, t}, at::kBool)}).to(device).unsqueeze(-1);
  const std::int64_t batch = std::max<std::int64_t>(1, 32768 / t);
  out.restoration.assign(static_cast<std::size_t>(out.layers) * static_cast<std::size_t>(rows * cols), kNaN);
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    const at::Tensor xm = masked.layer_input(l), xc = clean.layer_input(l).index_select(1, order);
    std::vector<double> y;
    for (std::int64_t first = 0; first <= t; first += batch) {
      const at::Tensor r = replace.slice(0, first, std::min(first + batch, t + 1));
      const at::Tensor x = at::where(r, xc, xm);  // [rows, T, D]
      const std::vector<double> part = scores_of(model, model.run(x, l, scores_only()).cls_embedding(), target, few_shot);
      y.insert(y.end(), part.begin(), part.end());
    }
    const std::size_t base = l * static_cast<std::size_t>(rows * cols);
    for (std::int64_t j = 1; j < t; ++j)
      out.restoration[base + static_cast<std::size_t>(masked.token_patch()[static_cast<std::size_t>(j - 1)])] =
          static_cast<float>(restoration(y[static_cast<std::size_t>(j)]));
    out.cls.push_back(restoration(y.front()));
    out.all.push_back(restoration(y.back()));
    if (progress && !progress(static_cast<int>(l + 1), out.layers)) fail("patching", "stopped");
  }
  return out;
}

}  // namespace msnlens
