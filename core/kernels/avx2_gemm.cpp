#include "kernels/avx2_gemm.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <new>
#include <string>

#include "common/error.h"

// Compiled for AVX2+FMA one function at a time, so the rest of the binary runs on any x86-64.
#define MSNLENS_AVX2 __attribute__((target("avx2,fma")))

namespace msnlens {
namespace {

constexpr std::int64_t kMr = 6;                                 // rows of the register tile
constexpr std::int64_t kNr = PackedLinearWeights::kPanelWidth;  // its columns: two ymm
// K block: a panel's block (kKc × 16 floats, 24 KiB) is reused from L1 by every micro-panel of
// the M block; where L1 is smaller (Zen 3: 32 KiB) it streams from L2 at under a quarter of
// L2's bandwidth. Measured here against 256, 320 and 512: equal, except that ViT-S's K = 384
// in one block (no second pass over C) is 2-6 % faster.
constexpr std::int64_t kKc = 384;
// M block: a ViT image's 197 tokens, whose A block (kMc × kKc floats, 297 KiB) stays in L2
// (Zen 3: 512 KiB) while every panel of a thread's columns streams past it.
constexpr std::int64_t kMc = 198;
// Work below which a task costs less than waking the pool for it.
constexpr std::int64_t kMinMultiplyAddsPerTask = std::int64_t{1} << 18;

float* aligned_floats(std::int64_t count) {
  const std::size_t bytes = (static_cast<std::size_t>(std::max<std::int64_t>(count, 1)) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<float*>(p);
}

// p(x), coefficients highest degree first, as x r(x) + p(0) with r(x) = even(x²) + x odd(x²):
// two Horner chains side by side, half the latency of one (GELU is latency-bound; a third
// faster than by Horner), and p(0) added last, in a single rounding.
template <std::size_t C>
MSNLENS_AVX2 inline __m256 polynomial(__m256 x, const float (&coefficients)[C]) {
  static_assert(C >= 3);
  constexpr std::size_t r_degree = C - 2;
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 even = _mm256_set1_ps(coefficients[r_degree % 2]), odd = _mm256_set1_ps(coefficients[1 - r_degree % 2]);
#pragma GCC unroll 16
  for (std::size_t i = 2; i <= r_degree; ++i) {
    __m256& part = (r_degree - i) % 2 == 0 ? even : odd;
    part = _mm256_fmadd_ps(part, x2, _mm256_set1_ps(coefficients[i]));
  }
  return _mm256_fmadd_ps(_mm256_fmadd_ps(odd, x, even), x, _mm256_set1_ps(coefficients[C - 1]));
}

// GELU(x) = x Φ(x) = 0.5 x (1 + erf(x / √2)) = x (1 - ½ erfc(t)) for x ≥ 0, x ½ erfc(t) below,
// t = |x| / √2: one erfc serves both signs and keeps its relative accuracy in the negative tail.
// erfc(t) = 2^q(t), q a near-minimax polynomial (Chebyshev fit in double, error 3e-8) to
// log2 erfc on [0, 3.92]; past 3.92, erfc(t) < 1e-8 is taken as 0, so Φ is exactly 0 or 1.
// 2^q by exponent and a degree-6 fit to 2^f on [-½, ½] (error 3e-9), the ½ folded into the
// exponent. The erf this implies is within 1.8e-7 of std::erf (every float checked).
MSNLENS_AVX2 inline __m256 gelu_erf(__m256 x) {
  static constexpr float kLog2Erfc[] = {1.212351305e-07f,  -3.149055770e-06f, 3.641750018e-05f, -2.449225752e-04f,
                                        1.028208996e-03f,  -2.454365795e-03f, 1.425570087e-04f, 2.777132652e-02f,
                                        -1.483559351e-01f, -9.184282000e-01f, -1.627908748e+00f, 2.361082370e-08f};
  static constexpr float kExp2[] = {1.546144470e-04f, 1.340042818e-03f, 9.618056679e-03f, 5.550327227e-02f,
                                    2.402265092e-01f, 6.931472067e-01f, 1.f};
  const __m256 t = _mm256_andnot_ps(_mm256_set1_ps(-0.f), _mm256_mul_ps(x, _mm256_set1_ps(0.707106781f)));
  const __m256 q = polynomial(t, kLog2Erfc);
  const __m256 whole = _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i half_scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(whole), _mm256_set1_epi32(126)), 23);
  __m256 half_erfc = _mm256_mul_ps(polynomial(_mm256_sub_ps(q, whole), kExp2), _mm256_castsi256_ps(half_scale));
  half_erfc = _mm256_andnot_ps(_mm256_cmp_ps(t, _mm256_set1_ps(3.92f), _CMP_GE_OQ), half_erfc);
  // blendv picks by the sign bit of x: ½ erfc(t) for negative x, 1 - ½ erfc(t) otherwise.
  const __m256 phi = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.f), half_erfc), half_erfc, x);
  return _mm256_mul_ps(x, phi);
}

