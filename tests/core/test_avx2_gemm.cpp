// The AVX2 float32 GEMM (kernels/avx2_gemm.h) against a float64 reference: every epilogue, with
// and without bias, tight and padded row strides, sizes off the block sizes (6-row tiles,
// 16-column panels, K and M blocks) down to a single row; its GELU against exact-erf GELU.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/avx2_gemm.h"

using namespace msnlens;

namespace {

struct Shape {
  std::int64_t m, k, n;
};

std::string shape_name(const ::testing::TestParamInfo<Shape>& info) {
  return "m" + std::to_string(info.param.m) + "_k" + std::to_string(info.param.k) + "_n" + std::to_string(info.param.n);
}

// A float tensor [rows, cols + pad] whose first cols columns are the matrix (row stride cols + pad).
at::Tensor padded(const at::Tensor& matrix, std::int64_t pad, float fill) {
  at::Tensor out = at::full({matrix.size(0), matrix.size(1) + pad}, fill, at::kFloat);
  out.narrow(1, 0, matrix.size(1)).copy_(matrix);
  return out;
}

class Avx2Gemm : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    if (!avx2_gemm_available()) GTEST_SKIP() << "needs AVX2 and FMA";
  }

  // Runs one product with row strides padded by `pad` and checks it, and that nothing past each
  // output row was written.
  static void check(const Shape& s, GemmEpilogue epilogue, bool with_bias, std::int64_t pad) {
    SCOPED_TRACE("epilogue " + std::to_string(static_cast<int>(epilogue)) + (with_bias ? ", bias" : ", no bias") +
                 ", pad " + std::to_string(pad));
    at::manual_seed(static_cast<std::uint64_t>(s.m * 1000003 + s.k * 1009 + s.n));
    const at::Tensor a = at::randn({s.m, s.k});
    const at::Tensor weight = at::randn({s.n, s.k}) / std::sqrt(static_cast<double>(std::max<std::int64_t>(s.k, 1)));
    const at::Tensor bias = at::randn({s.n});
    const at::Tensor residual = at::randn({s.m, s.n});

    const PackedLinearWeights packed(weight.data_ptr<float>(), s.n, s.k);
    EXPECT_EQ(packed.n(), s.n);
    EXPECT_EQ(packed.k(), s.k);
    const at::Tensor a_strided = padded(a, pad, 0.f);
    const at::Tensor residual_strided = padded(residual, 2 * pad, 0.f);
    // NaN throughout: nothing may be read before it is written, nor written past a row.
    at::Tensor c = at::full({s.m, s.n + pad}, std::numeric_limits<float>::quiet_NaN());
    avx2_linear(a_strided.data_ptr<float>(), s.m, s.k + pad, packed, with_bias ? bias.data_ptr<float>() : nullptr,
                epilogue, residual_strided.data_ptr<float>(), s.n + 2 * pad, c.data_ptr<float>(), s.n + pad);

    at::Tensor expected = at::linear(a.to(at::kDouble), weight.to(at::kDouble),
                                     with_bias ? bias.to(at::kDouble) : at::Tensor());
    if (epilogue == GemmEpilogue::BiasGeluErf) expected = 0.5 * expected * (1 + at::erf(expected / std::sqrt(2.0)));
    if (epilogue == GemmEpilogue::BiasResidual) expected = expected + residual.to(at::kDouble);
    const at::Tensor got = c.narrow(1, 0, s.n).to(at::kDouble);
    const double bound = expected.numel() > 0 ? expected.abs().max().item<double>() : 0.0;
    const double error = got.numel() > 0 ? (got - expected).abs().max().item<double>() : 0.0;
    EXPECT_LE(error, 1e-5 * (1 + bound));
    EXPECT_FALSE(got.isnan().any().item<bool>());
    if (pad > 0) {
      EXPECT_TRUE(c.narrow(1, s.n, pad).isnan().all().item<bool>()) << "wrote past the row";
    }
  }
};

TEST_P(Avx2Gemm, MatchesFloat64ReferenceForEveryEpilogue) {
  for (const GemmEpilogue epilogue : {GemmEpilogue::Bias, GemmEpilogue::BiasGeluErf, GemmEpilogue::BiasResidual})
    for (const bool with_bias : {true, false})
      for (const std::int64_t pad : {0, 5}) check(GetParam(), epilogue, with_bias, pad);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Avx2Gemm,
                         ::testing::Values(Shape{1, 3, 5}, Shape{7, 64, 160}, Shape{13, 100, 37}, Shape{197, 384, 1152},
                                           Shape{33, 768, 3072}, Shape{200, 1536, 384},
                                           Shape{6, 16, 16},      // exactly one tile
                                           Shape{481, 390, 40},   // three M blocks, K just past one block
                                           Shape{2, 1, 17},       // K = 1
                                           Shape{3, 0, 5}),       // K = 0: bias (and epilogue) alone
                         shape_name);

