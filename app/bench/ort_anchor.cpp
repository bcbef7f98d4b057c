#include "ort_anchor.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "build_config.h"
#include "common/error.h"
#include "common/json_file.h"

namespace msnlens::bench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// An executable on PATH, or "".
std::string on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && fs::exists(fs::path(dir) / program)) return (fs::path(dir) / program).string();
  return {};
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

OrtAnchor::OrtAnchor(std::string python, fs::path scratch)
    : python_(std::move(python)), node_(on_path("node")), scratch_(std::move(scratch)),
      script_(fs::path(MSNLENS_SOURCE_DIR) / "scripts" / "ort" / "ort_reference.js") {
  if (node_.empty()) why_not_ = "no node on PATH";
  else if (!fs::exists(script_.parent_path() / "node_modules" / "onnxruntime-node"))
    why_not_ = "onnxruntime-node is not installed in scripts/ort";
  if (!why_not_.empty()) why_not_ += " (scripts/install-bench-deps.sh installs it)";
}

void OrtAnchor::add(const std::string& name, const fs::path& weights, const json& config, const fs::path& inputs,
                    int warmup, int iters) {
  auto [it, fresh] = exported_.try_emplace(weights.string(), scratch_ / ("ort" + std::to_string(exported_.size()) + ".onnx"));
  if (fresh) {
    const fs::path config_file = it->second.string() + ".config.json";
    write_json_file(config_file, config);
    const fs::path script = fs::path(MSNLENS_SOURCE_DIR) / "scripts" / "export_onnx.py";
    const std::string command = python_ + " " + quoted(script.string()) + " " + quoted(weights.string()) + " " +
                                quoted(config_file.string()) + " " + quoted(it->second.string()) + " > /dev/null 2>&1";
    if (std::system(command.c_str()) != 0) fail(script.string(), "cannot export " + weights.string() + " to ONNX");
  }
  const fs::path out = scratch_ / ("ort-out" + std::to_string(cases_.size()) + ".safetensors");
  cases_.push_back({{"name", name}, {"onnx", it->second.string()}, {"inputs", inputs.string()},
                    {"output", out.string()}, {"warmup", warmup}, {"iters", iters}});
}

fs::path OrtAnchor::output(const std::string& name) const {
  for (const json& c : cases_)
    if (c["name"] == name) return c["output"].get<std::string>();
  fail("ONNX Runtime", "no case named " + name);
}

std::map<std::string, json> OrtAnchor::run(int threads) const {
  const fs::path job_file = scratch_ / "ort-job.json";
  write_json_file(job_file, {{"threads", threads}, {"cases", cases_}});
  const std::string command = node_ + " " + quoted(script_.string()) + " < " + quoted(job_file.string());
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) fail(node_, "cannot start ONNX Runtime");
  std::map<std::string, json> out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    try {
      const json j = json::parse(line);
      out[j["name"].get<std::string>()] = j;
    } catch (const json::exception&) {
      std::cerr << "  ORT: " << line;
    }
  }
  if (pclose(pipe) != 0) std::cerr << "msnlens-bench: ONNX Runtime failed; its ratios are missing\n";
  return out;
}

}  // namespace msnlens::bench
