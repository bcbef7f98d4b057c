#pragma once
// What msnlens-bench's modes share: random-weight models in the released shapes, timing
// summaries, the --json destination, a scratch folder that cleans itself, child processes with
// their peak memory, and the app's own click-to-repaint measure.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/model_loader.h"
#include "imaging/rgb_image.h"
#include "model/vit_msn_config.h"

namespace msnlens::bench {

namespace fs = std::filesystem;
using nlohmann::json;

// Everything the bench's command line sets; each mode reads its own part.
struct Options {
  std::string model_path;                             // --model: also this checkpoint
  std::vector<std::string> models = {"small", "base"};  // --models: random-weight shapes
  std::vector<std::string> shapes;                    // --shapes: the app's path at these sizes
  std::string device = "cpu", precision = "auto", graphs = "both", json_out, python, flow_model;
  int warmup = 3, iters = 20, rounds = 3, flow_edits = 5, gui_clicks = 30;
  bool cli_rss = false, no_reference = false, no_ort = false, full = false, profile = false, profile_maps = false, explain = false;
};

struct BenchModel {
  std::string name;
  LoadedModel loaded;
  fs::path weights;  // safetensors for the reference; empty when it cannot be given one
};
// Random weights in `config`'s shape, also written as safetensors under `dir` for the references.
BenchModel random_model(const std::string& name, const ViTMSNConfig& config, std::uint64_t seed, const fs::path& dir);

struct Stats {
  double median_ms = 0, p95_ms = 0;
};
Stats summarize(const std::vector<double>& ms);
// The faster of two measurements of one case: on a shared host, the slower one measured the neighbours.
void keep_faster(std::optional<Stats>& best, const Stats& s);
std::string fmt(double v, const char* f = "%.2f");

// The multiply-adds of a forward, 2 FLOP each: patch embedding, then per layer QKV, q·kᵀ, p·v,
// the output projection and the MLP, on the tokens the case keeps. Softmax, LayerNorm and GELU
// are not counted: the rate is the GEMMs', comparable with the FMA peak.
double forward_flops(const ViTMSNConfig& c, int batch, double masked);

// A photo-sized test image (the flow needs no decoder): gradients and stripes.
RgbImage flow_image();

// Where --json goes. "-" means stdout, for pipes: the results alone there, so everything else
// the bench prints (tables, progress) moves to stderr from the start.
class JsonOut {
 public:
  explicit JsonOut(std::string path);
  void write(const json& results) const;

 private:
  std::string path_;
  int stdout_fd_ = -1;
};

// A scratch folder for one run (under the temporary directory), removed with everything in it
// when the run ends, by an error too.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A child process's output, exit status and peak resident memory.
struct ChildRun {
  int status = -1;
  std::string out;
  double peak_rss_mb = 0;
  double seconds = 0;
};
ChildRun run_child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
// A program installed beside this one.
fs::path sibling(const std::string& name);

// The app's own measure (msnlens --benchmark-clicks, offscreen): a patch toggled through the
// mouse path until the new overlay is painted. `measures` is what the app wrote with
// --benchmark-json (click_to_repaint_p50_ms, edit_to_result_p50_ms, ...). Needs the msnlens binary
// beside this one; nullopt without it.
struct AppRun {
  ChildRun run;
  json measures;
};
std::optional<AppRun> measure_gui(const fs::path& model, int clicks, const fs::path& scratch);

}  // namespace msnlens::bench
