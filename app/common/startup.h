#pragma once
// What every front end does first thing in main(), before LibTorch does any work.

namespace msnlens::front_end {

// Restarts this program (same arguments) with OPENBLAS_CORETYPE set when OpenBLAS fell back to
// generic kernels on this CPU (better_blas_coretype, engine/cpu_threads.h): OpenBLAS reads it
// only when it loads. Returns when nothing needs doing or the restart fails.
void use_fast_blas_kernels(char** argv);

}  // namespace msnlens::front_end
