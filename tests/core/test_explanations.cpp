// The explanation maps against float64 references (scripts/make-fixtures.py, cases
// explain-*: their own forward pass, autograd in float64, cross-checked by finite differences
// and an independent numpy implementation): grad-rollout, Chefer's relevance, occlusion by
// token dropping, similarity, token norms, PCA and attention distance, for a classifier label,
// a few-shot class and an MSN prototype, on a full view and one with 40 % of its tokens
// dropped. Qt-free; MSNLENS_TEST_DEVICE=cuda runs it on the GPU.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "analysis/attention_maps.h"
#include "checkpoint/key_layout.h"
#include "checkpoint/safetensors.h"
#include "engine/analyzer.h"
#include "engine/faithfulness.h"
#include "engine/interventions.h"
#include "support.h"

using namespace msnlens;
using fixture::compare;
using fixture::data_path;
using msntest::error_of;
using msntest::test_device;

namespace {

struct ExplainCase {
  std::unique_ptr<InferenceSession> session;
  std::unique_ptr<Analyzer> analyzer;
  std::shared_ptr<const ForwardState> state;
  TensorMap expected;
  LinearHead few_shot;
  ExplainTarget target;
  int query_patch = -1;
  float discard_ratio = 0;
  KnockoutRequest knockout;
  std::shared_ptr<const ForwardState> clean;  // the unmasked view, where the case drops tokens

  at::Tensor want(const std::string& name) const { return expected.at("explain." + name).to(at::kDouble).flatten(); }
  at::Tensor map(MapSpec spec) const {
    return at::tensor(analyzer->patch_map(*state, spec, few_shot)).to(at::kDouble);
  }
};

ExplainTarget parse_target(const nlohmann::json& t) {
  const std::string s = t.at("source");
  const PredictionSource source = s == "classifier" ? PredictionSource::Classifier
                                  : s == "few_shot" ? PredictionSource::FewShot
                                  : s == "prototype" ? PredictionSource::Prototypes
                                                     : PredictionSource::None;
  return {source, t.at("index").get<int>()};
}

ExplainCase load(const std::string& name) {
  nlohmann::json spec;
  std::ifstream(data_path("cases/" + name + ".json")) >> spec;
  ExplainCase c;
  c.expected = read_safetensors(data_path("cases/" + spec["expected"].get<std::string>())).tensors;
  ConfigOverride config;
  if (spec.contains("config")) config = {spec["config"], "case config"};
  c.session = std::make_unique<InferenceSession>(load_model(data_path(spec["model"].get<std::string>()), config),
                                                 SessionOptions{test_device(), Precision::FP32});
  c.analyzer = std::make_unique<Analyzer>(*c.session);
  const nlohmann::json& e = spec["explain"];
  c.target = parse_target(e["target"]);
  c.query_patch = e["query_patch"];
  c.discard_ratio = e["discard_ratio"];
  if (e.contains("knockout")) {
    c.knockout.patches = e["knockout"]["patches"].get<std::vector<int>>();
    c.knockout.layers = e["knockout"]["layers"].get<std::vector<int>>();
    c.knockout.every_query = e["knockout"]["every_query"];
  }
  const int side = static_cast<int>(c.session->model().config().grid_size());
  PatchMask mask(side, side);
  if (const auto keep = c.expected.find("inputs.keep_patches"); keep != c.expected.end()) {
    for (int p = 0; p < mask.size(); ++p) mask.set(p, true);
    const at::Tensor k = keep->second.flatten();
    for (std::int64_t i = 0; i < k.numel(); ++i) mask.set(static_cast<int>(k[i].item<std::int64_t>()), false);
  }
  if (const auto w = c.expected.find("inputs.few_shot_weight"); w != c.expected.end()) {
    const at::Tensor weight = w->second.to(at::kFloat).contiguous();
    c.few_shot.dim = static_cast<int>(weight.size(1));
    c.few_shot.temperature = e["temperature"];
    c.few_shot.weight.assign(weight.data_ptr<float>(), weight.data_ptr<float>() + weight.numel());
    for (std::int64_t i = 0; i < weight.size(0); ++i) c.few_shot.classes.push_back("class " + std::to_string(i));
  }
  PreparedImage image;
  image.pixels = c.expected.at("pixel_values").to(at::kFloat);
  c.state = c.analyzer->forward(image, mask, MaskMode::DropTokens);
  if (mask.any()) c.clean = c.analyzer->forward(image, PatchMask(side, side), MaskMode::DropTokens);
  return c;
}

class Explanations : public ::testing::TestWithParam<std::string> {};

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  // NaN exactly where the reference has NaN (dropped patches), the fixture bound elsewhere.
  EXPECT_TRUE(got.isnan().equal(want.isnan())) << what << ": NaN at other patches";
  const auto c = compare(got, want, what);
  EXPECT_TRUE(c.ok) << c.message;
}

