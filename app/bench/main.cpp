// msnlens-bench: how fast the engine runs ViT-MSN, measured beside a PyTorch eager reference of
// the same model in the same invocation.
//
// Random-weight models with the real shapes of ViT-S/16 and ViT-B/16 (and --model PATH) run at
// batch 1 and 8, with and without attention maps, unmasked and with half the patches dropped.
// Each case reports median and p95 latency and images/s after warm-up; scripts/eager_reference.py
// (transformers' eager math in plain PyTorch) runs the same weights and inputs, and the table
// shows the ratio and the largest difference between the two outputs.

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "build_config.h"
#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "engine/cpu_threads.h"
#include "engine/inference_session.h"
#include "model/random_init.h"
#include "op_profile.h"

namespace {

using namespace msnlens;
using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchModel {
  std::string name;
  LoadedModel loaded;
  fs::path weights;  // safetensors for the reference; empty when it cannot be given one
};

struct Case {
  const BenchModel* model = nullptr;
  int batch = 1;
  Precision precision = Precision::FP32;
  bool attentions = true;
  double masked = 0.0;  // fraction of patch tokens dropped
  bool graphs = false;  // CUDA graphs

  std::string name() const {
    std::ostringstream s;
    s << model->name << " bs" << batch << " " << to_string(precision) << (attentions ? " +attn" : " -attn")
      << (masked > 0 ? " drop" + std::to_string(static_cast<int>(masked * 100)) + "%" : "") << (graphs ? " graph" : "");
    return s.str();
  }
};

struct Stats {
  double median_ms = 0, p95_ms = 0;
};

struct Result {
  Case c;
  Stats ours;
  double images_per_s = 0;
  std::string threads;
  std::optional<Stats> reference;   // eager, same precision
  std::optional<Stats> reference_fp32;
  std::optional<double> max_diff;    // |ours - reference| on last_hidden_state
};

Stats summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size()))) - 1)]; };
  const std::size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), at(0.95)};
}

BenchModel random_model(const std::string& name, const ViTMSNConfig& config, std::uint64_t seed, const fs::path& dir) {
  const TensorMap weights = random_weights(config, seed);
  LoadedModel loaded{std::make_shared<ViTMSNModel>(config, weights, name), PreprocessorConfig::imagenet(224), {}};
  loaded.summary.path = name;
  const fs::path file = dir / (name.substr(0, name.find('/')) + ".safetensors");
  write_safetensors(file, {weights.begin(), weights.end()});
  return {name, std::move(loaded), file};
}

// Seeded inputs, written for the reference too.
struct Inputs {
  at::Tensor pixels, keep;
  fs::path file;
};

Inputs make_inputs(const Case& c, const fs::path& dir, int index) {
  const ViTMSNConfig& config = c.model->loaded.model->config();
  at::Generator gen = at::detail::createCPUGenerator(1234 + static_cast<std::uint64_t>(index));
  Inputs in;
  in.pixels = at::randn({c.batch, config.num_channels, config.image_size, config.image_size}, gen);
  std::vector<std::pair<std::string, at::Tensor>> tensors = {{"pixel_values", in.pixels}};
  if (c.masked > 0) {
    const std::int64_t patches = config.num_patches();
    const auto kept = static_cast<std::int64_t>(static_cast<double>(patches) * (1.0 - c.masked));
    in.keep = std::get<0>(at::randperm(patches, gen).slice(0, 0, kept).sort()).unsqueeze(0).expand({c.batch, kept}).contiguous();
    tensors.emplace_back("keep_patches", in.keep);
  }
  in.file = dir / ("inputs" + std::to_string(index) + ".safetensors");
  write_safetensors(in.file, tensors);
  return in;
}

Result run_case(const Case& c, const Inputs& in, const std::string& device, int warmup, int iters, at::Tensor& last_hidden) {
  const InferenceSession session(c.model->loaded, {device, c.precision, c.graphs});
  ForwardOptions options;
  options.output_attentions = c.attentions;
  options.output_hidden_states = false;
  options.keep_patches = in.keep;
  for (int i = 0; i < warmup; ++i) session.run(in.pixels, options);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t = Clock::now();
    last_hidden = session.run(in.pixels, options).last_hidden_state;  // outputs back on the host: synchronised
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  Result r{c, summarize(ms), 0, "", std::nullopt, std::nullopt, std::nullopt};
  r.images_per_s = 1000.0 * c.batch / r.ours.median_ms;
  if (session.device().is_cuda()) {
    r.threads = session.device_name();
  } else {
    const CpuThreads t = threads_for(c.precision, available_cores());
    r.threads = "omp " + std::to_string(t.torch) + ", blas " + std::to_string(t.blas);
  }
  return r;
}

