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
// itself (--benchmark-clicks) and `msnlens-cli infer`.

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "build_config.h"
#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "common/json_file.h"
#include "engine/analyzer.h"
#include "engine/cpu_threads.h"
#include "front_end.h"
#include "startup.h"
#include "engine/inference_session.h"
#include "engine/workbench.h"
#include "kernels/fused_cpu_encoder.h"
#include "model/random_init.h"
#include "kernels/fma_peak.h"
#include "op_profile.h"
#include "ort_anchor.h"

namespace {

using namespace msnlens;
using nlohmann::json;
namespace fs = std::filesystem;
using front_end::Clock;
using front_end::ms_since;

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
  bool fused = true;    // the fused oneDNN encoder on the CPU (where the build has it)

  std::string name() const {
    std::ostringstream s;
    s << model->name << " bs" << batch << " " << to_string(precision) << (attentions ? " +attn" : " -attn")
      << (masked > 0 ? " drop" + std::to_string(static_cast<int>(masked * 100)) + "%" : "") << (graphs ? " graph" : "")
      << (fused ? "" : " libtorch");
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
  std::string threads, kernels;
  std::optional<Stats> reference;   // eager, same precision
  std::optional<Stats> reference_fp32;
  std::optional<double> max_diff;    // |ours - reference| on last_hidden_state
  std::optional<Stats> ort;          // ONNX Runtime fp32 on the same model, batch 1, no maps
  double gflops = 0;                 // GEMM arithmetic per second
};

// The faster of two measurements of one case: on a shared host, the slower one measured
// the neighbours.
void keep_faster(std::optional<Stats>& best, const Stats& s) {
  if (!best || s.median_ms < best->median_ms) best = s;
}

// Where --json goes. "-" means stdout, for pipes: the results alone there, so everything else
// the bench prints (tables, progress) moves to stderr from the start.
class JsonOut {
 public:
  explicit JsonOut(std::string path) : path_(std::move(path)) {
    if (path_ != "-") return;
    std::fflush(stdout);
    std::cout.flush();
    stdout_fd_ = dup(STDOUT_FILENO);
    dup2(STDERR_FILENO, STDOUT_FILENO);
  }
  void write(const json& results) const {
    if (path_.empty()) return;
    if (stdout_fd_ < 0) return write_json_file(path_, results);
    std::fflush(stdout);
    std::cout.flush();
    const std::string text = results.dump(2) + "\n";
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(stdout_fd_, text.data() + done, text.size() - done);
      if (n <= 0) fail("--json -", "cannot write the results to standard output");
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  std::string path_;
  int stdout_fd_ = -1;
};

Stats summarize(const std::vector<double>& ms) { return {front_end::median(ms), front_end::percentile(ms, 0.95)}; }

// The multiply-adds of a forward, 2 FLOP each: patch embedding, then per layer QKV, q·kᵀ, p·v,
// the output projection and the MLP, on the tokens the case keeps. Softmax, LayerNorm and GELU
// are not counted: the rate is the GEMMs', comparable with the FMA peak.
double forward_flops(const ViTMSNConfig& c, int batch, double masked) {
  const double patches = static_cast<double>(c.num_patches());
  const double t = 1 + static_cast<double>(static_cast<std::int64_t>(patches * (1.0 - masked)));
  const double d = static_cast<double>(c.hidden_size), inner = static_cast<double>(c.intermediate_size);
  const double embed = patches * static_cast<double>(c.num_channels * c.patch_size * c.patch_size) * d;
  const double layer = t * d * 3 * d + 2 * t * t * d + t * d * d + 2 * t * d * inner;
  return 2.0 * batch * (embed + static_cast<double>(c.num_hidden_layers) * layer);
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

SessionOptions session_options(const Case& c, const std::string& device) {
  SessionOptions o{device, c.precision, c.graphs};
  o.fused_cpu = c.fused;
  return o;
}

// One round of one case on its session (kept across rounds: loading is not what is timed).
Result run_case(const Case& c, const InferenceSession& session, const Inputs& in, int warmup, int iters, at::Tensor& last_hidden) {
  // Sessions of other precisions and kernels ran in between: give the cores back to this one's pools.
  const bool cpu = !session.device().is_cuda();
  const CpuThreads threads = cpu ? configure_cpu_threads(c.precision, session.model().fused_cpu() != nullptr) : CpuThreads{};
  ForwardOptions options;
  options.output_attentions = c.attentions;
  options.output_hidden_states = false;
  options.keep_patches = in.keep;
  for (int i = 0; i < warmup; ++i) session.run(in.pixels, options);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t = Clock::now();
    last_hidden = session.run(in.pixels, options).last_hidden_state;  // outputs back on the host: synchronised
    ms.push_back(ms_since(t));
  }
  Result r;
  r.c = c;
  r.ours = summarize(ms);
  r.kernels = session.kernels();
  r.images_per_s = 1000.0 * c.batch / r.ours.median_ms;
  r.threads = cpu ? "omp " + std::to_string(threads.torch) + ", blas " + std::to_string(threads.blas) : session.device_name();
  return r;
}

std::string fmt(double v, const char* f = "%.2f") {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Runs the eager reference over every case at once; returns its results by case name. It gets
// the best OpenBLAS kernels for this CPU (OPENBLAS_CORETYPE, for its process only), so that no
// ratio owes anything to a BLAS that failed to recognise the machine.
std::map<std::string, json> run_reference(const std::string& python, const json& job, const fs::path& dir) {
  const fs::path job_file = dir / "job.json";
  write_json_file(job_file, job);
  const fs::path script = fs::path(MSNLENS_SOURCE_DIR) / "scripts" / "eager_reference.py";
  const std::string coretype = best_blas_coretype();
  const std::string command = (coretype.empty() ? "" : "OPENBLAS_CORETYPE=" + coretype + " ") + python + " " +
                              script.string() + " < " + job_file.string();
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

// A child process's output, exit status and peak resident memory.
struct ChildRun {
  int status = -1;
  std::string out;
  double peak_rss_mb = 0;
  double seconds = 0;
};

ChildRun run_child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {}) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) fail(argv.front(), "cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  const auto start = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv.front().c_str(), &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  ChildRun run;
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    fail(argv.front(), "cannot start");
  }
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) run.out.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  struct rusage usage {};
  int status = 0;
  ::wait4(pid, &status, 0, &usage);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  while (!run.out.empty() && run.out.back() == '\n') run.out.pop_back();
  return run;
}