TEST_P(Explanations, EveryMapMatchesTheFloat64Reference) {
  const ExplainCase c = load(GetParam());
  using Source = MapSpec::Source;
  auto spec = [&](Source source, int query, float discard = 0.0f) {
    MapSpec s;
    s.source = source;
    s.query_patch = query;
    s.discard_ratio = discard;
    s.target = c.target;
    return s;
  };
  expect_close(c.map(spec(Source::Rollout, -1)), c.want("rollout"), "rollout");
  expect_close(c.map(spec(Source::GradRollout, -1)), c.want("grad_rollout"), "grad-rollout");
  expect_close(c.map(spec(Source::GradRollout, -1, c.discard_ratio)), c.want("grad_rollout.discard"), "grad-rollout, discarding");
  expect_close(c.map(spec(Source::Chefer, -1)), c.want("chefer"), "chefer");
  expect_close(c.map(spec(Source::Chefer, c.query_patch)), c.want("chefer.query"), "chefer, query patch");
  expect_close(c.map(spec(Source::Occlusion, -1)), c.want("occlusion"), "occlusion");
  MapSpec cls_occlusion = spec(Source::Occlusion, -1);
  cls_occlusion.target = {};
  // 1 − cosine of nearly equal embeddings: float32 resolves it only to ~1e-7, so relative to
  // the largest value rather than to 1.
  const at::Tensor none = c.want("occlusion.none");
  const double scale = none.nan_to_num(0.0).abs().max().item<double>();
  const auto moved = compare(c.map(cls_occlusion) / scale, none / scale, "occlusion of the CLS embedding", 1e-2);
  EXPECT_TRUE(moved.ok) << moved.message;
  expect_close(c.map(spec(Source::Similarity, c.query_patch)), c.want("similarity"), "similarity");
  expect_close(c.map(spec(Source::Similarity, -1)), c.want("similarity.cls"), "similarity to CLS");
  MapSpec norms = spec(Source::TokenNorm, -1);
  expect_close(c.map(norms), c.want("token_norms"), "token norms, last layer");
  norms.layer = 0;
  expect_close(c.map(norms), c.want("token_norms.layer0"), "token norms, first layer");
  expect_close(c.map(spec(Source::Pca, -1)), c.want("pca"), "pca");
  expect_close(at::tensor(c.analyzer->attention_distance(*c.state)).to(at::kDouble), c.want("distance"), "attention distance");
}