TEST(Avx2GemmGelu, MatchesExactErfGelu) {
  if (!avx2_gemm_available()) GTEST_SKIP() << "needs AVX2 and FMA";
  // x as the product of a 1×1 input with a column of the weight: c[0, j] = 1 · x_j exactly.
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(static_cast<float>(i) * 5e-5f);  // [-10, 10], 0 included
  for (const float v : {1e-30f, -1e-30f, 1e-8f, -1e-8f, 3.9f, -3.9f, 5.5f, -5.5f, 9.99f, -9.99f, 30.f, -30.f, 1e6f, -1e6f})
    x.push_back(v);
  const auto n = static_cast<std::int64_t>(x.size());
  const PackedLinearWeights packed(x.data(), n, 1);
  const float one = 1.f;
  std::vector<float> c(x.size());
  avx2_linear(&one, 1, 1, packed, nullptr, GemmEpilogue::BiasGeluErf, nullptr, 0, c.data(), n);
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double v = x[j], exact = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    // erf within 2e-7 is 1e-7 |x| here; the float products and sum add 1.2e-7 of the result.
    const double allowed = 1e-7 * std::abs(v) + 1.2e-7 * std::abs(exact) + 1e-37;
    ASSERT_LE(std::abs(c[j] - exact), allowed) << "x = " << v << ": " << c[j] << " vs " << exact;
  }
  EXPECT_EQ(c[200000], 0.f);  // x = 0
}

TEST(Avx2GemmThreads, SameBitsOnOneThreadAsOnMany) {
  if (!avx2_gemm_available()) GTEST_SKIP() << "needs AVX2 and FMA";
  const std::int64_t m = 50, k = 300, n = 400;
  at::manual_seed(7);
  const at::Tensor a = at::randn({m, k}), weight = at::randn({n, k}), bias = at::randn({n});
  const PackedLinearWeights packed(weight.data_ptr<float>(), n, k);
  const int threads = at::get_num_threads();
  at::Tensor many = at::empty({m, n}), one = at::empty({m, n});
  avx2_linear(a.data_ptr<float>(), m, k, packed, bias.data_ptr<float>(), GemmEpilogue::BiasGeluErf, nullptr, 0,
              many.data_ptr<float>(), n);
  at::set_num_threads(1);
  avx2_linear(a.data_ptr<float>(), m, k, packed, bias.data_ptr<float>(), GemmEpilogue::BiasGeluErf, nullptr, 0,
              one.data_ptr<float>(), n);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(many, one));
}

TEST(Avx2GemmChecks, RefusesInconsistentStridesAndEmptyProductsWriteNothing) {
  if (!avx2_gemm_available()) GTEST_SKIP() << "needs AVX2 and FMA";
  const std::vector<float> weight(4 * 3, 1.f), a(2 * 3, 1.f);
  const PackedLinearWeights packed(weight.data(), 4, 3);
  EXPECT_EQ(packed.bytes(), 16 * 3 * sizeof(float));  // one panel, zero past column 4
  std::vector<float> c(2 * 4, -1.f);
  EXPECT_THROW(avx2_linear(a.data(), 2, 2, packed, nullptr, GemmEpilogue::Bias, nullptr, 0, c.data(), 4), Error);
  EXPECT_THROW(avx2_linear(a.data(), 2, 3, packed, nullptr, GemmEpilogue::Bias, nullptr, 0, c.data(), 3), Error);
  EXPECT_THROW(avx2_linear(a.data(), 2, 3, packed, nullptr, GemmEpilogue::BiasResidual, nullptr, 4, c.data(), 4), Error);
  EXPECT_THROW(PackedLinearWeights(weight.data(), -1, 3), Error);
  avx2_linear(a.data(), 0, 3, packed, nullptr, GemmEpilogue::Bias, nullptr, 0, c.data(), 4);
  EXPECT_EQ(c, std::vector<float>(2 * 4, -1.f));
}

TEST(Avx2GemmChecks, OurLoopsRunOnEveryThread) {
  // at::parallel_for is inline: a build that compiles our code without OpenMP runs it serially
  // (measured: the fused AVX2 encoder at half speed) while every test still passes.
#ifndef _OPENMP
  GTEST_SKIP() << "built without OpenMP (a LibTorch bundling its own runtime): our loops run on one thread";
#else
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  std::vector<int> seen(2, -1);
  at::parallel_for(0, 2, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) seen[static_cast<std::size_t>(i)] = at::get_thread_num();
  });
  at::set_num_threads(threads);
  EXPECT_NE(seen[0], seen[1]) << "both halves ran on thread " << seen[0];
#endif
}

}  // namespace
