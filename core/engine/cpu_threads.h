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
// Applies threads_for(precision, physical cores) to this process.
CpuThreads configure_cpu_threads(Precision precision);

// Cores to use: MSNLENS_THREADS if set, else the hardware concurrency.
int available_cores();

}  // namespace msnlens