// Deletion and insertion curves of the reference's own rollout (so both rank the same patches),
// their AUCs, and those of two random orders (seed 0), against the float64 reference: p_t with
// MSN's token dropping, over the patches the view saw.
TEST_P(Explanations, FaithfulnessCurvesMatchTheFloat64Reference) {
  const ExplainCase c = load(GetParam());
  if (c.expected.count("explain.faithfulness.auc") == 0) GTEST_SKIP() << "the case explains no score";
  const at::Tensor rollout = c.expected.at("explain.rollout").to(at::kFloat).contiguous();
  const std::vector<float> map(rollout.data_ptr<float>(), rollout.data_ptr<float>() + rollout.numel());
  FaithfulnessOptions options;
  options.random_orders = 2;
  const Faithfulness f = faithfulness(*c.session, c.expected.at("pixel_values").to(at::kFloat), c.state->token_patch(), map, c.target,
                                      c.few_shot, options);
  auto doubles = [](const std::vector<double>& v) { return at::tensor(v, at::kDouble); };
  expect_close(doubles(f.fractions), c.want("faithfulness.fractions"), "fractions");
  expect_close(doubles(f.map.deletion), c.want("faithfulness.deletion"), "deletion");
  expect_close(doubles(f.map.insertion), c.want("faithfulness.insertion"), "insertion");
  expect_close(doubles({f.map.deletion_auc, f.map.insertion_auc}), c.want("faithfulness.auc"), "AUCs");
  ASSERT_EQ(f.random.size(), 2u);
  std::vector<double> deletion, insertion, aucs;
  for (const FaithfulnessCurve& r : f.random) {
    deletion.insert(deletion.end(), r.deletion.begin(), r.deletion.end());
    insertion.insert(insertion.end(), r.insertion.begin(), r.insertion.end());
    aucs.insert(aucs.end(), {r.deletion_auc, r.insertion_auc});
  }
  expect_close(doubles(deletion), c.want("faithfulness.random_deletion"), "random deletion");
  expect_close(doubles(insertion), c.want("faithfulness.random_insertion"), "random insertion");
  expect_close(doubles(aucs), c.want("faithfulness.random_auc"), "random AUCs");
  EXPECT_DOUBLE_EQ(f.random_deletion_auc, (aucs[0] + aucs[2]) / 2);
  // The ends of the curves: nothing dropped is the view itself; everything dropped is the CLS
  // token alone, which is also where insertion starts.
  EXPECT_DOUBLE_EQ(f.map.deletion.back(), f.map.insertion.front());
  EXPECT_DOUBLE_EQ(f.map.deletion.front(), f.map.insertion.back());
}

// Head ablation, attention knockout and activation patching, each hooks on the one forward
// (fused kernels where no hook reaches inside a layer), against the float64 reference, which
// ablates through transformers' head_mask and reruns whole forwards.
TEST_P(Explanations, InterventionsMatchTheFloat64Reference) {
  const ExplainCase c = load(GetParam());
  if (c.expected.count("explain.head_ablation") == 0) GTEST_SKIP() << "the case explains no score";
  const ViTMSNModel& model = c.session->model();
  const HeadAblation a = head_ablation(model, *c.state, c.target, c.few_shot);
  EXPECT_EQ(a.layers * a.heads, static_cast<int>(c.want("head_ablation").numel()));
  expect_close(at::tensor(a.delta).to(at::kDouble), c.want("head_ablation"), "head ablation");

  const KnockoutEffect k = knockout(model, *c.state, c.knockout, c.target, c.few_shot);
  expect_close(at::tensor({k.score, k.knocked_score}, at::kDouble), c.want("knockout.score"), "knockout score");
  expect_close(at::tensor({k.cls_cosine}, at::kDouble), c.want("knockout.cls_cosine"), "knockout CLS cosine");
  EXPECT_NE(k.knocked_score, k.score) << "the knockout must change the score it is measured on";

  if (!c.clean) return;
  const int side = static_cast<int>(model.config().grid_size());
  const Patching p = activation_patching(model, *c.state, *c.clean, side, side, c.target, c.few_shot);
  expect_close(at::tensor({p.clean_score, p.masked_score}, at::kDouble), c.want("patching.scores"), "patching scores");
  expect_close(at::tensor(p.restoration).to(at::kDouble), c.want("patching"), "patching restoration");
  expect_close(at::tensor(p.cls, at::kDouble), c.want("patching.cls"), "patching the CLS token");
  expect_close(at::tensor(p.all, at::kDouble), c.want("patching.all"), "patching every token");
}

INSTANTIATE_TEST_SUITE_P(Cases, Explanations,
                         ::testing::Values("explain-tiny224-cls-chelsea", "explain-tiny224-cls-coffee-drop",
                                           "explain-tiny96-msn-original"),
                         msntest::ParamName());

TEST(ExplanationTargets, RefusalsNameWhatIsMissing) {
  const ExplainCase c = load("explain-tiny224-cls-chelsea");
  MapSpec s;
  s.source = MapSpec::Source::Chefer;
  EXPECT_NE(error_of([&] { c.map(s); }).find("pick a classifier label, a few-shot class or a prototype"), std::string::npos);
  s.target = {PredictionSource::Prototypes, 0};
  EXPECT_NE(error_of([&] { c.map(s); }).find("no MSN prototypes"), std::string::npos);
  s.target = {PredictionSource::Classifier, 5};
  EXPECT_NE(error_of([&] { c.map(s); }).find("classifier label 5 is outside 0..4"), std::string::npos);
  s.target = {PredictionSource::FewShot, 0};
  EXPECT_NE(error_of([&] { c.map(s); }).find("no few-shot classes"), std::string::npos);
}

