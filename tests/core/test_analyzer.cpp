// The analysis engine's views against float64 references: the golden fixtures' attentions and
// hidden states (computed in float64 from the stored weights) give each head's row for a
// query, every head fusion, the overview, rollout and the depth lens, on the unmasked view
// and on views masked by token dropping and by the mask token. Qt-free, so GPU builds run it:
// MSNLENS_TEST_DEVICE=cuda runs everything on the GPU (default: cpu).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "analysis/attention_maps.h"
#include "checkpoint/key_layout.h"
#include "checkpoint/safetensors.h"
#include "engine/analyzer.h"
#include "support.h"

using namespace msnlens;
using fixture::compare;
using fixture::data_path;
using msntest::test_device;

namespace {

// One golden case, run by the Analyzer on the test device in fp32.
struct Case {
  InferenceSession session;
  PreparedImage image;
  PatchMask mask;
  MaskMode mode = MaskMode::DropTokens;
  TensorMap expected;
  std::vector<int> token_patch;  // of the expected tensors' tokens

  at::Tensor want(const std::string& name) const { return expected.at(name).to(at::kDouble); }
  int layers() const { return static_cast<int>(session.model().config().num_hidden_layers); }
  int patches() const { return static_cast<int>(session.model().config().num_patches()); }
};

Case load_case(const std::string& name) {
  nlohmann::json spec;
  std::ifstream(data_path("cases/" + name + ".json")) >> spec;
  ConfigOverride config;
  if (spec.contains("config")) config = {spec["config"], "case config"};
  SafetensorsContent content = read_safetensors(data_path("cases/" + spec["expected"].get<std::string>()));
  Case c{InferenceSession(load_model(data_path(spec["model"].get<std::string>()), config), {test_device(), Precision::FP32}),
         {}, {}, MaskMode::DropTokens, std::move(content.tensors), {}};
  const auto input = [&](const std::string& n) -> at::Tensor {
    const auto it = c.expected.find("inputs." + n);
    return it == c.expected.end() ? at::Tensor() : it->second;
  };
  c.image.pixels = (input("pixel_values").defined() ? input("pixel_values") : c.expected.at("pixel_values")).to(at::kFloat);
  const int side = static_cast<int>(c.session.model().config().grid_size());
  c.mask = PatchMask(side, side);
  for (int p = 0; p < c.patches(); ++p) c.token_patch.push_back(p);
  // keep_patches masks the attentions' view only where the case says so (the MSN case keeps its
  // unmasked attentions and has masked.* outputs instead).
  if (input("keep_patches").defined() && c.expected.count("masked.last_hidden_state") == 0) {
    const at::Tensor keep = input("keep_patches")[0];
    for (int p = 0; p < c.patches(); ++p) c.mask.set(p, true);
    c.token_patch.clear();
    for (std::int64_t i = 0; i < keep.size(0); ++i) {
      c.mask.set(static_cast<int>(keep[i].item<std::int64_t>()), false);
      c.token_patch.push_back(static_cast<int>(keep[i].item<std::int64_t>()));
    }
  }
  if (input("bool_masked_pos").defined()) {
    const at::Tensor flags = input("bool_masked_pos")[0];
    for (int p = 0; p < c.patches(); ++p) c.mask.set(p, flags[p].item<bool>());
    c.mode = MaskMode::MaskToken;
  }
  return c;
}

at::Tensor on_patches(const at::Tensor& tokens, const Case& c) {
  const at::Tensor t = tokens.to(at::kFloat).contiguous();
  return at::tensor(tokens_to_patches({t.data_ptr<float>(), t.data_ptr<float>() + t.numel()}, c.token_patch, c.patches(),
                                      std::numeric_limits<float>::quiet_NaN()));
}

at::Tensor as_tensor(const std::vector<float>& v) { return at::tensor(v); }

at::Tensor fuse(const at::Tensor& heads, HeadFusion f, int head) {
  switch (f) {
    case HeadFusion::Single: return heads[head];
    case HeadFusion::Mean: return heads.mean(0);
    case HeadFusion::Max: return std::get<0>(heads.max(0));
    case HeadFusion::Min: return std::get<0>(heads.min(0));
  }
  return heads.mean(0);
}

// Abnar & Zuidema's rollout exactly as vit-explain computes it, in float64 on whole matrices:
// fused heads, the lowest `discard` of each layer's entries zeroed (never CLS -> CLS), (A + I)
// with rows renormalised, R = A_L ... A_1.
at::Tensor reference_rollout(const std::vector<at::Tensor>& attentions, HeadFusion fusion, double discard) {
  const std::int64_t t = attentions.front().size(-1);
  at::Tensor r = at::eye(t, at::kDouble);
  for (const at::Tensor& layer : attentions) {
    at::Tensor a = fuse(layer[0].to(at::kDouble), fusion == HeadFusion::Single ? HeadFusion::Mean : fusion, 0).clone();
    at::Tensor flat = a.view({-1});
    const auto drop = static_cast<std::int64_t>(static_cast<double>(flat.numel()) * discard);
    if (drop > 0) {
      at::Tensor lowest = std::get<1>(flat.topk(drop, -1, /*largest=*/false));
      lowest = lowest.masked_select(lowest.ne(0));
      flat.index_fill_(0, lowest, 0.0);
    }
    a = a + at::eye(t, at::kDouble);
    a = a / a.sum(-1, true);
    r = at::matmul(a, r);
  }
  return r;
}

class AnalyzerCase : public ::testing::TestWithParam<std::string> {};

// Each head's attention for a query (CLS and a patch), every fusion, and the overview: the
// fixture's own maps, row by row.
TEST_P(AnalyzerCase, AttentionRowsMatchTheFloat64Maps) {
  const Case c = load_case(GetParam());
  const Analyzer analyzer(c.session);
  const auto state = analyzer.forward(c.image, c.mask, c.mode);
  ASSERT_EQ(state->token_patch(), c.token_patch);
  for (const int query_patch : {-1, c.token_patch[c.token_patch.size() / 2]}) {
    const auto token = static_cast<std::int64_t>(
        query_patch < 0 ? 0 : std::find(c.token_patch.begin(), c.token_patch.end(), query_patch) - c.token_patch.begin() + 1);
    const auto overview = analyzer.overview(*state, query_patch);
    const int heads = static_cast<int>(c.session.model().config().num_attention_heads);
    ASSERT_EQ(overview.size(), static_cast<std::size_t>(c.layers() * heads));
    for (int l = 0; l < c.layers(); ++l) {
      const at::Tensor rows = c.want("attentions." + std::to_string(l))[0].select(1, token);  // [heads, T]
      const auto per_head = analyzer.head_maps(*state, l, query_patch);
      for (int h = 0; h < heads; ++h) {
        const std::string what = GetParam() + " layer " + std::to_string(l) + " head " + std::to_string(h) + " query " +
                                 std::to_string(query_patch);
        const at::Tensor want = on_patches(rows[h], c);
        auto close = compare(as_tensor(per_head[static_cast<std::size_t>(h)]), want, what);
        EXPECT_TRUE(close.ok) << close.message;
        close = compare(as_tensor(overview[static_cast<std::size_t>(l * heads + h)]), want, what + " (overview)");
        EXPECT_TRUE(close.ok) << close.message;
      }
      for (const HeadFusion f : {HeadFusion::Single, HeadFusion::Mean, HeadFusion::Max, HeadFusion::Min}) {
        MapSpec spec;
        spec.layer = l;
        spec.fusion = f;
        spec.head = heads - 1;
        spec.query_patch = query_patch;
        const auto close = compare(as_tensor(analyzer.patch_map(*state, spec)), on_patches(fuse(rows, f, heads - 1), c),
                                   GetParam() + " fusion " + std::to_string(static_cast<int>(f)) + " layer " + std::to_string(l));
        EXPECT_TRUE(close.ok) << close.message;
      }
    }
  }
}

// Rollout without discarding against the float64 maps; with vit-explain's discarding against
// the same math on this engine's own fp32 maps (which entries fall below the threshold is
// decided by the last bits, so only the same maps can agree on them).
TEST_P(AnalyzerCase, RolloutIsTheRowOfTheFullProduct) {
  const Case c = load_case(GetParam());
  const Analyzer analyzer(c.session);
  const auto state = analyzer.forward(c.image, c.mask, c.mode);
  std::vector<at::Tensor> expected;
  for (int l = 0; l < c.layers(); ++l) expected.push_back(c.want("attentions." + std::to_string(l)));
  ForwardOptions options;
  options.output_hidden_states = false;
  if (c.mode == MaskMode::DropTokens && c.mask.any()) {
    const auto kept = c.mask.kept();
    options.keep_patches = at::tensor(kept, at::kLong).unsqueeze(0);
  }
  if (c.mode == MaskMode::MaskToken) options.bool_masked_pos = at::tensor(std::vector<std::uint8_t>(c.mask.flags())).to(at::kBool).unsqueeze(0);
  const std::vector<at::Tensor> ours = c.session.run(c.image.pixels, options).attentions;
  for (const int query_patch : {-1, c.token_patch.back()}) {
    const std::int64_t token = query_patch < 0 ? 0 : static_cast<std::int64_t>(c.token_patch.size());
    for (const HeadFusion f : {HeadFusion::Mean, HeadFusion::Max, HeadFusion::Min}) {
      for (const float discard : {0.0f, 0.5f, 0.9f}) {
        MapSpec spec;
        spec.source = MapSpec::Source::Rollout;
        spec.fusion = f;
        spec.discard_ratio = discard;
        spec.query_patch = query_patch;
        const at::Tensor want = reference_rollout(discard == 0.0f ? expected : ours, f, discard)[token];
        const auto close = compare(as_tensor(analyzer.patch_map(*state, spec)), on_patches(want, c),
                                   GetParam() + " rollout fusion " + std::to_string(static_cast<int>(f)) + " discard " +
                                       std::to_string(discard) + " query " + std::to_string(query_patch));
        EXPECT_TRUE(close.ok) << close.message;
      }
    }
  }
}

// The final read-out and the lens's last row are the model's output; every row is that
// layer's CLS token through the final LayerNorm and the classifier, in float64 from the
// fixture's hidden states and the checkpoint's weights (where they are safetensors).
TEST_P(AnalyzerCase, LensReadsEachLayerOut) {
  const Case c = load_case(GetParam());
  const Analyzer analyzer(c.session);
  const auto state = analyzer.forward(c.image, c.mask, c.mode);
  const at::Tensor last = c.want("last_hidden_state")[0][0];
  auto close = compare(as_tensor(state->readout().cls), last, GetParam() + " cls");
  EXPECT_TRUE(close.ok) << close.message;
  const std::vector<Readout> lens = analyzer.lens(*state);
  ASSERT_EQ(lens.size(), static_cast<std::size_t>(c.layers()));
  close = compare(as_tensor(lens.back().cls), last, GetParam() + " lens output");
  EXPECT_TRUE(close.ok) << close.message;
  if (c.expected.count("logits")) {
    close = compare(as_tensor(state->readout().class_probs), at::softmax(c.want("logits")[0], -1), GetParam() + " class probs");
    EXPECT_TRUE(close.ok) << close.message;
  }
  if (c.expected.count("prototype_probs")) {
    close = compare(as_tensor(state->readout().prototype_probs), c.want("prototype_probs")[0], GetParam() + " prototypes");
    EXPECT_TRUE(close.ok) << close.message;
  }
  const std::string model = c.session.loaded().summary.files.front();
  if (model.size() < 12 || model.substr(model.size() - 12) != ".safetensors") return;
  const TensorMap w = to_canonical_names(read_safetensors(model).tensors, model).tensors;
  const double eps = c.session.model().config().layer_norm_eps;
  for (int l = 0; l < c.layers(); ++l) {
    const at::Tensor x = c.want("hidden_states." + std::to_string(l + 1))[0][0];
    const at::Tensor normed = (x - x.mean()) / (x.var(/*unbiased=*/false) + eps).sqrt() * w.at("layernorm.weight").to(at::kDouble) +
                              w.at("layernorm.bias").to(at::kDouble);
    const Readout& row = lens[static_cast<std::size_t>(l)];
    close = compare(as_tensor(row.cls), normed, GetParam() + " lens layer " + std::to_string(l + 1));
    EXPECT_TRUE(close.ok) << close.message;
    if (w.count("classifier.weight")) {
      const at::Tensor logits = at::matmul(w.at("classifier.weight").to(at::kDouble), normed) + w.at("classifier.bias").to(at::kDouble);
      close = compare(as_tensor(row.class_probs), at::softmax(logits, -1), GetParam() + " lens probs " + std::to_string(l + 1));
      EXPECT_TRUE(close.ok) << close.message;
    }
  }
}

// MSN's own masking on the original checkpoint: the masked view's read-out (CLS, prototype
// assignment) against the fixture's masked.* outputs.
TEST(Analyzer, TokenDroppingMatchesTheOriginalMsnOutputs) {
  Case c = load_case("tiny96-msn-original");
  const at::Tensor keep = c.expected.at("inputs.keep_patches")[0];
  for (int p = 0; p < c.patches(); ++p) c.mask.set(p, true);
  for (std::int64_t i = 0; i < keep.size(0); ++i) c.mask.set(static_cast<int>(keep[i].item<std::int64_t>()), false);
  const Analyzer analyzer(c.session);
  const auto state = analyzer.forward(c.image, c.mask, MaskMode::DropTokens);
  EXPECT_EQ(state->tokens(), keep.size(0) + 1);
  auto close = compare(as_tensor(state->readout().cls), c.want("masked.last_hidden_state")[0][0], "masked cls");
  EXPECT_TRUE(close.ok) << close.message;
  close = compare(as_tensor(state->readout().prototype_probs), c.want("masked.prototype_probs")[0], "masked prototypes");
  EXPECT_TRUE(close.ok) << close.message;
  // A patch the model did not see has no map, and cannot be a query.
  const int dropped = 2;
  ASSERT_TRUE(c.mask.masked(dropped));
  EXPECT_TRUE(std::isnan(analyzer.patch_map(*state, {})[dropped]));
  MapSpec from_dropped;
  from_dropped.query_patch = dropped;
  for (const float v : analyzer.patch_map(*state, from_dropped)) EXPECT_TRUE(std::isnan(v));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AnalyzerCase,
                         ::testing::Values("tiny224-cls-chelsea", "tiny224-base-bin-drop", "tiny64-masktoken-bmp",
                                           "tiny96-msn-original"),
                         msntest::ParamName());

}  // namespace
