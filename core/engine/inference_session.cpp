#include "engine/inference_session.h"

#include <ATen/Parallel.h>

#ifdef MSNLENS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "engine/cuda_graphs.h"
#else
namespace msnlens {
class CudaGraphCache {};  // CUDA graphs need LibTorch's CUDA API
}  // namespace msnlens
#endif

#include "common/error.h"
#include "common/torch_compat.h"
#include "engine/cpu_threads.h"

namespace msnlens {

at::Device resolve_device(const std::string& name) {
  if (name == "auto") return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (name == "cpu") return at::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!at::hasCUDA()) fail("device", "CUDA requested, but this build of LibTorch has no CUDA or no GPU is visible");
    try {
      at::Device d(name);
      if (!d.has_index()) d.set_index(0);
      return d;
    } catch (const c10::Error&) {
      fail("device", "\"" + name + "\" is not a device (use auto, cpu, cuda or cuda:N)");
    }
  }
  fail("device", "\"" + name + "\" is not a device (use auto, cpu, cuda or cuda:N)");
}

InferenceSession::InferenceSession(LoadedModel loaded, const SessionOptions& options) : loaded_(std::move(loaded)) {
  const at::Device device = resolve_device(options.device);
  const Precision precision = options.precision.value_or(default_precision(device));
  require_precision(device, precision);
  // A private copy: moving it to a device or precision must not touch the caller's model,
  // which may serve other sessions (the copy shares weights until `to` replaces them).
  loaded_.model = std::make_shared<ViTMSNModel>(*loaded_.model);
  loaded_.model->to(device, precision);
  if (device.is_cuda()) {
    avoid_per_shape_attention_plans();
  } else {
    unfused_reason_ = options.fused_cpu ? loaded_.model->use_fused_cpu() : "LibTorch kernels requested";
  }
#ifdef MSNLENS_WITH_CUDA
  if (device.is_cuda() && options.cuda_graphs) graphs_ = std::make_unique<CudaGraphCache>(loaded_.model);
#endif
}

InferenceSession::~InferenceSession() = default;
InferenceSession::InferenceSession(InferenceSession&&) noexcept = default;
InferenceSession& InferenceSession::operator=(InferenceSession&&) noexcept = default;

std::string InferenceSession::device_name() const {
#ifdef MSNLENS_WITH_CUDA
  if (device().is_cuda()) return at::cuda::getDeviceProperties(device().index())->name;
#endif
  if (device().is_cuda()) return "CUDA device " + std::to_string(device().index());
  return "CPU, " + std::to_string(available_cores()) + (available_cores() == 1 ? " core" : " cores");
}

std::string InferenceSession::kernels() const {
  if (const FusedCpuEncoder* fused = model().fused_cpu()) return "oneDNN fused (" + fused->kernels() + ")";
  if (device().is_cuda()) return "LibTorch";
  const std::string blas = blas_kernels();
  const bool on_blas = precision() == Precision::FP32 && !blas.empty();
  return "LibTorch (" + unfused_reason_ + ")" + (on_blas ? "; float32 GEMMs on OpenBLAS " + blas + " kernels" : "");
}

ModelOutput InferenceSession::forward(const at::Tensor& pixel_values, const ForwardOptions& options) const {
#ifdef MSNLENS_WITH_CUDA
  if (graphs_) {
    // A graph's outputs are its static buffers, rewritten by the next replay.
    ModelOutput out = graphs_->run(pixel_values.to(device(), at::kFloat), model().prepare(pixel_values, options));
    for_each_tensor(out, [](at::Tensor& t) { t = t.clone(); });
    return out;
  }
#endif
  return model().forward(pixel_values, options);
}

ModelOutput InferenceSession::run(const at::Tensor& pixel_values, const ForwardOptions& options) const {
  ModelOutput out = forward(pixel_values, options);
  for_each_tensor(out, [](at::Tensor& t) { t = t.to(at::kCPU, at::kFloat); });
  return out;
}

CpuThreads InferenceSession::cpu_threads() const {
  if (device().is_cuda()) return {};
  return threads_for(precision(), available_cores(), model().fused_cpu() != nullptr);
}

Predictor InferenceSession::predictor(const LinearHead& few_shot) const {
  std::vector<std::string> labels;
  for (std::int64_t i = 0; i < model().num_labels(); ++i) labels.push_back(model().config().label(i));
  return Predictor(std::move(labels), static_cast<int>(model().num_prototypes()), few_shot);
}

}  // namespace msnlens