fs::path sibling(const std::string& name) { return fs::canonical("/proc/self/exe").parent_path() / name; }

// The app's own measure (msnlens --benchmark-clicks, offscreen): a patch toggled through the
// mouse path until the new overlay is painted. Needs the msnlens binary beside this one.
std::optional<ChildRun> measure_gui(const fs::path& model, int clicks) {
  const fs::path app = sibling("msnlens");
  if (!fs::exists(app)) return std::nullopt;
  return run_child({app.string(), "--model", model.string(), (fs::path(MSNLENS_SOURCE_DIR) / "resources/images/chelsea.png").string(),
                    "--benchmark-clicks", std::to_string(clicks)},
                   {"QT_QPA_PLATFORM=offscreen"});
}

// A photo-sized test image (the flow needs no decoder): gradients and stripes.
RgbImage flow_image() {
  RgbImage im(640, 480);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      std::uint8_t* p = im.row(y) + 3 * x;
      p[0] = static_cast<std::uint8_t>(x * 255 / im.width);
      p[1] = static_cast<std::uint8_t>(((x / 9 + y / 13) % 2) * 160 + 40);
      p[2] = static_cast<std::uint8_t>(y * 255 / im.height);
    }
  return im;
}

// --flow DIR (in a child process): what the app's worker does for one image, through the same
// Workbench calls, timed: load; first result (unmasked forward, canvas map, heads grid); mask
// edits of one patch and of half the patches (masked forward and maps). One JSON line.
int run_flow(const std::string& model, const std::string& device, const std::string& precision, int edits, bool graphs) {
  Workbench bench;
  WorkbenchOptions options;
  options.device = device;
  options.precision = precision;
  options.cuda_graphs = graphs;
  const auto t0 = Clock::now();
  const ModelDescription& d = bench.load_model(model, options);
  const double load_ms = ms_since(t0);
  bench.add_image(1, flow_image());
  MapRequest request;  // the Attention tab, as the app opens
  request.heads = true;
  const auto t1 = Clock::now();
  bench.maps(1, {}, MaskMode::DropTokens, request);
  const double first_ms = ms_since(t1);
  auto timed = [&](auto&& mask_of) {
    std::vector<double> ms;
    for (int i = 0; i < edits; ++i) {
      const PatchMask mask = mask_of(i);
      const auto t = Clock::now();
      bench.maps(1, mask, MaskMode::DropTokens, request);
      ms.push_back(ms_since(t));
    }
    return summarize(ms).median_ms;
  };
  const int patches = d.grid_rows * d.grid_cols;
  // Patches toggled one after another, as the app's --benchmark-clicks does: every edit
  // changes how many tokens the model sees.
  PatchMask clicked(d.grid_rows, d.grid_cols);
  const double one_ms = timed([&](int i) {
    clicked.toggle((i * 37 + 11) % patches);
    return clicked;
  });
  const double half_ms = timed([&](int i) { return PatchMask::random(d.grid_rows, d.grid_cols, 0.5, static_cast<std::uint64_t>(i)); });
  // The other views of the unmasked image, each recomputed from the kept layer inputs.
  auto view_ms = [&](const MapRequest& r) {
    const auto t = Clock::now();
    bench.maps(1, {}, MaskMode::DropTokens, r);
    return ms_since(t);
  };
  MapRequest layer = request, overview, rollout, lens;
  layer.map.layer = 0;
  overview.overview = true;
  rollout.map.source = MapSpec::Source::Rollout;
  lens.lens = true;
  std::cout << json{{"load_ms", load_ms}, {"first_ms", first_ms}, {"edit_one_ms", one_ms}, {"edit_half_ms", half_ms},
                    {"layer_ms", view_ms(layer)}, {"overview_ms", view_ms(overview)}, {"rollout_ms", view_ms(rollout)},
                    {"lens_ms", view_ms(lens)}, {"device", d.device_name}, {"precision", d.precision}, {"patches", patches}}
                   .dump()
            << std::endl;
  return 0;
}

