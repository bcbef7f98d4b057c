// The torch-free analysis behind the views: attention per query and head fusion, rollout,
// token-to-patch mapping, patch masks and their strategies, masking-response measures, sweep
// plans and linear heads.

#include <QtTest>

#include <cmath>
#include <numeric>

#include "analysis/attention_maps.h"
#include "analysis/linear_head.h"
#include "analysis/masking_response.h"
#include "analysis/patch_mask.h"
#include "analysis/sweep_plan.h"
#include "test_support.h"

using namespace msnlens;

namespace {

// A stack of `layers` x `heads` row-stochastic matrices over `tokens`, deterministic.
AttentionStack make_stack(int layers, int heads, int tokens) {
  AttentionStack a;
  a.layers = layers;
  a.heads = heads;
  a.tokens = tokens;
  for (int l = 0; l < layers; ++l) {
    auto block = std::shared_ptr<float>(new float[static_cast<std::size_t>(heads * tokens * tokens)], std::default_delete<float[]>());
    for (int h = 0; h < heads; ++h)
      for (int q = 0; q < tokens; ++q) {
        float* row = block.get() + (h * tokens + q) * tokens;
        float sum = 0;
        for (int k = 0; k < tokens; ++k) sum += row[k] = 1.0f + static_cast<float>((l * 7 + h * 5 + q * 3 + k) % 11);
        for (int k = 0; k < tokens; ++k) row[k] /= sum;
      }
    a.layer_data.push_back(block);
  }
  for (int p = 0; p < tokens - 1; ++p) a.token_patch.push_back(p);
  return a;
}

}  // namespace

class AnalysisTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void head_fusion();
  void rollout_is_row_stochastic_and_matches_a_direct_product();
  void tokens_map_to_patches();
  void patch_masks();
  void response_measures();
  void sweep_plans();
  void linear_heads();
};

void AnalysisTest::head_fusion() {
  const AttentionStack a = make_stack(2, 3, 5);
  const std::vector<float> h0 = query_attention(a, 1, HeadFusion::Single, 0, 2);
  const std::vector<float> h2 = query_attention(a, 1, HeadFusion::Single, 2, 2);
  const std::vector<float> mean = query_attention(a, 1, HeadFusion::Mean, 0, 2);
  const std::vector<float> mx = query_attention(a, 1, HeadFusion::Max, 0, 2);
  const std::vector<float> mn = query_attention(a, 1, HeadFusion::Min, 0, 2);
  for (int k = 0; k < 5; ++k) {
    const float h1 = query_attention(a, 1, HeadFusion::Single, 1, 2)[static_cast<std::size_t>(k)];
    const std::size_t i = static_cast<std::size_t>(k);
    QVERIFY(std::abs(mean[i] - (h0[i] + h1 + h2[i]) / 3) < 1e-6f);
    QCOMPARE(mx[i], std::max({h0[i], h1, h2[i]}));
    QCOMPARE(mn[i], std::min({h0[i], h1, h2[i]}));
  }
  QVERIFY(std::abs(std::accumulate(mean.begin(), mean.end(), 0.0f) - 1.0f) < 1e-5f);
}

void AnalysisTest::rollout_is_row_stochastic_and_matches_a_direct_product() {
  const AttentionStack a = make_stack(3, 2, 4);
  const std::vector<float> r = attention_rollout(a, HeadFusion::Mean, 0.0f);
  for (int i = 0; i < 4; ++i) {
    float sum = 0;
    for (int j = 0; j < 4; ++j) sum += r[static_cast<std::size_t>(i * 4 + j)];
    QVERIFY(std::abs(sum - 1.0f) < 1e-5f);
  }
  // Without discarding: R = A3' A2' A1' with A' = (mean over heads + I) / 2 (rows sum to 1 already).
  std::vector<double> expected(16, 0.0);
  for (int i = 0; i < 4; ++i) expected[static_cast<std::size_t>(i * 4 + i)] = 1.0;
  for (int l = 0; l < 3; ++l) {
    std::vector<double> m(16), next(16, 0.0);
    for (int q = 0; q < 4; ++q)
      for (int k = 0; k < 4; ++k)
        m[static_cast<std::size_t>(q * 4 + k)] = 0.5 * ((a.matrix(l, 0)[q * 4 + k] + a.matrix(l, 1)[q * 4 + k]) / 2.0 + (q == k ? 1.0 : 0.0));
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 4; ++j) next[static_cast<std::size_t>(i * 4 + j)] += m[static_cast<std::size_t>(i * 4 + k)] * expected[static_cast<std::size_t>(k * 4 + j)];
    expected = next;
  }
  for (std::size_t i = 0; i < 16; ++i) QVERIFY(std::abs(r[i] - expected[i]) < 1e-5);
  // Discarding the weakest entries changes the result but keeps rows stochastic.
  const std::vector<float> d = attention_rollout(a, HeadFusion::Max, 0.5f);
  QVERIFY(d != r);
  QVERIFY(std::abs(std::accumulate(d.begin(), d.begin() + 4, 0.0f) - 1.0f) < 1e-5f);
}

