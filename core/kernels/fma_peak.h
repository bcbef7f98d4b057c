#pragma once
// The float32 FMA ceiling of this machine, measured: what GEMM throughput is judged against.
// Each thread runs independent fused multiply-add chains (enough to hide the FMA latency) at the
// vector width the CPU class's kernels use: 256 bits below AVX-512 (or under an AVX2 cap), else
// 512. The result is a rate of this host as it is now, so take it in the same run as the
// measurement it judges.

#include "kernels/cpu_isa.h"

namespace msnlens {

struct FmaPeak {
  double gflops = 0;    // float32 GFLOP/s over all threads (an FMA counts 2)
  int vector_bits = 0;  // 256 or 512
  int threads = 0;
};

// Best of three rounds (about `seconds` in all) on `threads` threads.
FmaPeak measure_fma_peak(const CpuKernels& cpu, int threads, double seconds = 0.3);

}  // namespace msnlens