TEST(ExplanationTargets, OcclusionStopsWhenProgressSaysSo) {
  const ExplainCase c = load("explain-tiny224-cls-chelsea");
  MapSpec s;
  s.source = MapSpec::Source::Occlusion;
  s.target = c.target;
  std::vector<std::pair<int, int>> calls;
  const std::vector<float> map = c.analyzer->patch_map(*c.state, s, {}, [&](int done, int total) {
    calls.emplace_back(done, total);
    return false;
  });
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].second, 196);
  int finite = 0;
  for (const float v : map) finite += std::isfinite(v) ? 1 : 0;
  EXPECT_EQ(finite, calls[0].first);
  EXPECT_GT(finite, 0);
  EXPECT_LT(finite, 196);
  // Those it reached agree with the whole map.
  const at::Tensor whole = c.map(s), part = at::tensor(map).to(at::kDouble);
  const at::Tensor reached = part.isfinite();
  EXPECT_TRUE(at::allclose(part.masked_select(reached), whole.masked_select(reached)));
}

// PCA fitted on two images together: the components of their pooled patch tokens, from the
// float64 last hidden states of two fixture cases, by SVD rather than the engine's eigh.
TEST(JointPca, BothImagesShareOneFit) {
  const ExplainCase chelsea = load("explain-tiny224-cls-chelsea");
  const TensorMap coffee = read_safetensors(data_path("cases/tiny224-cls-coffee.safetensors")).tensors;
  PreparedImage other;
  other.pixels = coffee.at("pixel_values").to(at::kFloat);
  const auto coffee_state = chelsea.analyzer->forward(other, PatchMask(14, 14), MaskMode::DropTokens);
  const std::vector<float> joint = chelsea.analyzer->pca_map(*chelsea.state, {chelsea.state.get(), coffee_state.get()});

  const at::Tensor a = chelsea.expected.at("last_hidden_state")[0].slice(0, 1).to(at::kDouble);
  const at::Tensor b = coffee.at("last_hidden_state")[0].slice(0, 1).to(at::kDouble);
  const at::Tensor x = at::cat({a, b}), mean = x.mean(0, true);
  const at::Tensor v = std::get<2>(at::linalg_svd(x - mean, /*full_matrices=*/false)).slice(0, 0, 3).t();
  const at::Tensor sign = at::matmul(x - mean, v).pow(3).sum(0).sign();
  const at::Tensor want = (at::matmul(a - mean, v) * sign).flatten();
  const auto close = compare(at::tensor(joint).to(at::kDouble), want, "pca fitted on two images");
  EXPECT_TRUE(close.ok) << close.message;
  // Fitted on the image alone it is the single-image map.
  MapSpec single;
  single.source = MapSpec::Source::Pca;
  EXPECT_EQ(chelsea.analyzer->pca_map(*chelsea.state, {chelsea.state.get()}), chelsea.analyzer->patch_map(*chelsea.state, single));
  EXPECT_FALSE(at::allclose(at::tensor(joint), at::tensor(chelsea.analyzer->patch_map(*chelsea.state, single)), 1e-3, 1e-3));
}

TEST(TokenNormOutliers, FlagsOnlyTheHighNormTokens) {
  std::vector<float> norms(49, 10.0f);
  for (std::size_t i = 0; i < norms.size(); ++i) norms[i] += 0.1f * static_cast<float>(i % 7);
  norms[12] = 60.0f;
  norms[30] = 55.0f;
  norms[3] = std::nanf("");
  norms[40] = 1.0f;  // unusually low is not an artifact token
  EXPECT_EQ(high_outliers(norms), (std::vector<int>{12, 30}));
  EXPECT_TRUE(high_outliers(std::vector<float>(10, 3.0f)).empty());  // no spread: nothing stands out
}

}  // namespace