// --shapes: the table README.md shows, one row per released shape.
void run_shapes(const std::vector<std::string>& names, const std::string& device, const std::string& precision, bool graphs,
                int edits, int clicks, bool cli, const fs::path& dir, const JsonOut& json_out) {
  json rows = json::array();
  std::printf("\n%-9s %-8s %7s %8s %11s %12s %9s %9s %9s %9s %9s %9s %12s %9s %7s\n", "shape", "patches", "load s", "first s",
              "edit 1 p50", "edit 50% p50", "layer", "overview", "rollout", "lens", "flow RSS", "app RSS", "app edit p50",
              "cli RSS", "cli s");
  for (const std::string& name : names) {
    const ReleasedShape& shape = released_shape(name);
    const fs::path folder = dir / ("vit-msn-" + shape.name);
    write_random_checkpoint(shape, folder);
    json row = {{"shape", shape.name}, {"title", shape.title}, {"cuda_graphs", graphs}};
    const ChildRun flow = run_child({fs::canonical("/proc/self/exe").string(), "--flow", folder.string(), "--device", device,
                                     "--precision", precision, "--cuda-graphs", graphs ? "on" : "off", "--flow-edits",
                                     std::to_string(edits)});
    if (flow.status != 0) fail(shape.name, "the flow failed: " + flow.out);
    row["flow"] = json::parse(flow.out.substr(flow.out.rfind('\n') + 1));
    row["flow"]["peak_rss_mb"] = flow.peak_rss_mb;
    std::string app_rss = "-", app_edit = "-", cli_rss = "-", cli_s = "-";
    if (clicks > 0 && device == "cpu") {
      if (const auto app = measure_gui(folder, clicks); app && app->status == 0) {
        row["app"] = {{"output", app->out}, {"peak_rss_mb", app->peak_rss_mb}};
        app_rss = fmt(app->peak_rss_mb / 1024.0, "%.2f GB");
        const auto at = app->out.find("edit-to-result in the worker p50 ");
        if (at != std::string::npos) app_edit = fmt(std::stod(app->out.substr(at + 33)) / 1000.0, "%.2f s");
      }
    }
    if (cli) {
      const ChildRun infer = run_child({sibling("msnlens-cli").string(), "infer", "--model", folder.string(), "--image",
                                        (fs::path(MSNLENS_SOURCE_DIR) / "resources/images/chelsea.png").string(), "--device", device});
      if (infer.status == 0) {
        row["cli_infer"] = {{"peak_rss_mb", infer.peak_rss_mb}, {"seconds", infer.seconds}};
        cli_rss = fmt(infer.peak_rss_mb / 1024.0, "%.2f GB");
        cli_s = fmt(infer.seconds, "%.1f");
      }
    }
    const json& f = row["flow"];
    auto ms = [&](const char* key) { return fmt(f[key].get<double>(), "%.1f ms"); };
    std::printf("%-9s %-8d %7.2f %8.2f %11s %12s %9s %9s %9s %9s %9s %9s %12s %9s %7s\n", (shape.name + (graphs ? "+g" : "")).c_str(), f["patches"].get<int>(),
                f["load_ms"].get<double>() / 1000.0, f["first_ms"].get<double>() / 1000.0, ms("edit_one_ms").c_str(),
                ms("edit_half_ms").c_str(), ms("layer_ms").c_str(), ms("overview_ms").c_str(), ms("rollout_ms").c_str(),
                ms("lens_ms").c_str(), fmt(flow.peak_rss_mb / 1024.0, "%.2f GB").c_str(), app_rss.c_str(), app_edit.c_str(),
                cli_rss.c_str(), cli_s.c_str());
    std::fflush(stdout);
    rows.push_back(row);
    for (const char* file : {"model.safetensors", "config.json", "preprocessor_config.json"}) fs::remove(folder / file);
    fs::remove(folder);
  }
  json_out.write({{"device", device}, {"shapes", rows}});
}

