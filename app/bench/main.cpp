// msnlens-bench: how fast the engine runs ViT-MSN, measured beside a PyTorch eager reference of
// the same model in the same invocation.
//
// Random-weight models in the real shapes of the released checkpoints (and --model PATH) run at
// batch 1 and 8, with and without attention maps, unmasked and with half the patches dropped.
// Each case reports median and p95 latency and images/s after warm-up; scripts/eager_reference.py
// (transformers' eager math in plain PyTorch) runs the same weights and inputs, and the table
// shows the ratio and the largest difference between the two outputs.
//
// --shapes small,base,large,base-4,large-7 measures the app's own path at those sizes instead:
// each shape is written as a Hugging Face folder, then separate processes (for their peak RSS)
// run the Workbench flow the app's worker runs (load, first result, mask edits), the app
// itself (--benchmark-clicks) and `msnlens-cli infer`. --profile and --explain say where the
// time goes. One file per mode (modes.h); this one reads the options and picks the mode.

#include <CLI/CLI.hpp>

#include <filesystem>

#include "engine/inference_session.h"
#include "front_end.h"
#include "model/random_init.h"
#include "modes.h"
#include "startup.h"

namespace {

using namespace msnlens;
using namespace msnlens::bench;

int run(int argc, char** argv) {
  CLI::App app{"msnlens-bench: engine latency beside PyTorch eager, same weights, same inputs"};
  Options o;
  o.python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  app.add_option("--model", o.model_path, "also benchmark this checkpoint");
  app.add_option("--models", o.models, "random-weight shapes to run: small, base, large, base-4, large-7 (vit-s, vit-b)")->delimiter(',');
  app.add_option("--shapes", o.shapes, "the app's path at these released shapes: load, first result, mask edits, peak RSS")->delimiter(',');
  app.add_option("--flow-edits", o.flow_edits, "--shapes: mask edits timed per kind")->check(CLI::Range(1, 1000));
  app.add_flag("--cli-rss", o.cli_rss, "--shapes: also the peak RSS of msnlens-cli infer (fp32)");
  app.add_option("--flow", o.flow_model, "(internal) run the Workbench flow on this model folder and print one JSON line");
  app.add_option("--precision", o.precision, "--shapes / --flow: auto, fp32, bf16 or fp16");
  app.add_option("--device", o.device, "cpu, cuda or auto");
  app.add_option("--warmup", o.warmup, "untimed runs per case")->check(CLI::Range(0, 1000));
  app.add_option("--iters", o.iters, "timed runs per case and round")->check(CLI::Range(1, 100000));
  app.add_option("--rounds", o.rounds, "rounds over every case (ours, then the reference), the faster kept")->check(CLI::Range(1, 100));
  app.add_option("--json", o.json_out, "write the results here (\"-\": standard output, everything else to stderr)");
  app.add_option("--python", o.python, "Python with torch for the eager reference");
  app.add_flag("--no-reference", o.no_reference, "skip the PyTorch eager reference");
  app.add_flag("--full", o.full, "every combination instead of the standard cases");
  app.add_flag("--profile", o.profile, "only print where a batch-1 forward spends its time, per operator");
  app.add_flag("--explain", o.explain, "only time each explanation map (--models; fastest precision unless --precision)");
  app.add_flag("--profile-maps", o.profile_maps, "--profile a forward that returns every attention map");
  app.add_option("--cuda-graphs", o.graphs, "on CUDA: on, off or both (--shapes: on or off)")->check(CLI::IsMember({"on", "off", "both"}));
  app.add_option("--gui-clicks", o.gui_clicks, "patch toggles for the app's click-to-repaint measure (0: skip)");
  app.add_flag("--no-ort", o.no_ort, "skip the ONNX Runtime anchor");
  CLI11_PARSE(app, argc, argv);
  if (!o.flow_model.empty()) return run_flow(o);
  const JsonOut out(o.json_out);
  const ScratchDir scratch;
  if (!o.shapes.empty()) return run_shapes(o, scratch.path(), out);
  std::vector<BenchModel> models;
  std::uint64_t seed = 0;
  for (const std::string& m : o.models) {
    const ReleasedShape& shape = released_shape(m);
    models.push_back(random_model(shape.title, shape.config, seed++, scratch.path()));
  }
  if (!o.model_path.empty()) models.push_back({fs::path(o.model_path).filename().string(), load_model(o.model_path), {}});
  if (o.profile) return run_profile(o, models);
  if (o.explain) return run_explain(o, models);
  return run_cases(o, models, scratch.path(), out);
}

}  // namespace

int main(int argc, char** argv) {
  msnlens::front_end::use_fast_blas_kernels(argv);
  return msnlens::front_end::guarded_main("msnlens-bench", [&] { return run(argc, argv); });
}
