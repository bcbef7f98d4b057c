#pragma once
// float32 GEMMs of Linear layers for AVX2+FMA CPUs (Haswell, Zen 1-3), in place of oneDNN 2.6's
// AVX2 matmul (gemm:jit). BLIS-style: the weight is packed once into 16-column panels, and a 6×16
// register tile (12 accumulators) streams a panel against 6 rows of A, read in place (packing A
// measured slower: the copy is on every thread's path, however few columns it computes). Bias
// and the residual add are applied as each output tile is finished, GELU as each panel's strip
// of an M block is, while they are in cache. Built without -mavx2: the code that needs AVX2 is
// compiled for it alone and runs only where avx2_gemm_available().

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace msnlens {

// Whether this CPU runs these kernels (AVX2 and FMA, checked at run time).
bool avx2_gemm_available();

// A Linear layer's weight [N, K] (PyTorch layout, row-major float32), packed once at load into
// the panel layout the micro-kernel streams: panel p holds columns 16p..16p+15 of wᵀ as K rows
// of 16 floats (zero past N), so one K block of a panel is contiguous.
class PackedLinearWeights {
 public:
  static constexpr std::int64_t kPanelWidth = 16;

  PackedLinearWeights() = default;
  PackedLinearWeights(const float* weight_nk, std::int64_t n, std::int64_t k);

  std::int64_t n() const { return n_; }
  std::int64_t k() const { return k_; }
  std::size_t bytes() const { return static_cast<std::size_t>(panels() * k_ * kPanelWidth) * sizeof(float); }
  std::int64_t panels() const { return (n_ + kPanelWidth - 1) / kPanelWidth; }
  // Rows k0.. of panel p: [k - k0][16].
  const float* panel(std::int64_t p, std::int64_t k0) const { return data_.get() + (p * k_ + k0) * kPanelWidth; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::int64_t n_ = 0, k_ = 0;
  std::unique_ptr<float, Free> data_;  // 64-byte aligned: no panel row straddles a cache line
};

enum class GemmEpilogue { Bias, BiasGeluErf, BiasResidual };

// c[m, n] = a[m, k] · wᵀ + bias  (bias may be nullptr), then:
//   BiasGeluErf: gelu(x) = 0.5 x (1 + erf(x / sqrt 2)), exact-erf GELU (vectorised erf, max error
//     vs std::erf ≤ 2e-7 absolute)
//   BiasResidual: + residual[m, n] (row stride ldr)
// Row strides lda, ldc (elements). c must not overlap a or residual: it holds partial sums
// between K blocks. Threads: LibTorch's intra-op pool (at::parallel_for), split over N.
// Throws msnlens::Error on inconsistent sizes or strides, or where AVX2/FMA is missing.
void avx2_linear(const float* a, std::int64_t m, std::int64_t lda, const PackedLinearWeights& w, const float* bias,
                 GemmEpilogue epilogue, const float* residual, std::int64_t ldr, float* c, std::int64_t ldc);

}  // namespace msnlens
