#pragma once
// What the CPU kernels will really run on this machine: oneDNN's effective instruction set and
// ATen's vector capability, each after any cap set in the environment (ONEDNN_MAX_CPU_ISA or
// DNNL_MAX_CPU_ISA, ATEN_CPU_CAPABILITY). Decisions made from this, not from the CPU's flags,
// hold for a capped AVX-512 machine exactly as for a real CPU of the capped class.

#include <string>

namespace msnlens {

// oneDNN's instruction sets, weakest first (oneDNN 2.6's dnnl::cpu_isa, in order).
enum class Isa { Generic, Sse41, Avx, Avx2, Avx2Vnni, Avx512Core, Avx512CoreVnni, Avx512CoreBf16, Avx512CoreAmx };

struct CpuKernels {
  Isa onednn = Isa::Generic;  // what oneDNN dispatches to
  std::string aten;           // ATen's vectorised kernels: "default", "avx2" or "avx512"
  std::string cap;            // the caps set in the environment ("ONEDNN_MAX_CPU_ISA=AVX2 ..."), "" when none
  // Where bf16 runs in hardware without AMX: how many times faster a bf16 encoder layer ran
  // than a float32 one here (bf16_layer_speedup); 0 where not measured.
  double bf16_speedup = 0;
};

// This process's kernels.
CpuKernels cpu_kernels();
// oneDNN's effective ISA (dnnl::get_effective_cpu_isa). Builds without oneDNN headers (official
// LibTorch releases embed their own oneDNN) derive it as oneDNN does: the CPU's flags, capped.
// Defined beside the fused encoder of each build (fused_cpu_encoder_{onednn,none}.cpp).
Isa onednn_effective_isa();

// "avx512_core_bf16": oneDNN's own name.
std::string isa_name(Isa isa);
// oneDNN's name for an ONEDNN_MAX_CPU_ISA value ("AVX512_CORE", "avx2"); Isa::Generic when unknown.
Isa parse_isa(const std::string& name);
// The class users know a CPU by, from what its kernels run: "AMX", "AVX512-BF16", "AVX-512",
// "AVX2" or "pre-AVX2".
std::string cpu_class(const CpuKernels& cpu);
// One line for headers and tooltips: "AVX512-BF16 (oneDNN avx512_core_bf16, ATen avx512)",
// with ", bf16 measured 0.55x fp32" where measured and ", capped by ONEDNN_MAX_CPU_ISA=AVX2 ..."
// where a cap is set.
std::string describe(const CpuKernels& cpu);

// oneDNN has bf16 GEMMs that accumulate in float32 (AVX-512 and up: in hardware from
// avx512_core_bf16, emulated on avx512_core).
inline bool has_bf16_gemms(Isa isa) { return isa >= Isa::Avx512Core; }
// ... and runs them in hardware.
inline bool has_native_bf16(Isa isa) { return isa >= Isa::Avx512CoreBf16; }
// Whether bf16 beats float32 here. AMX always does. avx512_core_bf16 alone does on AMD Zen 4/5,
// whose bf16 dot products run at twice the FMA rate, but not on Intel without AMX (measured:
// a Xeon with AMX hidden ran a ViT-S layer 1.5-1.9x slower in bf16), so there it is measured.
constexpr double kBf16Payoff = 1.1;  // a measured speedup below this keeps float32
bool bf16_pays_off(const CpuKernels& cpu);

}  // namespace msnlens