// Runs the eager reference over every case at once; returns its results by case name.
std::map<std::string, json> run_reference(const std::string& python, const json& job, const fs::path& dir) {
  const fs::path job_file = dir / "job.json";
  std::ofstream(job_file) << job.dump();
  const fs::path script = fs::path(MSNLENS_SOURCE_DIR) / "scripts" / "eager_reference.py";
  const std::string command = python + " " + script.string() + " < " + job_file.string();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) fail(python, "cannot start the eager reference");
  std::map<std::string, json> out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::cerr << "  reference: " << line;
    try {
      const json j = json::parse(line);
      out[j["name"].get<std::string>()] = j;
    } catch (const json::exception&) {
      // not a result line: already echoed above
    }
  }
  if (pclose(pipe) != 0) std::cerr << "msnlens-bench: the eager reference failed; ratios are missing\n";
  return out;
}

// File by file rather than fs::remove_all, which crashed (SIGSEGV) when built with a newer GCC
// than the libstdc++ the GPU machine ran it with.
void remove_scratch(const fs::path& dir) {
  for (const auto& entry : std::vector<fs::directory_entry>(fs::directory_iterator(dir), {})) fs::remove(entry.path());
  fs::remove(dir);
}

// The app's own measure (msnlens --benchmark-clicks, offscreen): a patch toggled through the
// mouse path until the new overlay is painted. Needs the msnlens binary beside this one.
std::string measure_gui(const fs::path& dir, int clicks) {
  const fs::path app = fs::canonical("/proc/self/exe").parent_path() / "msnlens";
  if (!fs::exists(app)) return "";
  const fs::path model = dir / "vit-s-app";
  fs::create_directories(model);
  const ViTMSNConfig config = vit_small_16();
  const TensorMap weights = random_weights(config, 0);
  write_safetensors(model / "model.safetensors", {weights.begin(), weights.end()});
  std::ofstream(model / "config.json") << config.to_json().dump();
  const std::string command = "QT_QPA_PLATFORM=offscreen " + app.string() + " --model " + model.string() + " " +
                              (fs::path(MSNLENS_SOURCE_DIR) / "resources/images/chelsea.png").string() +
                              " --benchmark-clicks " + std::to_string(clicks) + " 2>/dev/null";
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) out += line;
    pclose(pipe);
  }
  remove_scratch(model);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// --profile: self time per ATen operator for one batch-1 forward with attention maps.
void print_profile(const BenchModel& m, const std::string& device, Precision precision, int warmup, int iters) {
  const InferenceSession session(m.loaded, {device, precision, false});
  const ViTMSNConfig& config = session.model().config();
  const at::Tensor pixels = at::randn({1, config.num_channels, config.image_size, config.image_size});
  ForwardOptions options;
  options.output_hidden_states = false;
  for (int i = 0; i < warmup; ++i) session.run(pixels, options);
  const auto start = Clock::now();
  {
    const OpProfile profile;
    for (int i = 0; i < iters; ++i) session.run(pixels, options);
  }
  const double wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / iters;
  std::printf("\n%s bs1 %s +attn on %s: %.2f ms per forward while profiled; self time per operator:\n", m.name.c_str(),
              to_string(precision), session.device().str().c_str(), wall);
  double shown = 0;
  const auto totals = OpProfile::totals();
  for (std::size_t i = 0; i < totals.size() && i < 14; ++i) {
    const double ms = totals[i].second / iters;
    shown += ms;
    std::printf("  %-36s %7.2f ms  %5.1f%%\n", totals[i].first.c_str(), ms, 100.0 * ms / wall);
  }
  std::printf("  %-36s %7.2f ms  %5.1f%%\n", "(other operators and glue)", wall - shown, 100.0 * (wall - shown) / wall);
}

