#include "bench_support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "build_config.h"
#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "common/json_file.h"
#include "front_end.h"
#include "model/random_init.h"

namespace msnlens::bench {

using front_end::Clock;

BenchModel random_model(const std::string& name, const ViTMSNConfig& config, std::uint64_t seed, const fs::path& dir) {
  const TensorMap weights = random_weights(config, seed);
  LoadedModel loaded{std::make_shared<ViTMSNModel>(config, weights, name), PreprocessorConfig::imagenet(224), {}};
  loaded.summary.path = name;
  const fs::path file = dir / (name.substr(0, name.find('/')) + ".safetensors");
  write_safetensors(file, {weights.begin(), weights.end()});
  return {name, std::move(loaded), file};
}

Stats summarize(const std::vector<double>& ms) { return {front_end::median(ms), front_end::percentile(ms, 0.95)}; }

void keep_faster(std::optional<Stats>& best, const Stats& s) {
  if (!best || s.median_ms < best->median_ms) best = s;
}

std::string fmt(double v, const char* f) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

double forward_flops(const ViTMSNConfig& c, int batch, double masked) {
  const double patches = static_cast<double>(c.num_patches());
  const double t = 1 + static_cast<double>(static_cast<std::int64_t>(patches * (1.0 - masked)));
  const double d = static_cast<double>(c.hidden_size), inner = static_cast<double>(c.intermediate_size);
  const double embed = patches * static_cast<double>(c.num_channels * c.patch_size * c.patch_size) * d;
  const double layer = t * d * 3 * d + 2 * t * t * d + t * d * d + 2 * t * d * inner;
  return 2.0 * batch * (embed + static_cast<double>(c.num_hidden_layers) * layer);
}

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

JsonOut::JsonOut(std::string path) : path_(std::move(path)) {
  if (path_ != "-") return;
  std::fflush(stdout);
  std::cout.flush();
  stdout_fd_ = dup(STDOUT_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
}

void JsonOut::write(const json& results) const {
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

namespace {

// Entry by entry rather than fs::remove_all, which crashed (SIGSEGV) when built with a newer GCC
// than the libstdc++ the GPU machine ran it with.
void remove_tree(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::vector<fs::directory_entry>(fs::directory_iterator(dir, ec), {})) {
    if (entry.is_directory() && !entry.is_symlink()) remove_tree(entry.path());
    else fs::remove(entry.path(), ec);
  }
  fs::remove(dir, ec);
}

}  // namespace

ScratchDir::ScratchDir() : path_(fs::temp_directory_path() / ("msnlens-bench-" + std::to_string(::getpid()))) {
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() { remove_tree(path_); }

ChildRun run_child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
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

std::optional<AppRun> measure_gui(const fs::path& model, int clicks, const fs::path& scratch) {
  const fs::path app = sibling("msnlens");
  if (!fs::exists(app)) return std::nullopt;
  const fs::path measures = scratch / "app-measures.json";
  AppRun out;
  out.run = run_child({app.string(), "--model", model.string(), (fs::path(MSNLENS_SOURCE_DIR) / "resources/images/chelsea.png").string(),
                       "--benchmark-clicks", std::to_string(clicks), "--benchmark-json", measures.string()},
                      {"QT_QPA_PLATFORM=offscreen"});
  if (out.run.status == 0 && fs::exists(measures)) out.measures = read_json_file(measures);
  return out;
}

}  // namespace msnlens::bench
