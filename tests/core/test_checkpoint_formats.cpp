// The same weights in every layout users have: safetensors in F32/F16/BF16, sharded with an
// index, pytorch_model.bin, with and without the "vit." prefix, original MSN training files;
// and the summaries `info` reports for the bundled fixtures.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoint/key_layout.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/torch_zip.h"
#include "engine/inference_session.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;
namespace fs = std::filesystem;

namespace {

class CheckpointFormats : public TempDirTest {
 protected:
  // Writes `weights` (+ the tiny224-cls configs) into a new folder.
  fs::path folder(const std::string& name) const {
    const fs::path d = dir_ / name;
    fs::create_directories(d);
    for (const char* f : {"config.json", "preprocessor_config.json"})
      fs::copy_file(data_path("models/tiny224-cls") / f, d / f);
    return d;
  }
  static std::vector<std::pair<std::string, at::Tensor>> cls_weights(at::ScalarType dtype = at::kFloat) {
    std::vector<std::pair<std::string, at::Tensor>> list;
    for (const auto& [k, v] : read_safetensors(data_path("models/tiny224-cls/model.safetensors")).tensors)
      list.emplace_back(k, v.to(dtype));
    return list;
  }
  static at::Tensor logits_of(const fs::path& model) {
    const TensorMap expected = read_safetensors(data_path("cases/tiny224-cls-pixels.safetensors")).tensors;
    const InferenceSession s(load_model(model), {"cpu", Precision::FP32});
    return s.run(expected.at("inputs.pixel_values")).logits;
  }
};

TEST_F(CheckpointFormats, ReducedPrecisionSafetensors) {
  const TensorMap expected = read_safetensors(data_path("cases/tiny224-cls-pixels.safetensors")).tensors;
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    SCOPED_TRACE(dtype_name(dtype));
    const fs::path d = folder("dtype_" + dtype_name(dtype));
    write_safetensors(d / "model.safetensors", cls_weights(dtype));
    const LoadedModel m = load_model(d);
    EXPECT_EQ(m.summary.stored_dtype, dtype_name(dtype));
    // Weights rounded to 8 (bf16) or 11 (fp16) mantissa bits: logits stay close, not exact.
    const Closeness c = compare(logits_of(d), expected.at("logits"), "logits", dtype == at::kHalf ? 2e-3 : 2e-2);
    EXPECT_TRUE(c.ok) << c.message;
  }
}

TEST_F(CheckpointFormats, ShardedSafetensors) {
  const fs::path d = folder("sharded");
  fs::remove(d / "config.json");
  fs::copy_file(data_path("models/tiny224-cls/config.json"), d / "config.json");
  auto all = cls_weights();
  const std::size_t half = all.size() / 2;
  write_safetensors(d / "model-00001-of-00002.safetensors", {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(half)});
  write_safetensors(d / "model-00002-of-00002.safetensors", {all.begin() + static_cast<std::ptrdiff_t>(half), all.end()});
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (std::size_t i = 0; i < all.size(); ++i)
    index["weight_map"][all[i].first] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  write_file(d / "model.safetensors.index.json", index.dump());
  const LoadedModel m = load_model(d);
  EXPECT_EQ(m.summary.files.size(), std::size_t{2});
  EXPECT_NE(m.summary.format.find("2 shards"), std::string::npos) << m.summary.format;
  const at::Tensor want = logits_of(data_path("models/tiny224-cls"));
  EXPECT_TRUE(at::equal(logits_of(d), want));
  // An index that points outside its folder is refused.
  write_file(d / "model.safetensors.index.json", R"({"weight_map": {"a": "../model.safetensors"}})");
  MSN_EXPECT_ERROR(load_model(d), "model.safetensors.index.json", "not a file beside the index");
}

TEST_F(CheckpointFormats, BackboneWithoutPrefixHasNoClassifier) {
  // ViTMSNModel layout: no "vit." prefix and no classifier, yet config lists labels.
  const fs::path d = folder("backbone");
  std::vector<std::pair<std::string, at::Tensor>> backbone;
  for (const auto& [k, v] : cls_weights())
    if (k.rfind("vit.", 0) == 0) backbone.emplace_back(k.substr(4), v);
  write_safetensors(d / "model.safetensors", backbone);
  const LoadedModel m = load_model(d);
  EXPECT_EQ(m.summary.layout, "transformers ViTMSNModel");
  EXPECT_FALSE(m.model->has_classifier());
  EXPECT_EQ(m.model->config().id2label.size(), std::size_t{5});
  EXPECT_FALSE(logits_of(d).defined());
}

TEST_F(CheckpointFormats, OriginalMsnPrefersTargetEncoder) {
  const fs::path path = data_path("models/tiny96-msn-original/vit_tiny96_msn.pth.tar");
  const PickleContents raw = read_torch_zip(path);
  const CanonicalWeights w = to_canonical_names(raw.tensors, path.string());
  EXPECT_EQ(w.layout, "original MSN (target_encoder)");
  // With both encoders present and different, the EMA target encoder's weights are used.
  TensorMap both = raw.tensors;
  const std::string target = "target_encoder.module.patch_embed.proj.weight";
  both[target] = both[target] + 1.0;
  EXPECT_TRUE(at::equal(to_canonical_names(both, "x").tensors.at("embeddings.patch_embeddings.projection.weight"), both[target]));
  // Without a target encoder the online encoder is taken.
  TensorMap without_target;
  for (const auto& [k, v] : raw.tensors)
    if (k.rfind("target_encoder.", 0) != 0) without_target[k] = v;
  EXPECT_EQ(to_canonical_names(without_target, "x").layout, "original MSN (encoder)");
  EXPECT_EQ(raw.scalars.at("epoch"), std::string("800"));
}

