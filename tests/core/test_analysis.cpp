// The torch-free analysis behind the views: token-to-patch mapping and display maps, patch
// masks and their strategies, masking-response measures, sweep plans, linear heads and the
// predictor that ranks every source. (The maps themselves: test_analyzer.cpp.)

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analysis/attention_maps.h"
#include "analysis/linear_head.h"
#include "analysis/masking_response.h"
#include "analysis/patch_mask.h"
#include "analysis/predictions.h"
#include "analysis/sweep_plan.h"
#include "engine/cpu_threads.h"
#include "engine/map_ops.h"
#include "support.h"

using namespace msnlens;

namespace {

TEST(Analysis, TokensMapToPatches) {
  // Tokens after dropping: CLS, then patches 4 and 1 (in that order).
  const std::vector<float> values = {0.5f, 0.2f, 0.3f};
  const std::vector<float> grid = tokens_to_patches(values, {4, 1}, 6, -1.0f);
  EXPECT_EQ(grid, (std::vector<float>{-1, 0.3f, -1, -1, 0.2f, -1}));
  std::vector<float> v = {2.0f, NAN, 4.0f, 3.0f};
  normalize_unit(v);
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_FLOAT_EQ(v[2], 1.0f);
  EXPECT_FLOAT_EQ(v[3], 0.5f);
  EXPECT_TRUE(std::isnan(v[1]));
  // The display form blanks the query's own patch before rescaling.
  const std::vector<float> shown = display_map({0.2f, 0.9f, 0.4f, 0.6f}, 1);
  EXPECT_TRUE(std::isnan(shown[1]));
  EXPECT_FLOAT_EQ(shown[0], 0.0f);
  EXPECT_FLOAT_EQ(shown[3], 1.0f);
}

TEST(Analysis, PatchMasks) {
  PatchMask m(3, 4);
  m.toggle(5);
  m.set(0, true);
  EXPECT_EQ(m.count(), 2);
  ASSERT_EQ(m.kept().size(), std::size_t{10});
  EXPECT_EQ(m.kept().front(), 1);
  m.invert();
  EXPECT_EQ(m.count(), 10);
  EXPECT_FALSE(m.masked(5));
  m.clear();
  EXPECT_FALSE(m.any());
  // Random masks: the ratio, and the same seed gives the same mask.
  const PatchMask r1 = PatchMask::random(14, 14, 0.75, 3), r2 = PatchMask::random(14, 14, 0.75, 3);
  EXPECT_EQ(r1.count(), 147);
  EXPECT_TRUE(r1 == r2);
  EXPECT_FALSE(r1 == PatchMask::random(14, 14, 0.75, 4));
  // Focal: one contiguous visible block of about (1 - ratio) of the grid.
  const PatchMask f = PatchMask::focal(14, 14, 0.75, 1);
  int top = 14, bottom = -1, left = 14, right = -1;
  for (int p = 0; p < f.size(); ++p)
    if (!f.masked(p)) top = std::min(top, p / 14), bottom = std::max(bottom, p / 14), left = std::min(left, p % 14), right = std::max(right, p % 14);
  EXPECT_EQ((bottom - top + 1) * (right - left + 1), f.size() - f.count());  // a rectangle
  EXPECT_EQ(bottom - top + 1, 7);
  // By score: the most attended go first.
  const PatchMask s = PatchMask::by_score(1, 4, {0.1f, 0.9f, 0.5f, NAN}, 0.5, true);
  EXPECT_TRUE(s.masked(1) && s.masked(2) && !s.masked(0) && !s.masked(3));
  EXPECT_TRUE(PatchMask::by_score(1, 4, {0.1f, 0.9f, 0.5f, 0.3f}, 0.25, false).masked(0));
}

TEST(Analysis, ResponseMeasures) {
  EXPECT_LT(std::abs(cosine_similarity({1, 0}, {1, 0}) - 1.0), 1e-12);
  EXPECT_LT(std::abs(cosine_similarity({1, 0}, {0, 2})), 1e-12);
  EXPECT_LT(std::abs(kl_divergence({0.5f, 0.5f}, {0.5f, 0.5f})), 1e-12);
  EXPECT_LT(std::abs(kl_divergence({1.0f, 0.0f}, {0.5f, 0.5f}) - std::log(2.0)), 1e-6);
  EXPECT_EQ(top_indices({0.1f, 0.7f, 0.2f, 0.7f}, 3), (std::vector<int>{1, 3, 2}));
  const std::vector<RankMove> moves = rank_moves({0.6f, 0.3f, 0.1f}, {0.2f, 0.3f, 0.5f}, 1);
  ASSERT_EQ(moves.size(), std::size_t{2});  // the top-1 before and the top-1 after
  EXPECT_EQ(moves[0].index, 0);
  EXPECT_EQ(moves[0].rank_after, 2);
  EXPECT_EQ(moves[1].index, 2);
  EXPECT_EQ(moves[1].rank_before, 2);
}

TEST(Analysis, SweepPlans) {
  SweepRequest r;
  r.ratios = {0.0, 0.5};
  r.seeds = 3;
  r.patch_scores.assign(16, 0.0f);
  const std::vector<SweepJob> jobs = sweep_jobs(r, 4, 4);
  // random and focal: 2 ratios x 3 seeds; attention-guided: deterministic, one each.
  ASSERT_EQ(jobs.size(), std::size_t{2 * 6 + 2 * 2});
  EXPECT_EQ(jobs.front().mask.count(), 0);
  for (const SweepJob& j : jobs) EXPECT_LT(j.mask.count(), j.mask.size());
}

TEST(Analysis, LinearHeads) {
  LinearHead h;
  h.classes = {"a", "b"};
  h.dim = 2;
  h.weight = {10, 0, 0, 10};
  const std::vector<float> p = h.probabilities({3, 0});
  ASSERT_EQ(p.size(), std::size_t{2});
  EXPECT_GT(p[0], 0.99f);
  // Neither scale nor a common offset matters: inputs are centred and normalised.
  EXPECT_EQ(h.probabilities({3, 0}), h.probabilities({30, 0}));
  EXPECT_EQ(h.probabilities({3, 0}), h.probabilities({4, 1}));
  EXPECT_TRUE(h.probabilities({1, 2, 3}).empty());
}

// Released backbones: labels only from a classifier that exists; few-shot classes come before
// prototypes; every number the panel, the lens and the CLI show comes from here.
TEST(Analysis, PredictorRanksEverySource) {
  const Predictor none({}, 0);
  EXPECT_EQ(none.sources(), std::vector<PredictionSource>{PredictionSource::None});
  EXPECT_TRUE(none.scores({{1, 2}, {}, {}}, PredictionSource::Classifier).empty());

  LinearHead few;
  few.classes = {"left", "right"};
  few.dim = 2;
  few.weight = {10, -10, -10, 10};
  const Predictor backbone({}, 3, few);
  EXPECT_EQ(backbone.sources(), (std::vector<PredictionSource>{PredictionSource::FewShot, PredictionSource::Prototypes}));
  EXPECT_EQ(backbone.preferred(), PredictionSource::FewShot);
  const Readout r{{2, 0}, {}, {0.2f, 0.5f, 0.3f}};
  ASSERT_TRUE(backbone.top1(r, PredictionSource::FewShot));
  EXPECT_EQ(backbone.top1(r, PredictionSource::FewShot)->label, "left");
  ASSERT_TRUE(backbone.top1(r, PredictionSource::Prototypes));
  EXPECT_EQ(backbone.top1(r, PredictionSource::Prototypes)->label, "prototype 1");
  EXPECT_EQ(backbone.size(PredictionSource::Prototypes), 3);

  const Predictor classifier({"cat", "cup"}, 0, few);
  EXPECT_EQ(classifier.preferred(), PredictionSource::Classifier);
  const Readout c{{0, 2}, {0.3f, 0.7f}, {}};
  const std::vector<Scored> top = classifier.top_k(c, PredictionSource::Classifier, 5);
  ASSERT_EQ(top.size(), std::size_t{2});
  EXPECT_EQ(top[0].label, "cup");
  EXPECT_FLOAT_EQ(top[0].score, 0.7f);

  // The masking response: cosine of the CLS embeddings, top-1 before and after, prototype KL.
  const Readout masked{{0, 2}, {}, {0.5f, 0.2f, 0.3f}};
  const MaskingResponse m = masking_response(r, masked, backbone, PredictionSource::FewShot);
  EXPECT_LT(std::abs(m.cls_cosine), 1e-12);
  ASSERT_TRUE(m.top1_before && m.top1_after);
  EXPECT_EQ(m.top1_before->label, "left");
  EXPECT_EQ(m.top1_after->label, "right");
  ASSERT_TRUE(m.prototype_kl);
  EXPECT_LT(std::abs(*m.prototype_kl - kl_divergence(r.prototype_probs, masked.prototype_probs)), 1e-12);
  EXPECT_EQ(m.prototype_before, 1);
  EXPECT_EQ(m.prototype_after, 0);

  // The depth lens: each layer's top-1 under the source, and its CLS cosine to the last layer's.
  const std::vector<LensRow> lens = lens_rows({r, c, Readout{{1, 1}, {}, {}}}, backbone, PredictionSource::FewShot);
  ASSERT_EQ(lens.size(), std::size_t{3});
  EXPECT_EQ(lens[0].top1->label, "left");
  EXPECT_EQ(lens[1].top1->label, "right");
  EXPECT_NEAR(lens[0].cosine_to_output, std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(lens[1].cosine_to_output, std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(lens[2].cosine_to_output, 1.0, 1e-6);
  EXPECT_TRUE(lens_rows({}, backbone, PredictionSource::FewShot).empty());
}

}  // namespace

TEST(Analysis, BlasKernelChoice) {
  // OpenBLAS on a CPU it does not recognise runs Prescott kernels: ask for the best this CPU has.
  EXPECT_EQ(better_blas_coretype("Prescott", {true, true, true}), "SkylakeX");
  EXPECT_EQ(better_blas_coretype("Prescott", {true, true, false}), "Haswell");
  EXPECT_EQ(better_blas_coretype("Core2", {true, false, false}), "Sandybridge");
  EXPECT_EQ(better_blas_coretype("Prescott", {}), "");
  // Kernels it chose itself for a known CPU, or a BLAS other than OpenBLAS: left alone.
  EXPECT_EQ(better_blas_coretype("Cooperlake", {true, true, true}), "");
  EXPECT_EQ(better_blas_coretype("", {true, true, true}), "");
}

// Rollout's discard on the device (one stable sort) and on the CPU (radix select) zero exactly
// the same entries, ties at the threshold included; on MSNLENS_TEST_DEVICE=cuda the sort runs on
// the GPU.
TEST(Analyzer, DiscardIsTheSameSelectionOnEveryDevice) {
  at::manual_seed(5);
  // Quantised values: many ties at every threshold; entry 0 just above the zeros, so that it is
  // dropped (and restored) once more than the zeros are.
  at::Tensor fused = at::floor(at::rand({197, 197}) * 50) / 50;
  fused[0][0] = 0.001;
  const std::int64_t zeros = fused.eq(0).sum().item<std::int64_t>();
  for (const float ratio : {0.0f, 0.1f, 0.5f, 0.9f, 0.97f, 1.0f}) {
    at::Tensor radix = fused.clone(), sorted = fused.to(msntest::test_device()), sorted_cpu = fused.clone();
    discard_lowest(radix, ratio);
    discard_lowest(sorted, ratio);  // the sort wherever the test device is not the CPU
    discard_lowest_by_sort(sorted_cpu, ratio);
    EXPECT_TRUE(at::equal(radix, sorted.cpu())) << "ratio " << ratio;
    EXPECT_TRUE(at::equal(radix, sorted_cpu)) << "ratio " << ratio;
    const auto dropped = static_cast<std::int64_t>(197.0 * 197.0 * static_cast<double>(ratio));
    EXPECT_EQ(radix.eq(0).sum().item<std::int64_t>(), dropped > zeros ? dropped - 1 : zeros) << "ratio " << ratio;
    EXPECT_EQ(radix[0][0].item<float>(), 0.001f);
  }
}

