#pragma once
// LibTorch runs elementwise ops and oneDNN GEMMs on its OpenMP pool, while float32 GEMMs go
// to OpenBLAS, which keeps its own spinning pthreads. Both pools at full width fight over
// the cores (measured on 2 cores: a 197x384x1536 float32 GEMM took 4.3 ms with both at 2
// threads, 1.0 ms with OpenMP at 1 and OpenBLAS at 2). So each precision gets one owner:
// float32 gives the cores to OpenBLAS, bf16 (oneDNN) gives them to OpenMP.

#include "model/precision.h"

namespace msnlens {

struct CpuThreads {
  int torch = 1;  // at::set_num_threads
  int blas = 1;   // openblas_set_num_threads (ignored when the BLAS is not OpenBLAS)
};

CpuThreads threads_for(Precision precision, int cores);
// Applies threads_for(precision, physical cores) to this process, and keep_freed_memory().
CpuThreads configure_cpu_threads(Precision precision);

// glibc returns large blocks to the kernel on every free and maps fresh pages for the next
// allocation; in a VM each page fault costs microseconds, and a long-sequence forward frees
// and allocates gigabytes of activations (measured here: 24 adds of 3137 x 768 floats took
// 1.1 s, 8 ms once freed memory stays in the heap). Once per process.
void keep_freed_memory();

// Cores to use: MSNLENS_THREADS if set, else the hardware concurrency.
int available_cores();

}  // namespace msnlens