TEST_F(CheckpointFormats, OriginalMsnLayoutMapping) {
  const PickleContents raw = read_torch_zip(data_path("models/tiny96-msn-original/vit_tiny96_msn.pth.tar"));
  const CanonicalWeights w = to_canonical_names(raw.tensors, "x");
  // Fused qkv rows are query, key, value in order.
  const at::Tensor qkv = raw.tensors.at("target_encoder.module.blocks.1.attn.qkv.weight");
  EXPECT_TRUE(at::equal(w.tensors.at("encoder.layer.1.attention.attention.key.weight"), qkv.slice(0, 32, 64)));
  EXPECT_TRUE(at::equal(w.tensors.at("encoder.layer.1.attention.attention.value.bias"),
                        raw.tensors.at("target_encoder.module.blocks.1.attn.qkv.bias").slice(0, 64, 96)));
  EXPECT_EQ(w.tensors.count("projection_head.bn2.running_var"), std::size_t{1});
  EXPECT_EQ(w.tensors.count("prototypes"), std::size_t{1});
  EXPECT_EQ(w.tensors.count("opt.state.0.exp_avg"), std::size_t{0});
}

TEST_F(CheckpointFormats, FixtureSummaries) {
  const LoadedModel cls = load_model(data_path("models/tiny224-cls"));
  EXPECT_EQ(cls.summary.format, "safetensors");
  EXPECT_EQ(cls.summary.layout, "transformers ViTMSNForImageClassification");
  EXPECT_TRUE(cls.model->has_classifier());
  EXPECT_EQ(cls.model->num_labels(), 5);
  EXPECT_EQ(cls.model->config().label(0), "tabby cat");
  EXPECT_EQ(cls.preprocessor.resample, ResampleFilter::Bilinear);

  const LoadedModel bin = load_model(data_path("models/tiny224-base-bin"));
  EXPECT_EQ(bin.summary.format, "torch.save zip");
  EXPECT_FALSE(bin.model->has_classifier());
  EXPECT_EQ(bin.model->config().id2label.size(), std::size_t{1000});
  EXPECT_EQ(bin.model->config().num_attention_heads, 4);
  const auto j = bin.summary_json();
  EXPECT_FALSE(j["has_classifier"].get<bool>());
  EXPECT_EQ(j["parameters"].get<std::int64_t>(), bin.model->num_parameters());

  const LoadedModel mask = load_model(data_path("models/tiny64-masktoken"));
  EXPECT_TRUE(mask.model->has_mask_token());
  EXPECT_EQ(mask.model->config().num_patches(), 64);

  const LoadedModel original = load_model(data_path("models/tiny96-msn-original/vit_tiny96_msn.pth.tar"),
                                          {{{"num_attention_heads", 2}}, "override"});
  EXPECT_EQ(original.summary.format, "torch.save zip (original MSN)");
  EXPECT_EQ(original.summary.config_source, "derived from weight shapes + override");
  const ViTMSNConfig& c = original.model->config();
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.image_size, 96);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_TRUE(original.model->has_projection_head());
  EXPECT_EQ(original.model->num_prototypes(), 32);
  EXPECT_EQ(original.summary.training.at("epoch"), std::string("800"));
  // A folder holding just the .pth.tar is found too.
  const LoadedModel found = load_model(data_path("models/tiny96-msn-original"), {{{"num_attention_heads", 2}}, "o"});
  EXPECT_EQ(found.summary.layout, "original MSN (target_encoder)");
  // Parameter count: every weight except BatchNorm running statistics.
  std::int64_t n = 0;
  for (const auto& [k, v] : read_safetensors(data_path("models/tiny224-cls/model.safetensors")).tensors) n += v.numel();
  EXPECT_EQ(cls.model->num_parameters(), n);
}

TEST_F(CheckpointFormats, SafetensorsRoundTrip) {
  const fs::path p = dir_.path() / "rt.safetensors";
  const at::Tensor a = at::arange(12, at::kFloat).view({3, 4});
  const at::Tensor b = at::tensor({1, 0, 1}).to(at::kBool);
  const at::Tensor c = at::arange(5, at::kLong);
  write_safetensors(p, {{"a", a}, {"b", b}, {"c", c.to(at::kBFloat16)}}, {{"note", "x"}});
  const SafetensorsContent r = read_safetensors(p);
  EXPECT_TRUE(at::equal(r.tensors.at("a"), a));
  EXPECT_TRUE(at::equal(r.tensors.at("b"), b));
  EXPECT_EQ(r.tensors.at("c").scalar_type(), at::kBFloat16);
  EXPECT_EQ(r.metadata.at("note"), std::string("x"));
  // The header is padded so data starts 8-byte aligned and tensors can view the mapping.
  const std::string bytes = read_file(p);
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ(header % 8, std::uint64_t{0});
}

}  // namespace
