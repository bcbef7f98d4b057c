// What people do to files while MSN Lens runs, and long sessions: a checkpoint truncated or
// rewritten after loading, a model too large for memory, and a soak of loading, inference,
// masking, sweeps and image switches whose live heap must not grow.

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "analysis/patch_mask.h"
#include "checkpoint/safetensors.h"
#include "engine/inference_session.h"
#include "engine/mask_sweep.h"
#include "imaging/image_file.h"
#include "support.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MSNLENS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MSNLENS_ASAN 1
#endif
#ifdef MSNLENS_ASAN
// From the ASan runtime (GCC and clang); declared here because GCC ships no sanitizer headers.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

using namespace msnlens;
using namespace msntest;
namespace fs = std::filesystem;

namespace {

// Bytes the heap holds for live allocations (ASan's own count under ASan, glibc's otherwise).
std::size_t live_heap_bytes() {
#ifdef MSNLENS_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// Unsets MSNLENS_MEMORY_LIMIT_MB however a test ends, so the tests after it run uncapped.
struct MemoryLimitReset {
  ~MemoryLimitReset() { ::unsetenv("MSNLENS_MEMORY_LIMIT_MB"); }
};

using Robustness = TempDirTest;

TEST_F(Robustness, TruncatedAfterLoading) {
  const fs::path copy = dir_.path() / "model";
  fs::copy(data_path("models/tiny224-cls"), copy, fs::copy_options::recursive);
  const InferenceSession session(load_model(copy), {"cpu", Precision::FP32});
  const at::Tensor pixels = read_safetensors(data_path("cases/tiny224-cls-pixels.safetensors")).tensors.at("inputs.pixel_values");
  const at::Tensor before = session.run(pixels).logits.clone();
  // Truncated in place (what a crashed writer leaves), then rewritten with other bytes: the
  // model holds its own copies, so inference neither crashes (SIGBUS) nor changes.
  ASSERT_EQ(::truncate((copy / "model.safetensors").c_str(), 0), 0) << std::strerror(errno);
  EXPECT_TRUE(at::equal(session.run(pixels).logits, before));
  write_file(copy / "model.safetensors", std::string(400000, 'x'));
  EXPECT_TRUE(at::equal(session.run(pixels).logits, before));
  MSN_EXPECT_ERROR(load_model(copy), "model.safetensors");
}

TEST_F(Robustness, TooLargeForMemory) {
  MemoryLimitReset reset;
  ::setenv("MSNLENS_MEMORY_LIMIT_MB", "0", 1);  // no cap: the real MemAvailable
  EXPECT_TRUE(load_model(data_path("models/tiny224-cls")).model != nullptr);
  ::setenv("MSNLENS_MEMORY_LIMIT_MB", "1", 1);  // tiny224-cls needs 0.33 MiB: it fits under 1 MiB
  EXPECT_TRUE(load_model(data_path("models/tiny224-cls")).model != nullptr);
  // A 16 MiB model against a 4 MiB cap is refused with the numbers.
  TensorMap big;
  big["embeddings.cls_token"] = at::zeros({1024, 1024, 4});
  write_safetensors(dir_.path() / "big.safetensors", {big.begin(), big.end()});
  ::setenv("MSNLENS_MEMORY_LIMIT_MB", "4", 1);
  MSN_EXPECT_ERROR(load_model(dir_.path() / "big.safetensors"), "big.safetensors", "needs 16 MiB",
                   "only 4 MiB are available");
}

TEST_F(Robustness, Soak) {
  // One iteration: two models (with and without classifier) x two images, unmasked, token
  // dropping, mask token where there is one, and a small sweep; every object released.
  const std::vector<fs::path> models = {data_path("models/tiny224-cls"), data_path("models/tiny64-masktoken")};
  const std::vector<fs::path> images = {data_path("images/chelsea.png"), data_path("images/horse.png")};
  auto iteration = [&] {
    for (const auto& m : models) {
      const InferenceSession session(load_model(m), {"cpu", Precision::FP32});
      const int grid = static_cast<int>(session.model().config().grid_size());
      for (const auto& file : images) {
        const at::Tensor pixels = session.preprocess(read_image(file));
        (void)session.run(pixels);
        ForwardOptions drop;
        drop.keep_patches = at::tensor(PatchMask::random(grid, grid, 0.5, 1).kept(), at::kLong);
        (void)session.run(pixels, drop);
        if (session.model().has_mask_token()) {
          ForwardOptions token;
          token.bool_masked_pos = at::ones({1, grid * grid}, at::kBool);
          (void)session.run(pixels, token);
        }
        SweepRequest sweep;
        sweep.ratios = {0.25, 0.75};
        sweep.seeds = 2;
        sweep.patch_scores.assign(static_cast<std::size_t>(grid * grid), 1.0f);
        (void)run_mask_sweep(session, pixels, sweep, nullptr);
      }
    }
  };
  iteration();  // caches (oneDNN primitives, allocator pools) fill here
  malloc_trim(0);
  const std::size_t after_first = live_heap_bytes();
  constexpr int kIterations = 15;
  for (int i = 1; i < kIterations; ++i) iteration();
  malloc_trim(0);
  const std::size_t after_all = live_heap_bytes();
  // Bound: 2 MiB over 14 more iterations (a leak of one 197x197 attention map per forward
  // would already exceed it several times over).
  constexpr std::size_t kBound = 2u << 20;
  const long long growth = static_cast<long long>(after_all) - static_cast<long long>(after_first);
  std::printf("live heap after iteration 1: %.1f MiB, after %d: %.1f MiB (growth %lld bytes)\n", after_first / 1048576.0,
              kIterations, after_all / 1048576.0, growth);
  EXPECT_LE(growth, static_cast<long long>(kBound)) << "heap grew by " << growth << " bytes";
}

}  // namespace
