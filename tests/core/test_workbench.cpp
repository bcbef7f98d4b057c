// The app's whole flow through the Workbench, the calls its worker makes: images of several
// sizes, every mask mode, every view (map, each fusion, rollout, heads grid, overview, lens),
// masks chosen by attention, a sweep, few-shot classes; eviction of device state; refusals.
// With MSNLENS_TEST_DEVICE=cuda the flow runs on the GPU and every array is compared with the
// same flow on the CPU in fp32 at the fixtures' tolerance. Qt-free.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "engine/few_shot.h"
#include "engine/workbench.h"
#include "support.h"

using namespace msnlens;
using fixture::data_path;
using msntest::test_device;

namespace {

// A deterministic photo-like image: gradients, a disc and stripes.
RgbImage synthetic_image(int width, int height, int seed) {
  RgbImage im(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double dx = x - width * (0.3 + 0.1 * seed), dy = y - height * 0.5;
      const bool disc = dx * dx + dy * dy < 0.05 * width * height;
      std::uint8_t* p = im.row(y) + 3 * x;
      p[0] = static_cast<std::uint8_t>(disc ? 230 : (255 * x) / width);
      p[1] = static_cast<std::uint8_t>(((x / 7 + y / 5 + seed) % 2) * 120 + 40);
      p[2] = static_cast<std::uint8_t>((255 * y) / height);
    }
  return im;
}

// Every number the views show for one image, flattened with names, for comparing two runs.
using Arrays = std::vector<std::pair<std::string, std::vector<float>>>;

void add_readout(Arrays& out, const std::string& name, const Readout& r) {
  out.emplace_back(name + ".cls", r.cls);
  if (!r.class_probs.empty()) out.emplace_back(name + ".class_probs", r.class_probs);
  if (!r.prototype_probs.empty()) out.emplace_back(name + ".prototype_probs", r.prototype_probs);
}

void add_maps(Arrays& out, const std::string& name, const ViewMaps& m) {
  out.emplace_back(name + ".map", m.map);
  for (std::size_t i = 0; i < m.head_maps.size(); ++i) out.emplace_back(name + ".head" + std::to_string(i), m.head_maps[i]);
  for (std::size_t i = 0; i < m.overview.size(); ++i) out.emplace_back(name + ".overview" + std::to_string(i), m.overview[i]);
  for (std::size_t i = 0; i < m.lens.size(); ++i) add_readout(out, name + ".lens" + std::to_string(i), m.lens[i]);
}

// The flow a user goes through, on one model and device; checks what must hold on any device
// and returns every array shown.
Arrays run_flow(const std::string& model, const std::string& device, bool fused_cpu = true) {
  Workbench bench;
  WorkbenchOptions options;
  options.device = device;
  options.precision = "fp32";
  options.fused_cpu = fused_cpu;
  const ModelDescription& d = bench.load_model(data_path(model).string(), options);
  bench.add_image(1, synthetic_image(300, 200, 0));
  bench.add_image(2, synthetic_image(64, 96, 1));
  Arrays out;
  const int patches = d.grid_rows * d.grid_cols;
  std::vector<MaskMode> modes = {MaskMode::DropTokens, MaskMode::FillGray, MaskMode::FillBlur};
  if (d.has_mask_token) modes.push_back(MaskMode::MaskToken);
  const PatchMask mask = PatchMask::random(d.grid_rows, d.grid_cols, 0.4, 7);
  for (const ImageId id : {ImageId{1}, ImageId{2}}) {
    const std::string img = "image" + std::to_string(id);
    const auto unmasked = bench.view(id, {}, MaskMode::DropTokens);
    EXPECT_FALSE(unmasked->masked);
    EXPECT_EQ(unmasked->token_patch.size(), static_cast<std::size_t>(patches));
    add_readout(out, img, *unmasked);
    for (const MaskMode mode : modes) {
      const std::string v = img + "." + to_string(mode);
      const auto masked = bench.view(id, mask, mode);
      EXPECT_TRUE(masked->masked);
      EXPECT_EQ(masked->token_patch.size(), static_cast<std::size_t>(mode == MaskMode::DropTokens ? patches - mask.count() : patches));
      add_readout(out, v, *masked);
      MapRequest request;
      request.heads = request.overview = request.lens = true;
      request.map.query_patch = mask.kept().front();
      const ViewMaps maps = bench.maps(id, mask, mode, request);
      EXPECT_EQ(maps.head_maps.size(), static_cast<std::size_t>(d.heads));
      EXPECT_EQ(maps.overview.size(), static_cast<std::size_t>(d.layers * d.heads));
      EXPECT_EQ(maps.lens.size(), static_cast<std::size_t>(d.layers));
      for (int p = 0; p < patches; ++p)  // dropped patches have no map; pixel fill keeps every token
        EXPECT_EQ(std::isnan(maps.map[static_cast<std::size_t>(p)]), mode == MaskMode::DropTokens && mask.masked(p)) << v << " " << p;
      add_maps(out, v, maps);
    }
    for (const HeadFusion f : {HeadFusion::Single, HeadFusion::Max, HeadFusion::Min}) {
      MapRequest request;
      request.map.fusion = f;
      request.map.head = d.heads - 1;
      request.map.layer = 0;
      add_maps(out, img + ".fusion" + std::to_string(static_cast<int>(f)), bench.maps(id, {}, MaskMode::DropTokens, request));
    }
    // Rollout without discarding: which entries fall below a discard threshold is decided by
    // the last bits, which differ between devices (test_analyzer checks discarding per device).
    MapRequest rollout;
    rollout.map.source = MapSpec::Source::Rollout;
    rollout.map.fusion = HeadFusion::Max;
    rollout.map.discard_ratio = 0.0f;
    add_maps(out, img + ".rollout", bench.maps(id, {}, MaskMode::DropTokens, rollout));
    rollout.map.query_patch = patches / 2;
    rollout.map.fusion = HeadFusion::Mean;
    add_maps(out, img + ".rollout-patch", bench.maps(id, mask, MaskMode::DropTokens, rollout));
  }
  // Masks chosen by attention: the ratio, the patches the map weighs most.
  const PatchMask most = bench.mask_by_map(1, {}, 0.25, true);
  EXPECT_EQ(most.count(), static_cast<int>(std::lround(0.25 * patches)));
  // A short sweep: nothing masked gives the unmasked embedding.
  SweepRequest sweep;
  sweep.ratios = {0.0, 0.5};
  sweep.seeds = 2;
  int calls = 0;
  const std::vector<SweepPoint> points = bench.sweep(1, sweep, {}, [&](int, int) { return ++calls > 0; });
  EXPECT_EQ(points.size(), std::size_t{8});
  EXPECT_NEAR(points.front().cosine_mean, 1.0, 1e-5);
  std::vector<float> cosines;
  for (const SweepPoint& p : points) cosines.push_back(static_cast<float>(p.cosine_mean));
  out.emplace_back("sweep.cosine", cosines);
  // Few-shot classes from one example each: each example is its own class's top-1.
  EXPECT_EQ(bench.fit_few_shot({"first", "second"}, {{1}, {2}}), 2);
  const Predictor predictor = bench.predictor();
  EXPECT_EQ(predictor.top1(*bench.view(1, {}, MaskMode::DropTokens), PredictionSource::FewShot)->label, "first");
  EXPECT_EQ(predictor.top1(*bench.view(2, {}, MaskMode::DropTokens), PredictionSource::FewShot)->label, "second");
  out.emplace_back("fewshot", predictor.scores(*bench.view(1, {}, MaskMode::DropTokens), PredictionSource::FewShot));
  return out;
}

class WorkbenchFlow : public ::testing::TestWithParam<std::string> {};

// Every view from the test device's kernels against the CPU's LibTorch layers, in fp32: on the
// CPU that is the fused encoder against the layers, two independent paths.
TEST_P(WorkbenchFlow, EveryViewOnTheDeviceMatchesTheCpuInFp32) {
  const Arrays device = run_flow(GetParam(), test_device());
  const Arrays cpu = run_flow(GetParam(), "cpu", /*fused_cpu=*/false);
  ASSERT_EQ(device.size(), cpu.size());
  for (std::size_t i = 0; i < device.size(); ++i) {
    ASSERT_EQ(device[i].first, cpu[i].first);
    // Few-shot probabilities are a softmax of cosines over kClassMeanTemperature, which
    // magnifies the embeddings' fp32 differences up to 1 / temperature times.
    const double rel = device[i].first == "fewshot" ? 1e-4 / kClassMeanTemperature : 1e-4;
    const auto close = fixture::compare(at::tensor(device[i].second), at::tensor(cpu[i].second), GetParam() + " " + device[i].first, rel);
    EXPECT_TRUE(close.ok) << close.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, WorkbenchFlow,
                         ::testing::Values("models/tiny224-cls", "models/tiny64-masktoken", "models/tiny224-base-bin"),
                         [](const auto& param_info) {
                           std::string n = std::filesystem::path(param_info.param).filename().string();
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// Forward passes beyond the byte budget are dropped and rerun when asked for again, with the
// same results.
TEST(Workbench, EvictedViewsComeBackIdentical) {
  Workbench bench;
  WorkbenchOptions options;
  options.device = test_device();
  options.precision = "fp32";
  options.state_budget_bytes = 1;  // keep nothing but the view in use
  bench.load_model(data_path("models/tiny224-cls").string(), options);
  bench.add_image(1, synthetic_image(224, 224, 0));
  bench.add_image(2, synthetic_image(224, 224, 1));
  MapRequest request;
  request.overview = true;
  const ViewMaps first = bench.maps(1, {}, MaskMode::DropTokens, request);
  const auto first_cls = bench.view(1, {}, MaskMode::DropTokens)->cls;
  const std::size_t one = bench.device_bytes();
  EXPECT_GT(one, 0u);
  bench.maps(2, {}, MaskMode::DropTokens, request);
  EXPECT_EQ(bench.device_bytes(), one);  // image 1's state went
  const ViewMaps again = bench.maps(1, {}, MaskMode::DropTokens, request);
  EXPECT_EQ(again.map, first.map);
  EXPECT_EQ(again.overview, first.overview);
  bench.maps(2, {}, MaskMode::DropTokens, request);  // and out again
  EXPECT_EQ(bench.view(1, {}, MaskMode::DropTokens)->cls, first_cls);
}

// What the model cannot do is refused with a message naming it; a failed load keeps the model.
// What every front end draws comes from Workbench::show(): the variant shown, the display
// values with the query's own patch blanked and left out of the colour range, the controls that
// apply, the caption, what the map found and the response to masking; answers() ties the value
// to the request that made it. A comparison model adapts the request itself.
TEST(Workbench, ShownViewIsWhatEveryFrontEndDraws) {
  Workbench bench;
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp32";
  const ModelDescription d = bench.load_model(data_path("models/tiny224-cls"), options);
  bench.add_image(1, synthetic_image(224, 224, 0));
  ViewRequest r;
  r.image_id = 1;
  r.mask = PatchMask::parse("3,17,40", d.grid_rows, d.grid_cols);
  r.maps.map.query_patch = 20;
  r.ranking = PredictionSource::Classifier;
  const ShownView v = bench.show(r);
  ASSERT_TRUE(v.unmasked && v.masked && v.maps && v.response);
  EXPECT_TRUE(v.maps->masked);
  EXPECT_EQ(v.maps->mask, r.mask);
  // Display: the query's patch blanked, dropped patches without a value, the rest in [0, 1];
  // the colour bar spans the raw values drawn.
  EXPECT_EQ(v.display.channels, 1);
  EXPECT_EQ(v.display.blanked, 20);
  EXPECT_TRUE(std::isnan(v.display.values[20]) && std::isnan(v.display.values[3]));
  float lo = INFINITY, hi = -INFINITY;
  for (int p = 0; p < r.mask.size(); ++p) {
    const float raw = v.maps->map[static_cast<std::size_t>(p)];
    if (p == 20 || !std::isfinite(raw)) continue;
    lo = std::min(lo, raw), hi = std::max(hi, raw);
  }
  ASSERT_TRUE(v.display.range);
  EXPECT_EQ(v.display.range->first, lo);
  EXPECT_EQ(v.display.range->second, hi);
  for (int p = 0; p < r.mask.size(); ++p) {
    const float raw = v.maps->map[static_cast<std::size_t>(p)];
    if (p != 20 && std::isfinite(raw)) {
      EXPECT_NEAR(v.display.values[static_cast<std::size_t>(p)], (raw - lo) / (hi - lo), 1e-6) << p;
    }
  }
  EXPECT_TRUE(v.controls.layer && v.controls.heads && v.controls.query);
  EXPECT_FALSE(v.controls.target || v.controls.discard || v.controls.pca_all);
  EXPECT_EQ(v.caption, "attention, layer " + std::to_string(d.layers) + " of " + std::to_string(d.layers) +
                           " \u00b7 mean of heads \u00b7 query patch 20 (row 2, column 7) \u00b7 masked: 3 of 196 patches, drop tokens (MSN)");
  EXPECT_EQ(figure_title("cat.png", v), "cat.png \u00b7 " + v.caption);
  // The response is masking_response() under the ranking asked for.
  const MaskingResponse m = masking_response(*v.unmasked, *v.masked, bench.predictor(), PredictionSource::Classifier);
  EXPECT_DOUBLE_EQ(v.response->cls_cosine, m.cls_cosine);
  ASSERT_TRUE(v.response->top1_after && m.top1_after);
  EXPECT_EQ(v.response->top1_after->index, m.top1_after->index);

  // Another mask, map, ranking or variant is another request; the unmasked variant still
  // carries the masked read-out, which the response needs.
  EXPECT_TRUE(answers(v, r));
  ViewRequest other = r;
  other.mask.set(4, true);
  EXPECT_FALSE(answers(v, other));
  other = r;
  other.maps.map.layer = 0;
  EXPECT_FALSE(answers(v, other));
  other = r;
  other.ranking = PredictionSource::Prototypes;
  EXPECT_FALSE(answers(v, other));
  other = r;
  other.show_masked = false;
  EXPECT_FALSE(answers(v, other));
  const ShownView unmasked = bench.show(other);
  EXPECT_FALSE(unmasked.maps->masked);
  EXPECT_TRUE(unmasked.masked && unmasked.response);
  EXPECT_TRUE(answers(unmasked, other));
  EXPECT_NE(unmasked.caption.find("unmasked"), std::string::npos);

  // A class map names its target; token norms report outliers and have no query to blank.
  other = r;
  other.maps.map.source = MapSpec::Source::Chefer;
  other.maps.map.target = {PredictionSource::Classifier, -1};
  const ShownView chefer = bench.show(other);
  EXPECT_TRUE(chefer.controls.target);
  EXPECT_EQ(chefer.target_label, bench.predictor().label(PredictionSource::Classifier, chefer.maps->target.index));
  EXPECT_NE(chefer.caption.find("Chefer relevance for " + chefer.target_label), std::string::npos);
  other.maps.map.source = MapSpec::Source::TokenNorm;
  const ShownView norms = bench.show(other);
  EXPECT_EQ(norms.display.blanked, -1);
  EXPECT_NE(norms.findings.find("modified z-score > 3.5"), std::string::npos) << norms.findings;

  // Beside it, a model with another grid (64 px, patch 8) shows the image unmasked from the
  // CLS token and says why; class maps explain its own top prediction or say why they cannot.
  Workbench beside;
  beside.load_model(data_path("models/tiny64-masktoken"), options);
  beside.add_image(1, synthetic_image(224, 224, 0));
  const ShownView c = beside.show_compared(r);
  ASSERT_TRUE(c.maps);
  EXPECT_FALSE(c.maps->masked);
  EXPECT_EQ(c.request.maps.map.query_patch, -1);
  EXPECT_NE(c.note.find("patch grid differs"), std::string::npos) << c.note;
  other = r;
  other.maps.map.source = MapSpec::Source::Chefer;
  other.maps.map.target = {PredictionSource::Classifier, 0};
  EXPECT_NE(beside.show_compared(other).note.find("pick a classifier label"), std::string::npos);
}

TEST(Workbench, RefusalsNameTheProblemAndKeepTheState) {
  Workbench bench;
  WorkbenchOptions options;
  options.device = test_device();
  options.precision = "fp32";
  EXPECT_THROW(bench.view(1, {}, MaskMode::DropTokens), Error);  // no model yet
  bench.load_model(data_path("models/tiny224-cls").string(), options);
  bench.add_image(1, synthetic_image(50, 40, 0));
  const auto before = bench.view(1, {}, MaskMode::DropTokens);
  const auto message = [&](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message([&] { bench.view(1, PatchMask::random(14, 14, 0.5, 1), MaskMode::MaskToken); }).find("mask token"), std::string::npos);
  EXPECT_NE(message([&] { bench.view(1, PatchMask::random(4, 4, 0.5, 1), MaskMode::DropTokens); }).find("16 patches"), std::string::npos);
  EXPECT_NE(message([&] { bench.view(9, {}, MaskMode::DropTokens); }).find("image 9"), std::string::npos);
  const std::filesystem::path broken = std::filesystem::temp_directory_path() / "msnlens-broken.safetensors";
  std::ofstream(broken) << "not a checkpoint";
  EXPECT_NE(message([&] { bench.load_model(broken.string(), options); }).find("msnlens-broken.safetensors"), std::string::npos);
  std::filesystem::remove(broken);
  EXPECT_EQ(bench.model().layers, 2);
  EXPECT_EQ(bench.view(1, {}, MaskMode::DropTokens), before);
}

}  // namespace

// The one rule every front end follows for few-shot classes: those given, else those the model
// ships beside it; classes made for another model fail the load by name and change nothing.
TEST(Workbench, LoadsTheClassesAModelShipsOrThoseGiven) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::temp_directory_path() / "msnlens-shipped-classes";
  fs::create_directories(folder);
  for (const auto& file : fs::directory_iterator(data_path("models/tiny224-cls"))) fs::copy_file(file.path(), folder / file.path().filename(), fs::copy_options::overwrite_existing);
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp32";
  {
    Workbench fit;
    fit.load_model(folder.string(), options);
    fit.add_image(1, synthetic_image(64, 64, 0));
    fit.add_image(2, synthetic_image(64, 64, 1));
    EXPECT_TRUE(fit.few_shot().empty());  // none shipped yet
    EXPECT_EQ(fit.fit_few_shot({"disc left", "disc right"}, {{1}, {2}}), 2);
    fit.save_few_shot((folder / "classes.fewshot").string());
  }
  Workbench bench;
  bench.load_model(folder.string(), options);
  EXPECT_EQ(bench.few_shot_source(), "classes.fewshot");
  EXPECT_TRUE(bench.predictor().offers(PredictionSource::FewShot));
  EXPECT_EQ(bench.predictor().label(PredictionSource::FewShot, 1), "disc right");
  // The bundled model's classes take 192-dimensional embeddings: refused, naming the file.
  options.few_shot = data_path("../../resources/models/msn-fmnist/classes.fewshot").string();
  std::string message;
  try {
    bench.load_model(folder.string(), options);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("msn-fmnist/classes.fewshot"), std::string::npos) << message;
  EXPECT_NE(message.find("192"), std::string::npos) << message;
  EXPECT_EQ(bench.few_shot_source(), "classes.fewshot");  // the classes and model loaded before stay
  EXPECT_EQ(bench.predictor().label(PredictionSource::FewShot, 0), "disc left");
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(folder)) fs::remove(file.path(), ec);
  fs::remove(folder, ec);
}

// What the app's Causes tab and faithfulness strip ask: targets left to the engine (index -1)
// resolve to the unmasked image's top prediction, for maps with and without a target.
TEST(Workbench, CausesAndCurvesFollowTheTopPrediction) {
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp32";
  Workbench bench;
  const ModelDescription& d = bench.load_model(data_path("models/tiny224-cls").string(), options);
  bench.add_image(1, synthetic_image(224, 224, 0));
  const int top = bench.predictor().top1(*bench.view(1, {}, MaskMode::DropTokens), PredictionSource::Classifier)->index;
  const ExplainTarget wanted{PredictionSource::Classifier, -1};
  MapSpec rollout;
  rollout.source = MapSpec::Source::Rollout;
  rollout.target = wanted;  // as the app's "Top prediction" sends it, for a map without a target
  FaithfulnessOptions few;
  few.random_orders = 1;
  EXPECT_EQ(bench.faithfulness(1, {}, rollout, few).target, (ExplainTarget{PredictionSource::Classifier, top}));
  const HeadAblation heads = bench.head_ablation(1, {}, wanted);
  EXPECT_EQ(heads.target.index, top);
  EXPECT_EQ(heads.delta.size(), static_cast<std::size_t>(d.layers * d.heads));
  EXPECT_THROW(bench.patching(1, PatchMask(d.grid_rows, d.grid_cols), wanted), Error);  // nothing masked, nothing to patch
  const PatchMask mask = PatchMask::random(d.grid_rows, d.grid_cols, 0.5, 3);
  const Patching p = bench.patching(1, mask, wanted);
  ASSERT_EQ(p.restoration.size(), static_cast<std::size_t>(d.layers * mask.size()));
  for (int i = 0; i < mask.size(); ++i) EXPECT_EQ(std::isnan(p.restoration[static_cast<std::size_t>(mask.size() + i)]), mask.masked(i));
  // The embeddings of kept patches are their unmasked values already: patching them changes nothing.
  EXPECT_NEAR(p.all.front(), 0.0, 1e-9);
  KnockoutRequest hide;
  for (int i = 0; i < mask.size(); ++i) hide.patches.push_back(i);
  hide.every_query = true;
  const KnockoutEffect k = bench.knockout(1, {}, hide, wanted);
  EXPECT_NE(k.knocked_score, k.score);
  EXPECT_LT(k.cls_cosine, 1.0);
  EXPECT_THROW(bench.head_ablation(1, {}, wanted, [](int, int) { return false; }), Error);
}

// The random orders' curves do not depend on the map: measured once per view and target, they
// serve the next map, and equal what a fresh workbench measures for that map alone.
TEST(Workbench, FaithfulnessReusesTheRandomBaselineAcrossMaps) {
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp32";
  MapSpec rollout, attention;
  rollout.source = MapSpec::Source::Rollout;
  rollout.target = attention.target = {PredictionSource::Classifier, -1};
  FaithfulnessOptions few;
  few.random_orders = 2;
  few.steps = 4;
  Workbench both, alone;
  for (Workbench* b : {&both, &alone}) {
    b->load_model(data_path("models/tiny224-cls").string(), options);
    b->add_image(1, synthetic_image(224, 224, 2));
  }
  const Faithfulness first = both.faithfulness(1, {}, rollout, few);
  const Faithfulness second = both.faithfulness(1, {}, attention, few);
  const Faithfulness fresh = alone.faithfulness(1, {}, attention, few);
  EXPECT_EQ(second.random_deletion_auc, first.random_deletion_auc);
  EXPECT_EQ(second.random_insertion_auc, fresh.random_insertion_auc);
  EXPECT_EQ(second.map.deletion, fresh.map.deletion);
  EXPECT_NE(second.map.deletion, first.map.deletion) << "two maps, two orders";
  // New classes score another target: the baseline is measured again, not reused.
  EXPECT_EQ(both.fit_few_shot({"a", "b"}, {{1}, {1}}), 2);
  MapSpec few_shot = attention;
  few_shot.target = {PredictionSource::FewShot, 0};
  EXPECT_NE(both.faithfulness(1, {}, few_shot, few).random_insertion_auc, second.random_insertion_auc);
}