std::string fmt(double v, const char* f = "%.2f") {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

int run(int argc, char** argv) {
  CLI::App app{"msnlens-bench: engine latency beside PyTorch eager, same weights, same inputs"};
  std::string model_path, device = "cpu", json_out, python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  std::vector<std::string> models = {"vit-s", "vit-b"};
  int warmup = 3, iters = 20;
  bool no_reference = false, full = false, profile = false;
  int gui_clicks = 30;
  std::string graphs = "both";
  app.add_option("--model", model_path, "also benchmark this checkpoint");
  app.add_option("--models", models, "random-weight shapes to run: vit-s, vit-b")->delimiter(',');
  app.add_option("--device", device, "cpu, cuda or auto");
  app.add_option("--warmup", warmup, "untimed runs per case")->check(CLI::Range(0, 1000));
  app.add_option("--iters", iters, "timed runs per case")->check(CLI::Range(1, 100000));
  app.add_option("--json", json_out, "write the results here");
  app.add_option("--python", python, "Python with torch for the eager reference");
  app.add_flag("--no-reference", no_reference, "skip the PyTorch eager reference");
  app.add_flag("--full", full, "every combination instead of the standard cases");
  app.add_flag("--profile", profile, "only print where a batch-1 forward spends its time, per operator");
  app.add_option("--cuda-graphs", graphs, "on CUDA: on, off or both")->check(CLI::IsMember({"on", "off", "both"}));
  app.add_option("--gui-clicks", gui_clicks, "patch toggles for the app's click-to-repaint measure (0: skip)");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::temp_directory_path() / ("msnlens-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<BenchModel> bench_models;
  for (const auto& m : models) {
    if (m == "vit-s") bench_models.push_back(random_model("ViT-S/16", vit_small_16(), 0, dir));
    else if (m == "vit-b") bench_models.push_back(random_model("ViT-B/16", vit_base_16(), 1, dir));
    else fail("--models", "unknown model \"" + m + "\" (use vit-s, vit-b)");
  }
  if (!model_path.empty()) bench_models.push_back({fs::path(model_path).filename().string(), load_model(model_path), {}});

  const at::Device dev = resolve_device(device);
  const Precision fast = default_precision(dev);
  if (profile) {
    for (const auto& m : bench_models) print_profile(m, device, fast, warmup, iters);
    remove_scratch(dir);
    return 0;
  }
  std::vector<Case> cases;
  std::vector<bool> graph_modes = {false};
  if (dev.is_cuda()) graph_modes = graphs == "both" ? std::vector<bool>{false, true} : std::vector<bool>{graphs == "on"};
  for (const auto& m : bench_models) {
    const std::vector<Precision> precisions = fast == Precision::FP32 ? std::vector<Precision>{Precision::FP32}
                                                                       : std::vector<Precision>{Precision::FP32, fast};
    for (const Precision p : precisions)
      for (const int batch : {1, 8})
        for (const bool attn : {true, false})
          for (const double masked : {0.0, 0.5})
            for (const bool graph : graph_modes) {
              const Case c{&m, batch, p, attn, masked, graph};
              // The standard set varies one knob at a time: on the CPU from batch 1 with attention
              // maps, unmasked; on CUDA every batch and precision without maps (the fused path).
              const int changed = (batch != 1) + (!attn) + (masked > 0);
              const bool standard = dev.is_cuda() ? (masked == 0 && (!attn || batch == 1))
                                                  : (changed == 0 || (changed == 1 && p == fast));
              if (full || standard) cases.push_back(c);
            }
  }

  std::vector<Result> results;
  json job = {{"device", dev.str()}, {"cases", json::array()}, {"threads", {1, available_cores()}}};
  std::vector<at::Tensor> outputs;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Inputs in = make_inputs(cases[i], dir, static_cast<int>(i));
    at::Tensor last_hidden;
    results.push_back(run_case(cases[i], in, device, warmup, iters, last_hidden));
    outputs.push_back(last_hidden);
    std::cerr << "  " << cases[i].name() << ": " << fmt(results.back().ours.median_ms) << " ms\n";
    if (cases[i].model->weights.empty()) continue;
    const ViTMSNConfig& cfg = cases[i].model->loaded.model->config();
    for (const Precision p : {cases[i].precision, Precision::FP32}) {
      const std::string name = cases[i].name() + (p == cases[i].precision ? "" : " [fp32 ref]");
      if (p == Precision::FP32 && cases[i].precision == Precision::FP32 && name != cases[i].name()) continue;
      job["cases"].push_back({{"name", name},
                              {"weights", cases[i].model->weights.string()},
                              {"inputs", in.file.string()},
                              {"output", (dir / ("ref" + std::to_string(i) + ".safetensors")).string()},
                              {"config", cfg.to_json()},
                              {"precision", to_string(p)},
                              {"attentions", cases[i].attentions},
                              {"warmup", warmup},
                              {"iters", iters}});
      if (cases[i].precision == Precision::FP32) break;
    }
  }
  if (!no_reference && !job["cases"].empty()) {
    std::cerr << "running the PyTorch eager reference (" << python << ")...\n";
    const auto ref = run_reference(python, job, dir);
    for (std::size_t i = 0; i < results.size(); ++i) {
      Result& r = results[i];
      const std::string name = r.c.name();
      if (auto it = ref.find(name); it != ref.end()) {
        r.reference = Stats{it->second["median_ms"], it->second["p95_ms"]};
        const at::Tensor theirs = read_safetensors(dir / ("ref" + std::to_string(i) + ".safetensors")).tensors.at("last_hidden_state");
        r.max_diff = (theirs - outputs[i]).abs().max().item<double>();
      }
      if (r.c.precision == Precision::FP32) r.reference_fp32 = r.reference;
      else if (auto it = ref.find(name + " [fp32 ref]"); it != ref.end())
        r.reference_fp32 = Stats{it->second["median_ms"], it->second["p95_ms"]};
    }
  }

  std::cout << "\nmsnlens-bench on " << (dev.is_cuda() ? "CUDA" : "CPU, " + std::to_string(available_cores()) + " cores")
            << "; " << iters << " timed runs after " << warmup << " warm-up; eager reference: PyTorch "
            << (no_reference ? "(skipped)" : "eager, best of 1 and " + std::to_string(available_cores()) + " threads") << "\n\n";
  std::printf("%-34s %9s %9s %9s %10s %8s %11s %9s\n", "case", "median ms", "p95 ms", "img/s", "eager ms", "speedup",
              "vs eager32", "max|diff|");
  json out = json::array();
  for (const Result& r : results) {
    const std::string eager = r.reference ? fmt(r.reference->median_ms) : "-";
    const std::string speedup = r.reference ? fmt(r.reference->median_ms / r.ours.median_ms, "%.1fx") : "-";
    const std::string vs32 = r.reference_fp32 ? fmt(r.reference_fp32->median_ms / r.ours.median_ms, "%.1fx") : "-";
    const std::string diff = r.max_diff ? fmt(*r.max_diff, "%.1e") : "-";
    std::printf("%-34s %9.2f %9.2f %9.1f %10s %8s %11s %9s\n", r.c.name().c_str(), r.ours.median_ms, r.ours.p95_ms,
                r.images_per_s, eager.c_str(), speedup.c_str(), vs32.c_str(), diff.c_str());
    json j = {{"case", r.c.name()}, {"model", r.c.model->name}, {"batch", r.c.batch}, {"precision", to_string(r.c.precision)},
              {"attentions", r.c.attentions}, {"masked", r.c.masked}, {"median_ms", r.ours.median_ms},
              {"p95_ms", r.ours.p95_ms}, {"images_per_s", r.images_per_s}, {"threads", r.threads}};
    if (r.reference) j["eager_median_ms"] = r.reference->median_ms, j["speedup"] = r.reference->median_ms / r.ours.median_ms;
    if (r.reference_fp32) j["speedup_vs_eager_fp32"] = r.reference_fp32->median_ms / r.ours.median_ms;
    if (r.max_diff) j["max_abs_diff"] = *r.max_diff;
    out.push_back(j);
  }
  std::cout << std::flush;
  const std::string gui = gui_clicks > 0 && !dev.is_cuda() ? measure_gui(dir, gui_clicks) : "";
  if (!gui.empty()) std::cout << "\nthe app, ViT-S/16 (random weights), " << gui << "\n";
  if (!json_out.empty()) std::ofstream(json_out) << json{{"device", dev.str()}, {"cores", available_cores()}, {"cases", out}, {"app_click_to_repaint", gui}}.dump(2) << "\n";
  remove_scratch(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const msnlens::Error& e) {
    std::cerr << "msnlens-bench: " << e.what() << "\n";
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::cerr << "msnlens-bench: " << what.substr(0, what.find('\n')) << "\n";
  }
  return 1;
}