// Lanes j < count (count may be ≤ 0 or ≥ 8).
MSNLENS_AVX2 inline __m256i lanes_below(std::int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<std::int64_t>(count, 0, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// GELU in place over a finished strip of C (a panel's columns for an M block, still in L1 or
// L2): a pass of its own, since the micro-kernel's 12 accumulators leave too few registers for it.
MSNLENS_AVX2 void gelu_strip(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; j += 8) {
      float* p = c + r * ldc + j;
      if (cols - j >= 8) {
        _mm256_storeu_ps(p, gelu_erf(_mm256_loadu_ps(p)));
      } else {
        const __m256i mask = lanes_below(cols - j);
        _mm256_maskstore_ps(p, mask, gelu_erf(_mm256_maskload_ps(p, mask)));
      }
    }
}

// The epilogue's operands at one tile, on the last K block.
struct TileEpilogue {
  const float* bias;      // at the tile's first column; nullptr: none
  const float* residual;  // at the tile's first element; nullptr: none
  std::int64_t ldr;
};

// c[0:rows, 0:cols] = (accumulate ? c : 0) + a[0:rows, 0:kc] · b over kc, then on the last K
// block (last non-null) bias and residual. a: rows of stride lda, read in place; b: [kc][16],
// 64-byte aligned, zero past N. The product is always a full 6×16 tile (rows past `rows` repeat
// the last row), and only its stores are cut to size.
MSNLENS_AVX2 void micro_kernel(std::int64_t kc, const float* a, std::int64_t lda, const float* b, float* c,
                               std::int64_t ldc, std::int64_t rows, std::int64_t cols, bool accumulate,
                               const TileEpilogue* last) {
  const float* a_row[kMr];
  for (std::int64_t r = 0; r < kMr; ++r) a_row[r] = a + std::min(r, rows - 1) * lda;
  __m256 acc[kMr][2];
#pragma GCC unroll 6  // acc must be indexed by constants to live in registers, at -O2 too
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (std::int64_t kk = 0; kk < kc; ++kk, b += kNr) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (std::int64_t r = 0; r < kMr; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a_row[r] + kk);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }

  const bool full = cols == kNr;
  const __m256i mask0 = lanes_below(cols), mask1 = lanes_below(cols - 8);
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (last != nullptr && last->bias != nullptr) {
    bias0 = full ? _mm256_loadu_ps(last->bias) : _mm256_maskload_ps(last->bias, mask0);
    bias1 = full ? _mm256_loadu_ps(last->bias + 8) : _mm256_maskload_ps(last->bias + 8, mask1);
  }
#pragma GCC unroll 6
  for (std::int64_t r = 0; r < kMr; ++r) {
    if (r >= rows) break;
    float* out = c + r * ldc;
    __m256 v0 = acc[r][0], v1 = acc[r][1];
    if (accumulate) {
      v0 = _mm256_add_ps(v0, full ? _mm256_loadu_ps(out) : _mm256_maskload_ps(out, mask0));
      v1 = _mm256_add_ps(v1, full ? _mm256_loadu_ps(out + 8) : _mm256_maskload_ps(out + 8, mask1));
    }
    if (last != nullptr) {
      v0 = _mm256_add_ps(v0, bias0);
      v1 = _mm256_add_ps(v1, bias1);
      if (last->residual != nullptr) {
        const float* res = last->residual + r * last->ldr;
        v0 = _mm256_add_ps(v0, full ? _mm256_loadu_ps(res) : _mm256_maskload_ps(res, mask0));
        v1 = _mm256_add_ps(v1, full ? _mm256_loadu_ps(res + 8) : _mm256_maskload_ps(res + 8, mask1));
      }
    }
    if (full) {
      _mm256_storeu_ps(out, v0);
      _mm256_storeu_ps(out + 8, v1);
    } else {
      _mm256_maskstore_ps(out, mask0, v0);
      _mm256_maskstore_ps(out + 8, mask1, v1);
    }
  }
}

void check(bool ok, const std::string& what) {
  if (!ok) fail("avx2_linear", what);
}

}  // namespace

