#pragma once
// Which precisions a device honours within the bounds README.md states, decided from the
// kernels that would run them (kernels/cpu_isa.h) rather than from CPU flags: an ISA cap set
// in the environment then behaves exactly like a real CPU of the capped class.
//
// On the CPU:
//   fp32  always (the exact path);
//   bf16  where oneDNN has bf16 GEMMs accumulating in float32 (avx512_core and up; in hardware
//         from avx512_core_bf16). Below that, LibTorch 1.13's fallback GEMM accumulates in bf16
//         (max|Δ| 0.26 on the fixtures, 5× the bound) and oneDNN has none, so it is refused;
//   fp16  never (CUDA only).
// auto is the fastest available: bf16 where it runs in hardware, else fp32.

#include <ATen/Device.h>

#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu_isa.h"
#include "model/precision.h"

namespace msnlens {

struct PrecisionOffer {
  Precision precision = Precision::FP32;
  bool available = false;
  std::string detail;  // what runs it, or (unavailable) the one line saying why and what to use
};

// fp32, bf16, fp16 in that order, for the CPU with these kernels.
std::vector<PrecisionOffer> cpu_precision_offers(const CpuKernels& cpu);
// ... for a device of this process (the CPU's kernels as cpu_kernels() reads them).
std::vector<PrecisionOffer> precision_offers(at::Device device);

// The fastest precision within the bounds: bf16 on GPUs that have it and on CPUs that run it in
// hardware (AVX512-BF16, AMX), fp16 on older GPUs, else fp32.
Precision default_precision(at::Device device);
Precision cpu_default_precision(const CpuKernels& cpu);

// Throws Error with the offer's one line when `precision` is unavailable on `device`.
void require_precision(at::Device device, Precision precision);

// A precision for a front end that must open whatever was saved: the requested one where the
// device honours it, else the default, with a note saying what was asked for and why it is not
// used. requested unset: the default, no note.
struct PrecisionChoice {
  Precision precision = Precision::FP32;
  std::string note;
};
PrecisionChoice choose_precision(at::Device device, std::optional<Precision> requested);

// "fp32" | "bf16" | "fp16" | "auto" (nullopt); throws Error otherwise.
std::optional<Precision> parse_precision_option(const std::string& name);

}  // namespace msnlens