// --profile: self time per ATen operator for one batch-1 forward with attention maps.
void print_profile(const BenchModel& m, const std::string& device, Precision precision, int warmup, int iters, bool maps) {
  const InferenceSession session(m.loaded, {device, precision, false});
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

// --explain: each explanation map of the engine (the app's and `explain`'s path) on a forward
// kept on the device, in rounds that visit every method once (the host drifts between rounds),
// against the forward itself. Class maps explain a few-shot class of random weights.
void run_explain(const std::vector<BenchModel>& models, const std::string& device, Precision precision, int iters) {
  using Source = MapSpec::Source;
  const std::vector<std::pair<std::string, Source>> methods = {
      {"rollout", Source::Rollout},   {"grad-rollout", Source::GradRollout}, {"chefer", Source::Chefer},
      {"occlusion", Source::Occlusion}, {"similarity", Source::Similarity},  {"token-norms", Source::TokenNorm},
      {"pca", Source::Pca}};
  for (const BenchModel& m : models) {
    const InferenceSession session(m.loaded, {device, precision});
    const Analyzer analyzer(session);
    const PreparedImage image = prepare_image(flow_image(), session.preprocessor());
    const ViTMSNConfig& c = session.model().config();
    LinearHead head;
    head.classes = {"a", "b"};
    head.dim = static_cast<int>(c.hidden_size);
    const at::Tensor w = at::randn({2, c.hidden_size}, at::TensorOptions().dtype(at::kFloat));
    head.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    const PatchMask none(static_cast<int>(c.grid_size()), static_cast<int>(c.grid_size()));
    std::map<std::string, std::vector<double>> ms;
    for (int round = -1; round < iters; ++round) {  // round -1 warms up
      auto t = Clock::now();
      const auto state = analyzer.forward(image, none, MaskMode::DropTokens);
      if (round >= 0) ms["forward"].push_back(ms_since(t));
      for (const auto& [name, source] : methods) {
        MapSpec spec;
        spec.source = source;
        spec.target = {PredictionSource::FewShot, 1};
        t = Clock::now();
        analyzer.patch_map(*state, spec, head);
        if (round >= 0) ms[name].push_back(ms_since(t));
      }
      t = Clock::now();
      analyzer.attention_distance(*state);
      if (round >= 0) ms["distance"].push_back(ms_since(t));
    }
    const double forward = front_end::median(ms["forward"]);
    std::cout << m.name << ", " << to_string(precision) << ", " << session.device_name() << ", " << c.num_patches() << " patches, "
              << iters << " rounds (median ms, and in forward passes of the same image):\n";
    for (const std::string name : {"forward", "rollout", "grad-rollout", "chefer", "occlusion", "similarity", "token-norms", "pca", "distance"}) {
      const double med = front_end::median(ms[name]);
      std::cout << "  " << name << std::string(14 - name.size(), ' ') << fmt(med, "%9.1f") << " ms  " << fmt(med / forward, "%7.2f") << "x\n";
    }
  }
}

// What the tables say about the run as a whole.
struct Report {
  at::Device device;
  CpuKernels cpu;
  FmaPeak peak;
  int rounds, iters, warmup;
  bool no_reference;
  std::string reference_blas, ort_version, ort_missing;
  std::map<std::string, double> ort_max_diff;  // ORT's last_hidden_state against ours (fp32), by model
};

void print_header(const Report& r) {
  const std::string coretype = best_blas_coretype();
  const std::string blas = blas_kernels();
  std::cout << "\nmsnlens-bench on " << (r.device.is_cuda() ? "CUDA" : "CPU, " + std::to_string(available_cores()) + " cores")
            << "; " << r.rounds << " rounds of " << r.iters << " timed runs after " << r.warmup
            << " warm-up, interleaved, the faster round kept\n"
            << "CPU class: " << describe(r.cpu) << (r.cpu.cap.empty() ? ", a real CPU of this class" : ", emulated by the cap")
            << "\nFMA peak, measured now: " << fmt(r.peak.gflops, "%.0f") << " GFLOP/s float32 (" << r.peak.vector_bits << "-bit, "
            << r.peak.threads << " threads); %peak = GEMM GFLOP/s of a forward / this\n"
            << "MSN Lens: LibTorch float32 GEMMs on " << (blas.empty() ? "a BLAS other than OpenBLAS" : "OpenBLAS " + blas + " kernels")
            << (std::getenv("OPENBLAS_CORETYPE") ? std::string(" (OPENBLAS_CORETYPE=") + std::getenv("OPENBLAS_CORETYPE") + ")"
                                                  : " (OPENBLAS_CORETYPE not set)")
            << "\neager reference: PyTorch "
            << (r.no_reference ? "(skipped)"
                               : "eager, best of 1 and " + std::to_string(available_cores()) + " threads; float32 on OpenBLAS " +
                                     (r.reference_blas.empty() ? "?" : r.reference_blas) + " kernels" +
                                     (coretype.empty() ? "" : " (OPENBLAS_CORETYPE=" + coretype + " for it alone)") + ", bf16 on its oneDNN")
            << "\nONNX Runtime: ";
  if (r.ort_version.empty()) std::cout << "skipped" << (r.ort_missing.empty() ? "" : ": " + r.ort_missing);
  else
    std::cout << "onnxruntime-node " << r.ort_version << ", " << available_cores()
              << " intra-op threads, optimisation all, fp32 without attention outputs"
              << (r.cpu.cap.empty() ? "" : "; NOT capped (ORT picks its kernels from the CPU): its ratios are not this class's");
  for (const auto& [model, diff] : r.ort_max_diff) std::cout << "; " << model << " max|diff| " << fmt(diff, "%.1e");
  std::cout << "\n\n";
}

json print_table(const std::vector<Result>& results, const Report& report) {
  std::printf("%-38s %9s %9s %8s %9s %8s %6s %9s %10s %8s %11s %7s %9s\n", "case", "median ms", "p95 ms", "img/s", "kernels",
              "GFLOP/s", "%peak", "eager ms", "eager32 ms", "speedup", "vs eager32", "vs ORT", "max|diff|");
  json out = json::array();
  for (const Result& r : results) {
    const std::string eager = r.reference ? fmt(r.reference->median_ms) : "-";
    const std::string eager32 = r.reference_fp32 ? fmt(r.reference_fp32->median_ms) : "-";
    const std::string speedup = r.reference ? fmt(r.reference->median_ms / r.ours.median_ms, "%.1fx") : "-";
    const std::string vs32 = r.reference_fp32 ? fmt(r.reference_fp32->median_ms / r.ours.median_ms, "%.1fx") : "-";
    const std::string vs_ort = r.ort ? fmt(r.ort->median_ms / r.ours.median_ms, "%.2fx") : "-";
    const std::string diff = r.max_diff ? fmt(*r.max_diff, "%.1e") : "-";
    const bool fp32_cpu = r.c.precision == Precision::FP32 && !report.device.is_cuda() && report.peak.gflops > 0;
    const std::string of_peak = fp32_cpu ? fmt(100.0 * r.gflops / report.peak.gflops, "%.0f%%") : "-";
    const std::string kernels = r.kernels.rfind("oneDNN fused", 0) == 0 ? "fused" : "libtorch";
    std::printf("%-38s %9.2f %9.2f %8.1f %9s %8.0f %6s %9s %10s %8s %11s %7s %9s\n", r.c.name().c_str(), r.ours.median_ms,
                r.ours.p95_ms, r.images_per_s, kernels.c_str(), r.gflops, of_peak.c_str(), eager.c_str(), eager32.c_str(),
                speedup.c_str(), vs32.c_str(), vs_ort.c_str(), diff.c_str());
    json j = {{"case", r.c.name()}, {"model", r.c.model->name}, {"batch", r.c.batch}, {"precision", to_string(r.c.precision)},
              {"attentions", r.c.attentions}, {"masked", r.c.masked}, {"median_ms", r.ours.median_ms},
              {"p95_ms", r.ours.p95_ms}, {"images_per_s", r.images_per_s}, {"threads", r.threads}, {"kernels", r.kernels},
              {"gflops", r.gflops}};
    if (fp32_cpu) j["fraction_of_fma_peak"] = r.gflops / report.peak.gflops;
    if (r.reference) j["eager_median_ms"] = r.reference->median_ms, j["speedup"] = r.reference->median_ms / r.ours.median_ms;
    if (r.reference_fp32)
      j["eager_fp32_median_ms"] = r.reference_fp32->median_ms, j["speedup_vs_eager_fp32"] = r.reference_fp32->median_ms / r.ours.median_ms;
    if (r.ort) j["ort_median_ms"] = r.ort->median_ms, j["speedup_vs_ort"] = r.ort->median_ms / r.ours.median_ms;
    if (r.max_diff) j["max_abs_diff"] = *r.max_diff;
    out.push_back(j);
  }
  return out;
}

// The every-CPU targets (bs1, every map kept), met or missed, for each model measured.
void print_targets(const std::vector<Result>& results, const Report& report) {
  if (report.device.is_cuda()) return;
  auto find = [&](const std::string& model, Precision p, bool fused) -> const Result* {
    for (const Result& r : results)
      if (r.c.model->name == model && r.c.precision == p && r.c.fused == fused && r.c.batch == 1 && r.c.attentions && r.c.masked == 0)
        return &r;
    return nullptr;
  };
  auto verdict = [](double value, double target) { return value >= target ? "met" : "MISSED"; };
  const Precision fast = cpu_default_precision(report.cpu);
  std::cout << "\ntargets on " << cpu_class(report.cpu) << (report.cpu.cap.empty() ? "" : " (capped)") << ":\n";
  std::set<std::string> models;
  for (const Result& r : results) models.insert(r.c.model->name);
  for (const std::string& m : models) {
    const Result* fp32 = find(m, Precision::FP32, true);
    if (!fp32) continue;
    if (fp32->ort) {
      const double x = fp32->ort->median_ms / fp32->ours.median_ms;
      std::cout << "  " << m << " fp32 vs ORT fp32: " << fmt(x, "%.2fx") << " (>= 1.1x: " << verdict(x, 1.1) << ")\n";
    }
    if (report.peak.gflops > 0) {
      const double f = fp32->gflops / report.peak.gflops;
      std::cout << "  " << m << " fp32 of the FMA peak: " << fmt(100 * f, "%.0f%%") << " (>= 85%: " << verdict(f, 0.85) << ")\n";
    }
    if (const Result* best = find(m, fast, true); best && has_native_bf16(report.cpu.onednn) && best->ort) {
      const double x = best->ort->median_ms / best->ours.median_ms;
      std::cout << "  " << m << " " << to_string(fast) << " vs ORT fp32: " << fmt(x, "%.2fx") << " (>= 2.5x: " << verdict(x, 2.5) << ")\n";
    }
    if (report.cpu.onednn < Isa::Avx512Core) {
      if (const Result* lt = find(m, Precision::FP32, false)) {
        const double x = lt->ours.median_ms / fp32->ours.median_ms;
        std::cout << "  " << m << " AVX2 fp32 fused vs LibTorch layers: " << fmt(x, "%.2fx") << " (> 1x: " << verdict(x, 1.0001) << ")\n";
      }
      if (fp32->reference_fp32) {
        const double x = fp32->reference_fp32->median_ms / fp32->ours.median_ms;
        std::cout << "  " << m << " AVX2 fp32 fused vs tuned eager: " << fmt(x, "%.2fx") << " (>= 1.5x: " << verdict(x, 1.5) << ")\n";
      }
    }
  }
}

int run(int argc, char** argv) {
  CLI::App app{"msnlens-bench: engine latency beside PyTorch eager, same weights, same inputs"};
  std::string model_path, device = "cpu", json_out, python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  std::vector<std::string> models = {"small", "base"}, shapes;
  std::string flow_model, precision = "auto";
  int warmup = 3, iters = 20, flow_edits = 5, rounds = 3;
  bool cli_rss = false;
  bool no_reference = false, full = false, profile = false, profile_maps = false, explain = false;
  int gui_clicks = 30;
  std::string graphs = "both";
  app.add_option("--model", model_path, "also benchmark this checkpoint");
  app.add_option("--models", models, "random-weight shapes to run: small, base, large, base-4, large-7 (vit-s, vit-b)")->delimiter(',');
  app.add_option("--shapes", shapes, "the app's path at these released shapes: load, first result, mask edits, peak RSS")->delimiter(',');
  app.add_option("--flow-edits", flow_edits, "--shapes: mask edits timed per kind")->check(CLI::Range(1, 1000));
  app.add_flag("--cli-rss", cli_rss, "--shapes: also the peak RSS of msnlens-cli infer (fp32)");
  app.add_option("--flow", flow_model, "(internal) run the Workbench flow on this model folder and print one JSON line");
  app.add_option("--precision", precision, "--shapes / --flow: auto, fp32, bf16 or fp16");
  app.add_option("--device", device, "cpu, cuda or auto");
  app.add_option("--warmup", warmup, "untimed runs per case")->check(CLI::Range(0, 1000));
  app.add_option("--iters", iters, "timed runs per case and round")->check(CLI::Range(1, 100000));
  app.add_option("--rounds", rounds, "rounds over every case (ours, then the reference), the faster kept")->check(CLI::Range(1, 100));
  app.add_option("--json", json_out, "write the results here (\"-\": standard output, everything else to stderr)");
  app.add_option("--python", python, "Python with torch for the eager reference");
  app.add_flag("--no-reference", no_reference, "skip the PyTorch eager reference");
  app.add_flag("--full", full, "every combination instead of the standard cases");
  app.add_flag("--profile", profile, "only print where a batch-1 forward spends its time, per operator");
  app.add_flag("--explain", explain, "only time each explanation map (--models; fastest precision unless --precision)");
  app.add_flag("--profile-maps", profile_maps, "--profile a forward that returns every attention map");
  app.add_option("--cuda-graphs", graphs, "on CUDA: on, off or both (--shapes: on or off)")->check(CLI::IsMember({"on", "off", "both"}));
  app.add_option("--gui-clicks", gui_clicks, "patch toggles for the app's click-to-repaint measure (0: skip)");
  bool no_ort = false;
  app.add_flag("--no-ort", no_ort, "skip the ONNX Runtime anchor");
  CLI11_PARSE(app, argc, argv);
  if (!flow_model.empty()) return run_flow(flow_model, device, precision, flow_edits, graphs == "on");
  const JsonOut results_out(json_out);

  const fs::path dir = fs::temp_directory_path() / ("msnlens-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<BenchModel> bench_models;
  if (!shapes.empty()) {
    run_shapes(shapes, device, precision, graphs == "on", flow_edits, gui_clicks, cli_rss, dir, results_out);
    remove_scratch(dir);
    return 0;
  }
  std::uint64_t seed = 0;
  for (const auto& m : models) {
    const ReleasedShape& shape = released_shape(m);
    bench_models.push_back(random_model(shape.title, shape.config, seed++, dir));
  }
  if (!model_path.empty()) bench_models.push_back({fs::path(model_path).filename().string(), load_model(model_path), {}});

  const at::Device dev = resolve_device(device);
  const Precision fast = default_precision(dev);
  if (profile) {
    for (const auto& m : bench_models) print_profile(m, device, fast, warmup, iters, profile_maps);
    remove_scratch(dir);
    return 0;
  }
  if (explain) {
    const std::optional<Precision> chosen = parse_precision_option(precision);
    run_explain(bench_models, device, chosen.value_or(fast), iters);
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
            for (const bool graph : graph_modes)
              for (const bool fused : {true, false}) {
                if (!fused && dev.is_cuda()) continue;
                const Case c{&m, batch, p, attn, masked, graph, fused};
                // The standard set varies one knob at a time: on the CPU from batch 1 with attention
                // maps, unmasked, each precision on both kernel paths; on CUDA every batch and
                // precision without maps (the fused path).
                const int changed = (batch != 1) + (!attn) + (masked > 0);
                const bool standard = dev.is_cuda() ? (masked == 0 && (!attn || batch == 1))
                                                    : (changed == 0 || (changed == 1 && p == fast && fused));
                if (full || standard) cases.push_back(c);
              }
  }

  std::vector<Result> results;
  std::vector<std::optional<Stats>> best_ours(cases.size());
  std::vector<std::unique_ptr<InferenceSession>> sessions;
  std::vector<Inputs> inputs;
  json job = {{"device", dev.str()}, {"cases", json::array()}, {"threads", {1, available_cores()}}};
  std::vector<at::Tensor> outputs(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    sessions.push_back(std::make_unique<InferenceSession>(cases[i].model->loaded, session_options(cases[i], device)));
    // A LibTorch case follows its fused twin and runs the twin's inputs, so that both compare
    // with the one reference.
    const bool twin = i > 0 && cases[i].name() == cases[i - 1].name() + " libtorch";
    inputs.push_back(twin ? inputs[i - 1] : make_inputs(cases[i], dir, static_cast<int>(i)));
    if (cases[i].model->weights.empty() || !cases[i].fused) continue;  // one reference per precision
    const ViTMSNConfig& cfg = cases[i].model->loaded.model->config();
    for (const Precision p : {cases[i].precision, Precision::FP32}) {
      const std::string name = cases[i].name() + (p == cases[i].precision ? "" : " [fp32 ref]");
      job["cases"].push_back({{"name", name},
                              {"weights", cases[i].model->weights.string()},
                              {"inputs", inputs[i].file.string()},
                              {"output", (dir / ("ref" + std::to_string(i) + ".safetensors")).string()},
                              {"config", cfg.to_json()},
                              {"precision", to_string(p)},
                              {"attentions", cases[i].attentions},
                              {"warmup", warmup},
                              {"iters", iters}});
      if (cases[i].precision == Precision::FP32) break;
    }
  }
  // The anchor: ORT fp32 on the batch-1 unmasked input of each model, without maps (its fastest).
  bench::OrtAnchor ort(python, dir);
  if (!no_ort && !dev.is_cuda() && ort.available()) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      if (c.model->weights.empty() || !c.fused || c.batch != 1 || c.masked > 0 || !c.attentions || c.precision != Precision::FP32) continue;
      ort.add(c.model->name + " ORT", c.model->weights, c.model->loaded.model->config().to_json(), inputs[i].file, warmup, iters);
    }
  }
  const CpuKernels cpu = cpu_kernels();
  // Rounds over every case, ours then the references, so that all see the same drift of this
  // shared host; each case keeps its faster round, and the FMA peak its highest (probed in
  // every round: one probe that a busy moment slows would credit the GEMMs with over 100 %).
  FmaPeak peak;
  std::map<std::string, std::optional<Stats>> best_reference, best_ort;
  std::map<std::string, double> ort_max_diff;  // by model
  std::string reference_blas, ort_version;
  for (int round = 0; round < rounds; ++round) {
    std::cerr << "round " << round + 1 << "/" << rounds << "\n";
    if (const FmaPeak probe = measure_fma_peak(cpu, available_cores()); probe.gflops > peak.gflops) peak = probe;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      Result r = run_case(cases[i], *sessions[i], inputs[i], warmup, iters, outputs[i]);
      std::cerr << "  " << cases[i].name() << ": " << fmt(r.ours.median_ms) << " ms\n";
      keep_faster(best_ours[i], r.ours);
      if (round == 0) results.push_back(r);
    }
    if (!ort.empty()) {
      std::cerr << "  ONNX Runtime...\n";
      for (const auto& [name, j] : ort.run(available_cores())) {
        keep_faster(best_ort[name], Stats{j["median_ms"], j["p95_ms"]});
        ort_version = j.value("ort_version", "");
      }
    }
    if (no_reference || job["cases"].empty()) continue;
    std::cerr << "  the PyTorch eager reference (" << python << ")...\n";
    for (const auto& [name, j] : run_reference(python, job, dir)) {
      keep_faster(best_reference[name], Stats{j["median_ms"], j["p95_ms"]});
      reference_blas = j.value("blas", "");
    }
  }
  sessions.clear();
  for (std::size_t i = 0; i < results.size(); ++i) {
    Result& r = results[i];
    r.ours = *best_ours[i];
    r.images_per_s = 1000.0 * r.c.batch / r.ours.median_ms;
    Case same = r.c;
    same.fused = true;  // the reference ran once per precision, under the fused case's name
    const std::string name = same.name();
    if (auto it = best_reference.find(name); it != best_reference.end()) {
      r.reference = it->second;
      for (std::size_t k = 0; k < cases.size(); ++k)
        if (cases[k].name() == name) {
          const at::Tensor theirs = read_safetensors(dir / ("ref" + std::to_string(k) + ".safetensors")).tensors.at("last_hidden_state");
          r.max_diff = (theirs - outputs[i]).abs().max().item<double>();
        }
    }
    if (auto it = best_reference.find(r.c.precision == Precision::FP32 ? name : name + " [fp32 ref]"); it != best_reference.end())
      r.reference_fp32 = it->second;
  }

  // ORT's ratio is against every batch-1 unmasked case of its model; its output against ours.
  for (std::size_t i = 0; i < results.size(); ++i) {
    Result& r = results[i];
    r.gflops = forward_flops(r.c.model->loaded.model->config(), r.c.batch, r.c.masked) / (r.ours.median_ms * 1e6);
    const std::string name = r.c.model->name + " ORT";
    if (auto it = best_ort.find(name); it != best_ort.end() && r.c.batch == 1 && r.c.masked == 0) {
      r.ort = it->second;
      if (r.c.precision == Precision::FP32 && r.c.fused && r.c.attentions)
        ort_max_diff[r.c.model->name] =
            (read_safetensors(ort.output(name)).tensors.at("last_hidden_state") - outputs[i]).abs().max().item<double>();
    }
  }
  const Report report{dev, cpu, peak, rounds, iters, warmup, no_reference, reference_blas, ort_version, ort.why_not(), ort_max_diff};
  print_header(report);
  const json out = print_table(results, report);
  print_targets(results, report);
  std::cout << std::flush;
  std::string gui;
  if (gui_clicks > 0 && !dev.is_cuda()) {
    const fs::path model = dir / "vit-msn-small";
    write_random_checkpoint(released_shape("small"), model);
    if (const auto run = measure_gui(model, gui_clicks)) gui = run->out;
    for (const char* file : {"model.safetensors", "config.json", "preprocessor_config.json"}) fs::remove(model / file);
    fs::remove(model);
  }
  if (!gui.empty()) std::cout << "\nthe app, ViT-S/16 (random weights), " << gui << "\n";
  results_out.write({{"device", dev.str()}, {"cores", available_cores()}, {"blas_kernels", blas_kernels()},
                     {"cpu_class", cpu_class(cpu)}, {"cpu_kernels", describe(cpu)}, {"isa_cap", cpu.cap},
                     {"onednn_isa", isa_name(cpu.onednn)}, {"fma_peak_gflops", peak.gflops}, {"fma_peak_bits", peak.vector_bits},
                     {"reference_blas_kernels", reference_blas}, {"ort_version", ort_version}, {"ort_max_abs_diff", ort_max_diff},
                     {"cases", out}, {"app_click_to_repaint", gui}});
  remove_scratch(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  msnlens::front_end::use_fast_blas_kernels(argv);
  return msnlens::front_end::guarded_main("msnlens-bench", [&] { return run(argc, argv); });
}
