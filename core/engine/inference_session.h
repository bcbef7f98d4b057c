#pragma once
// A loaded model placed on a device at a precision, with its preprocessing: the one object
// front ends (CLI, app worker, bench) drive. Outputs always come back as CPU float32.

#include <string>
#include <vector>

#include "engine/model_loader.h"
#include "imaging/rgb_image.h"

namespace msnlens {

struct SessionOptions {
  std::string device = "auto";  // "auto" (CUDA when available), "cpu", "cuda", "cuda:N"
  Precision precision = Precision::FP32;
};

struct Prediction {
  std::int64_t index = 0;
  std::string label;
  double score = 0.0;  // softmax probability
};

class InferenceSession {
 public:
  // Throws Error when the device is unavailable or the precision unsupported there.
  InferenceSession(LoadedModel loaded, const SessionOptions& options = {});

  const ViTMSNModel& model() const { return *loaded_.model; }
  const LoadedModel& loaded() const { return loaded_; }
  const PreprocessorConfig& preprocessor() const { return loaded_.preprocessor; }
  at::Device device() const { return model().device(); }
  Precision precision() const { return model().precision(); }
  // "NVIDIA H100 80GB HBM3" or "CPU, 2 threads".
  std::string device_name() const;

  // [1, 3, H, W] float32 on the CPU.
  at::Tensor preprocess(const RgbImage& image) const { return msnlens::preprocess(image, preprocessor()); }
  ModelOutput run(const at::Tensor& pixel_values, const ForwardOptions& options = {}) const;

 private:
  LoadedModel loaded_;
};

// The k most probable classes of one row of logits, labelled from the config's id2label.
std::vector<Prediction> top_k(const at::Tensor& logits, std::int64_t k, const ViTMSNConfig& config);

// Resolves "auto" / "cpu" / "cuda[:N]" against what this LibTorch and machine offer.
at::Device resolve_device(const std::string& name);

}  // namespace msnlens
