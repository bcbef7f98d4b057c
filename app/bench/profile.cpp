#include <cstdio>
#include <iostream>
#include <map>

#include "common/error.h"
#include "engine/analyzer.h"
#include "engine/faithfulness.h"
#include "engine/interventions.h"
#include "engine/inference_session.h"
#include "front_end.h"
#include "modes.h"
#include "op_profile.h"

namespace msnlens::bench {
namespace {

using front_end::Clock;
using front_end::ms_since;

// One model's batch-1 forward with attention maps (or as the app runs it), per operator.
void print_profile(const BenchModel& m, const std::string& device, Precision precision, int warmup, int iters, bool maps) {
  const InferenceSession session(m.loaded, {device, precision, false});
  apply_cpu_threads(session.cpu_threads());
  const ViTMSNConfig& config = session.model().config();
  const at::Tensor pixels = at::randn({1, config.num_channels, config.image_size, config.image_size});
  // By default the forward the app's views run: no maps (recomputed per view), hidden states kept.
  ForwardOptions options;
  options.output_attentions = maps;
  options.output_hidden_states = !maps;
  for (int i = 0; i < warmup; ++i) session.run(pixels, options);
  const auto start = Clock::now();
  {
    const OpProfile profile;
    for (int i = 0; i < iters; ++i) session.run(pixels, options);
  }
  const double wall = ms_since(start) / iters;
  std::printf("\n%s bs1 %s %s on %s: %.2f ms per forward while profiled; self time per operator:\n", m.name.c_str(),
              to_string(precision), maps ? "+attn" : "as the app runs it", session.device().str().c_str(), wall);
  double shown = 0;
  const auto totals = OpProfile::totals();
  for (std::size_t i = 0; i < totals.size() && i < 14; ++i) {
    const double ms = totals[i].second / iters;
    shown += ms;
    std::printf("  %-36s %7.2f ms  %5.1f%%\n", totals[i].first.c_str(), ms, 100.0 * ms / wall);
  }
  std::printf("  %-36s %7.2f ms  %5.1f%%\n", "(other operators and glue)", wall - shown, 100.0 * (wall - shown) / wall);
}

}  // namespace

int run_profile(const Options& o, const std::vector<BenchModel>& models) {
  const Precision fast = default_precision(resolve_device(o.device));
  for (const BenchModel& m : models) print_profile(m, o.device, fast, o.warmup, o.iters, o.profile_maps);
  return 0;
}

// In rounds that visit every method once (the host drifts between rounds); class maps explain a
// few-shot class of random weights.
int run_explain(const Options& o, const std::vector<BenchModel>& models) {
  const std::string& device = o.device;
  const Precision precision = parse_precision_option(o.precision).value_or(default_precision(resolve_device(o.device)));
  const int iters = o.iters;
  using Source = MapSpec::Source;
  const std::vector<std::pair<std::string, Source>> methods = {
      {"rollout", Source::Rollout},   {"grad-rollout", Source::GradRollout}, {"chefer", Source::Chefer},
      {"occlusion", Source::Occlusion}, {"similarity", Source::Similarity},  {"token-norms", Source::TokenNorm},
      {"pca", Source::Pca}};
  for (const BenchModel& m : models) {
    const InferenceSession session(m.loaded, {device, precision});
    apply_cpu_threads(session.cpu_threads());
    const Analyzer analyzer(session);
    const PreparedImage image = prepare_image(flow_image(), session.preprocessor());
    const ViTMSNConfig& c = session.model().config();
    LinearHead head;
    head.classes = {"a", "b"};
    head.dim = static_cast<int>(c.hidden_size);
    const at::Tensor w = at::randn({2, c.hidden_size}, at::TensorOptions().dtype(at::kFloat));
    head.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    const PatchMask none(static_cast<int>(c.grid_size()), static_cast<int>(c.grid_size()));
    const PatchMask half = PatchMask::random(none.rows(), none.cols(), 0.5, 1);
    std::map<std::string, std::vector<double>> ms;
    std::map<std::string, std::string> refused;
    for (int round = -1; round < iters; ++round) {  // round -1 warms up
      auto t = Clock::now();
      const auto state = analyzer.forward(image, none, MaskMode::DropTokens);
      if (round >= 0) ms["forward"].push_back(ms_since(t));
      for (const auto& [name, source] : methods) {
        MapSpec spec;
        spec.source = source;
        spec.target = {PredictionSource::FewShot, 1};
        t = Clock::now();
        try {
          analyzer.patch_map(*state, spec, head);
        } catch (const Error& e) {  // the gradient maps refuse long sequences: say so, time the rest
          refused[name] = e.what();
          continue;
        }
        if (round >= 0) ms[name].push_back(ms_since(t));
      }
      t = Clock::now();
      analyzer.attention_distance(*state);
      if (round >= 0) ms["distance"].push_back(ms_since(t));
      // One map's deletion and insertion curves, S = 10, against R = 8 random orders (issue 25's
      // measure: 22 x 9 token-dropped forwards, batched).
      MapSpec rollout;
      rollout.source = Source::Rollout;
      const std::vector<float> map = analyzer.patch_map(*state, rollout, head);
      t = Clock::now();
      const Faithfulness first = faithfulness(session, image.pixels, state->token_patch(), map, {PredictionSource::FewShot, 1}, head);
      if (round >= 0) ms["faithfulness"].push_back(ms_since(t));
      // The next map of the same view (what switching maps costs in the app): the random
      // orders' curves are the first's.
      MapSpec chefer;
      chefer.source = Source::Chefer;
      chefer.target = {PredictionSource::FewShot, 1};
      const std::vector<float> next = analyzer.patch_map(*state, chefer, head);
      t = Clock::now();
      faithfulness(session, image.pixels, state->token_patch(), next, {PredictionSource::FewShot, 1}, head, {}, {}, &first.random);
      if (round >= 0) ms["faith-next"].push_back(ms_since(t));
      // The causes: every head ablated, and the full patching stack of a view with half its
      // patches dropped (its forward included).
      t = Clock::now();
      head_ablation(session.model(), *state, {PredictionSource::FewShot, 1}, head);
      if (round >= 0) ms["head-ablation"].push_back(ms_since(t));
      t = Clock::now();
      const auto masked = analyzer.forward(image, half, MaskMode::DropTokens);
      activation_patching(session.model(), *masked, *state, half.rows(), half.cols(), {PredictionSource::FewShot, 1}, head);
      if (round >= 0) ms["patching"].push_back(ms_since(t));
    }
    const double forward = front_end::median(ms["forward"]);
    std::cout << m.name << ", " << to_string(precision) << ", " << session.device_name() << ", " << c.num_patches() << " patches, "
              << iters << " rounds (median ms, and in forward passes of the same image):\n";
    for (const std::string name :
         {"forward", "rollout", "grad-rollout", "chefer", "occlusion", "similarity", "token-norms", "pca", "distance", "faithfulness",
          "faith-next", "head-ablation", "patching"}) {
      if (refused.count(name) != 0) {
        std::cout << "  " << name << std::string(14 - name.size(), ' ') << "  refused: " << refused[name] << "\n";
        continue;
      }
      const double med = front_end::median(ms[name]);
      std::cout << "  " << name << std::string(14 - name.size(), ' ') << fmt(med, "%9.1f") << " ms  " << fmt(med / forward, "%7.2f") << "x\n";
    }
  }
  return 0;
}

}  // namespace msnlens::bench
