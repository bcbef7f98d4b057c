#include "engine/cpu_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <mutex>

#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "kernels/cpu_isa.h"

namespace msnlens {

CpuThreads threads_for(Precision precision, int cores, bool fused) {
  if (precision == Precision::FP32 && !fused) return {1, cores};
  return {cores, 1};
}

int available_cores() {
  if (const char* env = std::getenv("MSNLENS_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  // Physical cores this process may run on: hyperthread siblings share one core's GEMM units.
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return std::max(1u, std::thread::hardware_concurrency());
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &mask)) continue;
    const std::string topo = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream package(topo + "physical_package_id"), core(topo + "core_id");
    std::string p, c;
    if (!(package >> p) || !(core >> c)) p = "cpu", c = std::to_string(cpu);
    cores.emplace(p, c);
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
}

void keep_freed_memory() {
#ifdef __GLIBC__
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   // blocks up to 32 MB (glibc's maximum) from the heap
    mallopt(M_TRIM_THRESHOLD, 512 << 20);  // and up to 512 MB of freed heap kept for reuse
  });
#endif
}

void apply_cpu_threads(const CpuThreads& t) {
  keep_freed_memory();
  at::set_num_threads(t.torch);
  // Looked up at run time: the BLAS behind LibTorch is whatever libblas.so.3 points to.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(t.blas);
}

CpuThreads configure_cpu_threads(Precision precision, bool fused) {
  const CpuThreads t = threads_for(precision, available_cores(), fused);
  apply_cpu_threads(t);
  return t;
}

std::string blas_kernels() {
  using CoreName = char* (*)();
  const auto name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return name ? std::string(name()) : std::string();
}

std::string blas_coretype_for(const CpuFeatures& cpu) {
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  if (cpu.avx) return "Sandybridge";
  return {};
}

std::string better_blas_coretype(const std::string& core, const CpuFeatures& cpu) {
  // OpenBLAS's kernels without AVX: what it falls back to for a CPU it does not recognise.
  static const std::set<std::string> generic = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom"};
  if (generic.count(core) == 0) return {};
  return blas_coretype_for(cpu);
}

namespace {

// The instruction sets of the CPU class the kernels run as: a CPU's own, or fewer under an ISA
// cap (ONEDNN_MAX_CPU_ISA), so that a capped process and its references run that class's BLAS.
CpuFeatures this_cpu() {
  const Isa isa = cpu_kernels().onednn;
  CpuFeatures cpu;
  cpu.avx = isa >= Isa::Avx;
  cpu.avx2_fma = isa >= Isa::Avx2;
  cpu.avx512 = isa >= Isa::Avx512Core;
  return cpu;
}

}  // namespace

std::string better_blas_coretype() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return {};  // the user's choice stands
  return better_blas_coretype(blas_kernels(), this_cpu());
}

std::string best_blas_coretype() { return blas_coretype_for(this_cpu()); }

}  // namespace msnlens
