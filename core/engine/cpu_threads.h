#pragma once
// LibTorch runs elementwise ops and oneDNN GEMMs on its OpenMP pool, while float32 GEMMs go
// to OpenBLAS, which keeps its own spinning pthreads. Both pools at full width fight over
// the cores (measured on 2 cores: a 197x384x1536 float32 GEMM took 4.3 ms with both at 2
// threads, 1.0 ms with OpenMP at 1 and OpenBLAS at 2). So each precision gets one owner:
// float32 on the BLAS gives the cores to OpenBLAS; oneDNN GEMMs (bf16, and the fused encoder at
// either precision) give them to OpenMP.

#include <string>

#include "model/precision.h"

namespace msnlens {

struct CpuThreads {
  int torch = 1;  // at::set_num_threads
  int blas = 1;   // openblas_set_num_threads (ignored when the BLAS is not OpenBLAS)
};

// fused: the fused oneDNN encoder runs the layers (float32 GEMMs then go to oneDNN too).
CpuThreads threads_for(Precision precision, int cores, bool fused);
// Sets this process's pools to `threads`, and keep_freed_memory(). Process-wide: front ends call
// it for the model they run (InferenceSession::cpu_threads), sessions never do.
void apply_cpu_threads(const CpuThreads& threads);
// apply_cpu_threads(threads_for(precision, physical cores, fused)).
CpuThreads configure_cpu_threads(Precision precision, bool fused);

// glibc returns large blocks to the kernel on every free and maps fresh pages for the next
// allocation; in a VM each page fault costs microseconds, and a long-sequence forward frees
// and allocates gigabytes of activations (measured here: 24 adds of 3137 x 768 floats took
// 1.1 s, 8 ms once freed memory stays in the heap). Once per process.
void keep_freed_memory();

// Cores to use: MSNLENS_THREADS if set, else the hardware concurrency.
int available_cores();

// The kernels behind LibTorch's float32 GEMMs: OpenBLAS's core name ("SkylakeX", "Prescott"),
// or "" when the BLAS is not OpenBLAS.
std::string blas_kernels();

// OpenBLAS picks its kernels from the CPU model when it loads. A CPU newer than the OpenBLAS,
// or a VM that hides the model ("Intel(R) Xeon(R) Processor"), gets its generic Prescott
// kernels: float32 GEMMs at 30 instead of 140-190 GFLOP/s here. The OPENBLAS_CORETYPE that
// matches the instruction sets this CPU has, when OpenBLAS runs weaker kernels and the user
// has not chosen any; "" otherwise.
std::string better_blas_coretype();
// The decision itself, for OpenBLAS running `core` kernels on a CPU with these instruction sets.
struct CpuFeatures {
  bool avx = false, avx2_fma = false, avx512 = false;  // avx512: F, BW, VL and DQ
};
std::string better_blas_coretype(const std::string& core, const CpuFeatures& cpu);
// OpenBLAS's strongest kernels for these instruction sets ("SkylakeX", "Haswell"), or "".
std::string blas_coretype_for(const CpuFeatures& cpu);
// blas_coretype_for this CPU as its kernels run it (its class, or the class an ISA cap sets):
// what a reference process is given so that it runs at that class's best.
std::string best_blas_coretype();

}  // namespace msnlens
