#include "kernels/cpu_isa.h"

#include "kernels/fused_cpu_encoder.h"

#include <ATen/Version.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace msnlens {
namespace {

constexpr std::array<std::pair<Isa, const char*>, 9> kNames = {{{Isa::Generic, "generic"},
                                                                {Isa::Sse41, "sse41"},
                                                                {Isa::Avx, "avx"},
                                                                {Isa::Avx2, "avx2"},
                                                                {Isa::Avx2Vnni, "avx2_vnni"},
                                                                {Isa::Avx512Core, "avx512_core"},
                                                                {Isa::Avx512CoreVnni, "avx512_core_vnni"},
                                                                {Isa::Avx512CoreBf16, "avx512_core_bf16"},
                                                                {Isa::Avx512CoreAmx, "avx512_core_amx"}}};

// ATen reports the capability its kernels were dispatched to in its build summary
// ("CPU capability usage: AVX2"); LibTorch 1.13 keeps AVX-512 opt-in (ATEN_CPU_CAPABILITY).
std::string aten_capability() {
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const std::size_t pos = config.find(key);
  if (pos == std::string::npos) return "unknown";
  std::string value = config.substr(pos + key.size(), config.find('\n', pos) - pos - key.size());
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return value == "no avx" ? "default" : value;
}

}  // namespace

std::string isa_name(Isa isa) {
  for (const auto& [i, name] : kNames)
    if (i == isa) return name;
  return "generic";
}

Isa parse_isa(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (lower == "all") return Isa::Avx512CoreAmx;
  for (const auto& [i, n] : kNames)
    if (lower == n) return i;
  return Isa::Generic;
}

CpuKernels cpu_kernels() {
  CpuKernels k;
  k.onednn = onednn_effective_isa();
  k.aten = aten_capability();
  for (const char* var : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') k.cap += (k.cap.empty() ? "" : " ") + std::string(var) + "=" + v;
  if (k.onednn == Isa::Avx512CoreBf16) k.bf16_speedup = bf16_layer_speedup();
  return k;
}

bool bf16_pays_off(const CpuKernels& cpu) {
  if (!has_native_bf16(cpu.onednn)) return false;
  return cpu.onednn >= Isa::Avx512CoreAmx || cpu.bf16_speedup == 0 || cpu.bf16_speedup >= kBf16Payoff;
}

std::string cpu_class(const CpuKernels& cpu) {
  if (cpu.onednn >= Isa::Avx512CoreAmx) return "AMX";
  if (cpu.onednn >= Isa::Avx512CoreBf16) return "AVX512-BF16";
  if (cpu.onednn >= Isa::Avx512Core) return "AVX-512";
  if (cpu.onednn >= Isa::Avx2) return "AVX2";
  return "pre-AVX2";
}

std::string describe(const CpuKernels& cpu) {
  char measured[48] = "";
  if (cpu.bf16_speedup > 0) std::snprintf(measured, sizeof measured, ", bf16 measured %.2fx fp32", cpu.bf16_speedup);
  return cpu_class(cpu) + " (oneDNN " + isa_name(cpu.onednn) + ", ATen " + cpu.aten + measured +
         (cpu.cap.empty() ? "" : ", capped by " + cpu.cap) + ")";
}

}  // namespace msnlens