void AnalysisTest::tokens_map_to_patches() {
  // Tokens after dropping: CLS, then patches 4 and 1 (in that order).
  const std::vector<float> values = {0.5f, 0.2f, 0.3f};
  const std::vector<float> grid = tokens_to_patches(values, {4, 1}, 6, -1.0f);
  QCOMPARE(grid, (std::vector<float>{-1, 0.3f, -1, -1, 0.2f, -1}));
  std::vector<float> v = {2.0f, NAN, 4.0f, 3.0f};
  normalize_unit(v);
  QCOMPARE(v[0], 0.0f);
  QCOMPARE(v[2], 1.0f);
  QCOMPARE(v[3], 0.5f);
  QVERIFY(std::isnan(v[1]));
}

void AnalysisTest::patch_masks() {
  PatchMask m(3, 4);
  m.toggle(5);
  m.set(0, true);
  QCOMPARE(m.count(), 2);
  QCOMPARE(m.kept().size(), std::size_t{10});
  QCOMPARE(m.kept().front(), 1);
  m.invert();
  QCOMPARE(m.count(), 10);
  QVERIFY(!m.masked(5));
  m.clear();
  QVERIFY(!m.any());
  // Random masks: the ratio, and the same seed gives the same mask.
  const PatchMask r1 = PatchMask::random(14, 14, 0.75, 3), r2 = PatchMask::random(14, 14, 0.75, 3);
  QCOMPARE(r1.count(), 147);
  QVERIFY(r1 == r2);
  QVERIFY(!(r1 == PatchMask::random(14, 14, 0.75, 4)));
  // Focal: one contiguous visible block of about (1 - ratio) of the grid.
  const PatchMask f = PatchMask::focal(14, 14, 0.75, 1);
  int top = 14, bottom = -1, left = 14, right = -1;
  for (int p = 0; p < f.size(); ++p)
    if (!f.masked(p)) top = std::min(top, p / 14), bottom = std::max(bottom, p / 14), left = std::min(left, p % 14), right = std::max(right, p % 14);
  QCOMPARE((bottom - top + 1) * (right - left + 1), f.size() - f.count());  // a rectangle
  QCOMPARE(bottom - top + 1, 7);
  // By score: the most attended go first.
  const PatchMask s = PatchMask::by_score(1, 4, {0.1f, 0.9f, 0.5f, NAN}, 0.5, true);
  QVERIFY(s.masked(1) && s.masked(2) && !s.masked(0) && !s.masked(3));
  QVERIFY(PatchMask::by_score(1, 4, {0.1f, 0.9f, 0.5f, 0.3f}, 0.25, false).masked(0));
}

void AnalysisTest::response_measures() {
  QVERIFY(std::abs(cosine_similarity({1, 0}, {1, 0}) - 1.0) < 1e-12);
  QVERIFY(std::abs(cosine_similarity({1, 0}, {0, 2})) < 1e-12);
  QVERIFY(std::abs(kl_divergence({0.5f, 0.5f}, {0.5f, 0.5f})) < 1e-12);
  QVERIFY(std::abs(kl_divergence({1.0f, 0.0f}, {0.5f, 0.5f}) - std::log(2.0)) < 1e-6);
  QCOMPARE(top_indices({0.1f, 0.7f, 0.2f, 0.7f}, 3), (std::vector<int>{1, 3, 2}));
  const std::vector<RankMove> moves = rank_moves({0.6f, 0.3f, 0.1f}, {0.2f, 0.3f, 0.5f}, 1);
  QCOMPARE(moves.size(), std::size_t{2});  // the top-1 before and the top-1 after
  QCOMPARE(moves[0].index, 0);
  QCOMPARE(moves[0].rank_after, 2);
  QCOMPARE(moves[1].index, 2);
  QCOMPARE(moves[1].rank_before, 2);
}

void AnalysisTest::sweep_plans() {
  SweepRequest r;
  r.ratios = {0.0, 0.5};
  r.seeds = 3;
  r.patch_scores.assign(16, 0.0f);
  const std::vector<SweepJob> jobs = sweep_jobs(r, 4, 4);
  // random and focal: 2 ratios x 3 seeds; attention-guided: deterministic, one each.
  QCOMPARE(jobs.size(), std::size_t{2 * 6 + 2 * 2});
  QCOMPARE(jobs.front().mask.count(), 0);
  for (const SweepJob& j : jobs) QVERIFY(j.mask.count() < j.mask.size());
}

void AnalysisTest::linear_heads() {
  LinearHead h;
  h.classes = {"a", "b"};
  h.dim = 2;
  h.weight = {10, 0, 0, 10};
  const std::vector<float> p = h.probabilities({3, 0});
  QVERIFY(p[0] > 0.99f);
  // Neither scale nor a common offset matters: inputs are centred and normalised.
  QCOMPARE(h.probabilities({3, 0}), h.probabilities({30, 0}));
  QCOMPARE(h.probabilities({3, 0}), h.probabilities({4, 1}));
  QVERIFY(h.probabilities({1, 2, 3}).empty());
}

QTEST_GUILESS_MAIN(AnalysisTest)
#include "test_analysis.moc"
