#include "engine/precision_choice.h"

#ifdef MSNLENS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <cstdio>

#include "common/error.h"

namespace msnlens {
namespace {

const PrecisionOffer& offer_for(const std::vector<PrecisionOffer>& offers, Precision p) {
  for (const PrecisionOffer& o : offers)
    if (o.precision == p) return o;
  fail("precision", std::string("no offer for ") + to_string(p));
}

}  // namespace

std::vector<PrecisionOffer> cpu_precision_offers(const CpuKernels& cpu) {
  const std::string isa = isa_name(cpu.onednn);
  std::vector<PrecisionOffer> offers;
  offers.push_back({Precision::FP32, true, "float32 throughout (exact)"});
  if (has_native_bf16(cpu.onednn) && !bf16_pays_off(cpu)) {
    char measured[48];
    std::snprintf(measured, sizeof measured, "%.2fx", cpu.bf16_speedup);
    offers.push_back({Precision::BF16, true,
                      "bf16 GEMMs in hardware (oneDNN " + isa + "), but measured at " + measured +
                          " the speed of fp32 on this CPU (no AMX), so fp32 is the default"});
  } else if (has_native_bf16(cpu.onednn)) {
    offers.push_back({Precision::BF16, true, "bf16 GEMMs in hardware (oneDNN " + isa + "), float32 accumulation"});
  } else if (has_bf16_gemms(cpu.onednn)) {
    offers.push_back({Precision::BF16, true,
                      "bf16 GEMMs emulated by oneDNN on " + isa + " (float32 accumulation; slower than fp32 here)"});
  } else {
    offers.push_back({Precision::BF16, false,
                      "bf16 is not available on this CPU: its kernels run " + isa + " (" + cpu_class(cpu) +
                          " class), and bf16 GEMMs that stay within bf16's bound need avx512_core or newer"});
  }
  offers.push_back({Precision::FP16, false, "fp16 is for CUDA devices"});
  return offers;
}

std::vector<PrecisionOffer> precision_offers(at::Device device) {
  if (!device.is_cuda()) return cpu_precision_offers(cpu_kernels());
  // GPUs before Ampere emulate bf16 slowly but correctly; fp16 is their fast path.
  return {{Precision::FP32, true, "float32 throughout (exact)"},
          {Precision::BF16, true, "bf16 on the GPU"},
          {Precision::FP16, true, "fp16 on the GPU"}};
}

Precision cpu_default_precision(const CpuKernels& cpu) { return bf16_pays_off(cpu) ? Precision::BF16 : Precision::FP32; }

Precision default_precision(at::Device device) {
  if (!device.is_cuda()) return cpu_default_precision(cpu_kernels());
#ifdef MSNLENS_WITH_CUDA
  return at::cuda::getDeviceProperties(device.index())->major >= 8 ? Precision::BF16 : Precision::FP16;
#else
  return Precision::FP16;
#endif
}

void require_precision(at::Device device, Precision precision) {
  const std::vector<PrecisionOffer> offers = precision_offers(device);
  const PrecisionOffer& o = offer_for(offers, precision);
  if (o.available) return;
  std::string instead;
  for (const PrecisionOffer& other : offers)
    if (other.available) instead += (instead.empty() ? "" : " or ") + std::string(to_string(other.precision));
  fail("precision", o.detail + "; " + (device.is_cuda() ? "" : "on the CPU ") + "use " + instead);
}

PrecisionChoice choose_precision(at::Device device, std::optional<Precision> requested) {
  if (!requested) return {default_precision(device), ""};
  const std::vector<PrecisionOffer> offers = precision_offers(device);
  const PrecisionOffer& o = offer_for(offers, *requested);
  if (o.available) return {*requested, ""};
  const Precision fallback = default_precision(device);
  return {fallback, o.detail + "; using " + to_string(fallback)};
}

std::optional<Precision> parse_precision_option(const std::string& name) {
  if (name == "auto") return std::nullopt;
  return parse_precision(name);
}

}  // namespace msnlens
