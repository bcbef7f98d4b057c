// The torch-free analysis behind the views: token-to-patch mapping and display maps, patch
// masks and their strategies, masking-response measures, sweep plans, linear heads and the
// predictor that ranks every source. (The maps themselves: tests/core/test_analyzer.cpp.)

#include <QtTest>

#include <cmath>
#include <numeric>

#include "analysis/attention_maps.h"
#include "analysis/linear_head.h"
#include "analysis/masking_response.h"
#include "analysis/patch_mask.h"
#include "analysis/predictions.h"
#include "analysis/sweep_plan.h"
#include "test_support.h"

using namespace msnlens;

class AnalysisTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void tokens_map_to_patches();
  void patch_masks();
  void response_measures();
  void sweep_plans();
  void linear_heads();
  void predictor_ranks_every_source();
};

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
  // The display form blanks the query's own patch before rescaling.
  const std::vector<float> shown = display_map({0.2f, 0.9f, 0.4f, 0.6f}, 1);
  QVERIFY(std::isnan(shown[1]));
  QCOMPARE(shown[0], 0.0f);
  QCOMPARE(shown[3], 1.0f);
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

// Released backbones: labels only from a classifier that exists; few-shot classes come before
// prototypes; every number the panel, the lens and the CLI show comes from here.
void AnalysisTest::predictor_ranks_every_source() {
  const Predictor none({}, 0);
  QCOMPARE(none.sources(), std::vector<PredictionSource>{PredictionSource::None});
  QVERIFY(none.scores({{1, 2}, {}, {}}, PredictionSource::Classifier).empty());

  LinearHead few;
  few.classes = {"left", "right"};
  few.dim = 2;
  few.weight = {10, -10, -10, 10};
  const Predictor backbone({}, 3, few);
  QCOMPARE(backbone.sources(), (std::vector<PredictionSource>{PredictionSource::FewShot, PredictionSource::Prototypes}));
  QCOMPARE(backbone.preferred(), PredictionSource::FewShot);
  const Readout r{{2, 0}, {}, {0.2f, 0.5f, 0.3f}};
  QCOMPARE(backbone.top1(r, PredictionSource::FewShot)->label, std::string("left"));
  QCOMPARE(backbone.top1(r, PredictionSource::Prototypes)->label, std::string("prototype 1"));
  QCOMPARE(backbone.size(PredictionSource::Prototypes), 3);

  const Predictor classifier({"cat", "cup"}, 0, few);
  QCOMPARE(classifier.preferred(), PredictionSource::Classifier);
  const Readout c{{0, 2}, {0.3f, 0.7f}, {}};
  const std::vector<Scored> top = classifier.top_k(c, PredictionSource::Classifier, 5);
  QCOMPARE(top.size(), std::size_t{2});
  QCOMPARE(top[0].label, std::string("cup"));
  QCOMPARE(top[0].score, 0.7f);

  // The masking response: cosine of the CLS embeddings, top-1 before and after, prototype KL.
  const Readout masked{{0, 2}, {}, {0.5f, 0.2f, 0.3f}};
  const MaskingResponse m = masking_response(r, masked, backbone, PredictionSource::FewShot);
  QVERIFY(std::abs(m.cls_cosine) < 1e-12);
  QCOMPARE(m.top1_before->label, std::string("left"));
  QCOMPARE(m.top1_after->label, std::string("right"));
  QVERIFY(m.prototype_kl && std::abs(*m.prototype_kl - kl_divergence(r.prototype_probs, masked.prototype_probs)) < 1e-12);
  QCOMPARE(m.prototype_before, 1);
  QCOMPARE(m.prototype_after, 0);
}

QTEST_GUILESS_MAIN(AnalysisTest)
#include "test_analysis.moc"
