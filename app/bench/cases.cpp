#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "build_config.h"
#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "common/json_file.h"
#include "engine/cpu_threads.h"
#include "engine/inference_session.h"
#include "front_end.h"
#include "kernels/fma_peak.h"
#include "model/random_init.h"
#include "modes.h"
#include "ort_anchor.h"

namespace msnlens::bench {
namespace {

using front_end::Clock;
using front_end::ms_since;

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
  const CpuThreads threads = cpu ? session.cpu_threads() : CpuThreads{};
  if (cpu) apply_cpu_threads(threads);
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

}  // namespace

int run_cases(const Options& o, const std::vector<BenchModel>& models, const fs::path& scratch, const JsonOut& out_json) {
  const at::Device dev = resolve_device(o.device);
  const Precision fast = default_precision(dev);
  std::vector<Case> cases;
  std::vector<bool> graph_modes = {false};
  if (dev.is_cuda()) graph_modes = o.graphs == "both" ? std::vector<bool>{false, true} : std::vector<bool>{o.graphs == "on"};
  for (const auto& m : models) {
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
                if (o.full || standard) cases.push_back(c);
              }
  }

  std::vector<Result> results;
  std::vector<std::optional<Stats>> best_ours(cases.size());
  std::vector<std::unique_ptr<InferenceSession>> sessions;
  std::vector<Inputs> inputs;
  json job = {{"device", dev.str()}, {"cases", json::array()}, {"threads", {1, available_cores()}}};
  std::vector<at::Tensor> outputs(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    sessions.push_back(std::make_unique<InferenceSession>(cases[i].model->loaded, session_options(cases[i], o.device)));
    // A LibTorch case follows its fused twin and runs the twin's inputs, so that both compare
    // with the one reference.
    const bool twin = i > 0 && cases[i].name() == cases[i - 1].name() + " libtorch";
    inputs.push_back(twin ? inputs[i - 1] : make_inputs(cases[i], scratch, static_cast<int>(i)));
    if (cases[i].model->weights.empty() || !cases[i].fused) continue;  // one reference per precision
    const ViTMSNConfig& cfg = cases[i].model->loaded.model->config();
    for (const Precision p : {cases[i].precision, Precision::FP32}) {
      const std::string name = cases[i].name() + (p == cases[i].precision ? "" : " [fp32 ref]");
      job["cases"].push_back({{"name", name},
                              {"weights", cases[i].model->weights.string()},
                              {"inputs", inputs[i].file.string()},
                              {"output", (scratch / ("ref" + std::to_string(i) + ".safetensors")).string()},
                              {"config", cfg.to_json()},
                              {"precision", to_string(p)},
                              {"attentions", cases[i].attentions},
                              {"warmup", o.warmup},
                              {"iters", o.iters}});
      if (cases[i].precision == Precision::FP32) break;
    }
  }
  // The anchor: ORT fp32 on the batch-1 unmasked input of each model, without maps (its fastest).
  bench::OrtAnchor ort(o.python, scratch);
  if (!o.no_ort && !dev.is_cuda() && ort.available()) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      if (c.model->weights.empty() || !c.fused || c.batch != 1 || c.masked > 0 || !c.attentions || c.precision != Precision::FP32) continue;
      ort.add(c.model->name + " ORT", c.model->weights, c.model->loaded.model->config().to_json(), inputs[i].file, o.warmup, o.iters);
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
  for (int round = 0; round < o.rounds; ++round) {
    std::cerr << "round " << round + 1 << "/" << o.rounds << "\n";
    if (const FmaPeak probe = measure_fma_peak(cpu, available_cores()); probe.gflops > peak.gflops) peak = probe;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      Result r = run_case(cases[i], *sessions[i], inputs[i], o.warmup, o.iters, outputs[i]);
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
    if (o.no_reference || job["cases"].empty()) continue;
    std::cerr << "  the PyTorch eager reference (" << o.python << ")...\n";
    for (const auto& [name, j] : run_reference(o.python, job, scratch)) {
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
          const at::Tensor theirs = read_safetensors(scratch / ("ref" + std::to_string(k) + ".safetensors")).tensors.at("last_hidden_state");
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
  const Report report{dev, cpu, peak, o.rounds, o.iters, o.warmup, o.no_reference, reference_blas, ort_version, ort.why_not(), ort_max_diff};
  print_header(report);
  const json out = print_table(results, report);
  print_targets(results, report);
  std::cout << std::flush;
  std::string gui;
  json gui_measures;
  if (o.gui_clicks > 0 && !dev.is_cuda()) {
    const fs::path model = scratch / "vit-msn-small";
    write_random_checkpoint(released_shape("small"), model);
    if (const auto app = measure_gui(model, o.gui_clicks, scratch)) gui = app->run.out, gui_measures = app->measures;
  }
  if (!gui.empty()) std::cout << "\nthe app, ViT-S/16 (random weights), " << gui << "\n";
  out_json.write({{"device", dev.str()}, {"cores", available_cores()}, {"blas_kernels", blas_kernels()},
                     {"cpu_class", cpu_class(cpu)}, {"cpu_kernels", describe(cpu)}, {"isa_cap", cpu.cap},
                     {"onednn_isa", isa_name(cpu.onednn)}, {"fma_peak_gflops", peak.gflops}, {"fma_peak_bits", peak.vector_bits},
                     {"reference_blas_kernels", reference_blas}, {"ort_version", ort_version}, {"ort_max_abs_diff", ort_max_diff},
                     {"cases", out}, {"app_click_to_repaint", gui}, {"app", gui_measures}});
  return 0;
}

}  // namespace msnlens::bench
