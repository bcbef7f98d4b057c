#pragma once
// A loaded model placed on a device at a precision, with its preprocessing: the one object
// the engine's front ends drive. run() returns CPU float32; forward() leaves outputs on the
// device for callers that reduce them there (engine/analyzer.h).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/predictions.h"
#include "engine/cpu_threads.h"
#include "engine/model_loader.h"
#include "engine/precision_choice.h"
#include "imaging/rgb_image.h"

namespace msnlens {

struct SessionOptions {
  std::string device = "auto";          // "auto" (CUDA when available), "cpu", "cuda", "cuda:N"
  std::optional<Precision> precision;   // unset: default_precision(device)
  // Replay forwards as CUDA graphs (CUDA builds only). Off unless asked for, as in
  // WorkbenchOptions: a graph pays off only for shapes that repeat, and masks change them.
  bool cuda_graphs = false;
  bool fused_cpu = true;                // the fused oneDNN encoder on the CPU, where this build has it
};

class CudaGraphCache;

class InferenceSession {
 public:
  // Throws Error when the device is unavailable or the precision unavailable there
  // (require_precision).
  InferenceSession(LoadedModel loaded, const SessionOptions& options = {});

  const ViTMSNModel& model() const { return *loaded_.model; }
  const LoadedModel& loaded() const { return loaded_; }
  const PreprocessorConfig& preprocessor() const { return loaded_.preprocessor; }
  at::Device device() const { return model().device(); }
  Precision precision() const { return model().precision(); }
  // "NVIDIA H100 80GB HBM3" or "CPU, 2 threads".
  std::string device_name() const;
  // What runs the encoder layers: "oneDNN fused (brg:avx512_core_bf16)", or "LibTorch", why
  // the fused kernels are not in use and, for float32, which OpenBLAS kernels it gets.
  std::string kernels() const;

  // The OpenMP and OpenBLAS widths this session's kernels want (its precision, fused or not),
  // for the front end to apply (apply_cpu_threads) when this is the model it runs: constructing
  // a session leaves the process's pools alone, so a second model (the app's comparison) does
  // not re-width the first's.
  CpuThreads cpu_threads() const;

  // What ranks this model's read-outs: its classifier's labels, its prototypes, and `few_shot`.
  Predictor predictor(const LinearHead& few_shot = {}) const;

  // [1, 3, H, W] float32 on the CPU.
  at::Tensor preprocess(const RgbImage& image) const { return msnlens::preprocess(image, preprocessor()); }
  // Outputs on the host, float32.
  ModelOutput run(const at::Tensor& pixel_values, const ForwardOptions& options = {}) const;
  // Outputs on the session's device, float32, owned by the caller (not by a CUDA graph).
  ModelOutput forward(const at::Tensor& pixel_values, const ForwardOptions& options = {}) const;

  ~InferenceSession();
  InferenceSession(InferenceSession&&) noexcept;
  InferenceSession& operator=(InferenceSession&&) noexcept;

 private:
  LoadedModel loaded_;
  std::string unfused_reason_;
  // Captured graphs are a cache: filling it does not change what run() returns.
  mutable std::unique_ptr<CudaGraphCache> graphs_;
};

// Resolves "auto" / "cpu" / "cuda[:N]" against what this LibTorch and machine offer.
at::Device resolve_device(const std::string& name);

}  // namespace msnlens
