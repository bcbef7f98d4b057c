#include "kernels/fma_peak.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace msnlens {
namespace {

// 12 independent accumulators: FMA latency (4-5 cycles) times the 2 FMA pipes of current cores
// is at most 10 chains in flight. Returns a value derived from them so nothing is optimised away.
constexpr std::int64_t kChains = 12;

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float fma_chains_256(std::int64_t iterations) {
  __m256 acc[kChains];
  for (auto& a : acc) a = _mm256_set1_ps(0.f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 12  // the chains must live in registers, at -O2 too
    for (auto& a : acc) a = _mm256_fmadd_ps(a, x, y);
  __m256 sum = acc[0];
  for (std::int64_t c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  return _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"))) float fma_chains_512(std::int64_t iterations) {
  __m512 acc[kChains];
  for (auto& a : acc) a = _mm512_set1_ps(0.f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 12
    for (auto& a : acc) a = _mm512_fmadd_ps(a, x, y);
  __m512 sum = acc[0];
  for (std::int64_t c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);  // not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized)
  return lanes[0] + lanes[15];
}
#endif

}  // namespace

FmaPeak measure_fma_peak(const CpuKernels& cpu, int threads, double seconds) {
  FmaPeak peak;
  peak.threads = std::max(1, threads);
#if defined(__x86_64__)
  const bool wide = cpu.onednn >= Isa::Avx512Core;
  if (!wide && cpu.onednn < Isa::Avx2) return peak;
  peak.vector_bits = wide ? 512 : 256;
  // Plain threads rather than LibTorch's pool: each one counts the bursts it finishes before a
  // shared deadline, so a busy or slow core shortens the count instead of stalling the probe.
  constexpr std::int64_t kBurst = 1 << 15;
  using Clock = std::chrono::steady_clock;
  const std::int64_t flops_per_burst = 2 * kChains * (peak.vector_bits / 32) * kBurst;
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds / 3);
    std::vector<std::int64_t> bursts(static_cast<std::size_t>(peak.threads));
    std::vector<float> sink(bursts.size());
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < bursts.size(); ++t)
      pool.emplace_back([&, t] {
        std::int64_t done = 0;  // counted locally: neighbouring counters would share a cache line
        float sum = 0;
        for (; Clock::now() < deadline; ++done) sum += wide ? fma_chains_512(kBurst) : fma_chains_256(kBurst);
        bursts[t] = done;
        sink[t] = sum;
      });
    for (std::thread& th : pool) th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::int64_t total = 0;
    for (const std::int64_t b : bursts) total += b;
    best = std::max(best, static_cast<double>(total * flops_per_burst) / elapsed / 1e9);
  }
  peak.gflops = best;
#else
  (void)cpu, (void)seconds;
#endif
  return peak;
}

}  // namespace msnlens