bool avx2_gemm_available() {
  // GCC's checks include the OS saving the ymm registers (XGETBV), not only the CPUID bits.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

PackedLinearWeights::PackedLinearWeights(const float* weight_nk, std::int64_t n, std::int64_t k) : n_(n), k_(k) {
  if (n < 0 || k < 0) fail("PackedLinearWeights", "negative size [" + std::to_string(n) + ", " + std::to_string(k) + "]");
  if (weight_nk == nullptr && n * k > 0) fail("PackedLinearWeights", "no weight data");
  data_.reset(aligned_floats(panels() * k * kPanelWidth));
  float* out = data_.get();
  for (std::int64_t p = 0; p < panels(); ++p)
    for (std::int64_t kk = 0; kk < k; ++kk)
      for (std::int64_t j = 0; j < kPanelWidth; ++j) {
        const std::int64_t col = p * kPanelWidth + j;
        *out++ = col < n ? weight_nk[col * k + kk] : 0.f;
      }
}

void avx2_linear(const float* a, std::int64_t m, std::int64_t lda, const PackedLinearWeights& w, const float* bias,
                 GemmEpilogue epilogue, const float* residual, std::int64_t ldr, float* c, std::int64_t ldc) {
  const std::int64_t n = w.n(), k = w.k();
  check(avx2_gemm_available(), "this CPU lacks AVX2 or FMA");
  check(m >= 0, "negative row count " + std::to_string(m));
  if (m == 0 || n == 0) return;
  check((a != nullptr || k == 0) && c != nullptr, "no input or output data");
  check(lda >= k && ldc >= n, "row strides lda " + std::to_string(lda) + ", ldc " + std::to_string(ldc) +
                                  " below the row widths " + std::to_string(k) + ", " + std::to_string(n));
  if (epilogue == GemmEpilogue::BiasResidual)
    check(residual != nullptr && ldr >= n,
          "residual missing or its row stride " + std::to_string(ldr) + " below " + std::to_string(n));

  static const float kNothing = 0.f;
  if (k == 0) a = &kNothing, lda = 0;  // nothing is read, but a may be null and rows are still offset

  // Equal blocks (K = 384 as 2 × 192, not 256 + 128): no short block runs at a loss.
  const std::int64_t k_blocks = std::max<std::int64_t>(1, (k + kKc - 1) / kKc);
  const std::int64_t m_blocks = (m + kMc - 1) / kMc;
  const std::int64_t mc_step = ((m + m_blocks - 1) / m_blocks + kMr - 1) / kMr * kMr;
  const std::int64_t grain = std::max<std::int64_t>(1, kMinMultiplyAddsPerTask / std::max<std::int64_t>(1, m * k * kNr));

  auto k_begin = [&](std::int64_t kb) { return kb * k / k_blocks; };

  at::parallel_for(0, w.panels(), grain, [&](std::int64_t p_begin, std::int64_t p_end) {
    for (std::int64_t i0 = 0; i0 < m; i0 += mc_step) {
      const std::int64_t i_end = std::min(m, i0 + mc_step), tiles = (i_end - i0 + kMr - 1) / kMr;
      for (std::int64_t kb = 0; kb < k_blocks; ++kb) {
        const std::int64_t k0 = k_begin(kb), kc = k_begin(kb + 1) - k0;
        const bool last_block = kb + 1 == k_blocks;
        for (std::int64_t p = p_begin; p < p_end; ++p) {
          const std::int64_t col = p * kNr, cols = std::min(kNr, n - col);
          // The B block this thread takes next (next panel, else next K block, else next M
          // block) is prefetched a slice per tile: weights come from DRAM, once per image, and
          // the hardware prefetcher alone leaves the first tiles of each block waiting (5-10 %).
          const std::int64_t next_kb = p + 1 < p_end ? kb : last_block ? (i_end < m ? 0 : -1) : kb + 1;
          const float* next = next_kb < 0 ? nullptr : w.panel(p + 1 < p_end ? p + 1 : p_begin, k_begin(next_kb));
          const std::int64_t next_rows = next_kb < 0 ? 0 : k_begin(next_kb + 1) - k_begin(next_kb);
          const std::int64_t rows_per_tile = (next_rows + tiles - 1) / tiles;
          for (std::int64_t row = i0, prefetched = 0; row < i_end; row += kMr) {
            for (const std::int64_t until = std::min(next_rows, prefetched + rows_per_tile); prefetched < until; ++prefetched)
              _mm_prefetch(reinterpret_cast<const char*>(next + prefetched * kNr), _MM_HINT_T0);  // a row is a cache line
            const TileEpilogue last{bias != nullptr ? bias + col : nullptr,
                                    epilogue == GemmEpilogue::BiasResidual ? residual + row * ldr + col : nullptr, ldr};
            micro_kernel(kc, a + row * lda + k0, lda, w.panel(p, k0), c + row * ldc + col, ldc,
                         std::min(kMr, i_end - row), cols, kb > 0, last_block ? &last : nullptr);
          }
          if (last_block && epilogue == GemmEpilogue::BiasGeluErf) gelu_strip(c + i0 * ldc + col, ldc, i_end - i0, cols);
        }
      }
    }
  });
}

}  // namespace msnlens
