#pragma once
// The speed anchor: ONNX Runtime's CPU library (npm onnxruntime-node, scripts/ort) on the same
// ViT, exported to ONNX without attention outputs (scripts/export_onnx.py), timed in the same
// rounds as MSN Lens. ORT picks its kernels from the CPU itself: an ISA cap does not reach it.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace msnlens::bench {

class OrtAnchor {
 public:
  // Finds node and scripts/ort/node_modules; available() says whether both are there.
  OrtAnchor(std::string python, std::filesystem::path scratch);
  bool available() const { return why_not_.empty(); }
  // How to get it when it is not available (scripts/install-bench-deps.sh).
  const std::string& why_not() const { return why_not_; }

  // A case: `weights` (safetensors, as the eager reference reads them) exported once per file;
  // `inputs` a safetensors file with float32 pixel_values at batch 1. Its last_hidden_state is
  // written to output(name).
  void add(const std::string& name, const std::filesystem::path& weights, const nlohmann::json& config,
           const std::filesystem::path& inputs, int warmup, int iters);
  std::filesystem::path output(const std::string& name) const;
  bool empty() const { return cases_.empty(); }

  // One round over every case on `threads` intra-op threads: result lines by case name
  // ({"median_ms", "p95_ms", "ort_version"}).
  std::map<std::string, nlohmann::json> run(int threads) const;

 private:
  std::string python_, node_;
  std::filesystem::path scratch_, script_;
  std::string why_not_;
  std::map<std::string, std::filesystem::path> exported_;  // weights file -> ONNX graph
  nlohmann::json cases_ = nlohmann::json::array();
};

}  // namespace msnlens::bench
