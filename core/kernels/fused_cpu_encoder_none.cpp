// Builds without oneDNN (official LibTorch releases embed their own copy, without headers):
// the LibTorch layers run everything.
#include <algorithm>
#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "kernels/cpu_isa.h"
#include "kernels/fused_cpu_encoder.h"

namespace msnlens {

std::unique_ptr<FusedCpuEncoder> FusedCpuEncoder::create(const std::vector<EncoderLayerWeights>&, const EncoderSpec&,
                                                         Precision, std::string* why) {
  *why = "this build has no oneDNN (built without libdnnl-dev, or against a LibTorch that embeds its own)";
  return nullptr;
}

double bf16_layer_speedup() { return 0; }

// oneDNN's own reading: the strongest set whose every instruction the CPU has, then the cap
// (ONEDNN_MAX_CPU_ISA first, as oneDNN reads it).
Isa onednn_effective_isa() {
  Isa isa = Isa::Generic;
#if defined(__x86_64__)
  __builtin_cpu_init();
  unsigned a = 0, b = 0, c = 0, d = 0;
  const bool amx = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1) && (d >> 24 & 1);  // AMX-BF16, AMX-TILE
  const bool avx512_core = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (__builtin_cpu_supports("sse4.1")) isa = Isa::Sse41;
  if (__builtin_cpu_supports("avx")) isa = Isa::Avx;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = Isa::Avx2;
  if (avx512_core) isa = Isa::Avx512Core;
  if (avx512_core && __builtin_cpu_supports("avx512vnni")) isa = Isa::Avx512CoreVnni;
  if (isa == Isa::Avx512CoreVnni && __builtin_cpu_supports("avx512bf16")) isa = Isa::Avx512CoreBf16;
  if (isa == Isa::Avx512CoreBf16 && amx) isa = Isa::Avx512CoreAmx;
#endif
  for (const char* var : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* value = std::getenv(var);
    if (value == nullptr || *value == '\0') continue;
    if (const Isa cap = parse_isa(value); cap != Isa::Generic) isa = std::min(isa, cap);
    break;
  }
  return isa;
}

}  // namespace msnlens
