#include "startup.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine/cpu_threads.h"

namespace msnlens::front_end {

void use_fast_blas_kernels(char** argv) {
  if (std::getenv("MSNLENS_BLAS_RESTARTED") != nullptr) return;  // once: never a restart loop
  const std::string coretype = better_blas_coretype();
  if (coretype.empty()) return;
  setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
  setenv("MSNLENS_BLAS_RESTARTED", "1", 1);
  execv("/proc/self/exe", argv);
}

}  // namespace msnlens::front_end
