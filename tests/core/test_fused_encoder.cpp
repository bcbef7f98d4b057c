// The fused oneDNN encoder against the LibTorch layers it replaces at inference, on what the
// golden fixtures do not reach: every activation transformers names, batches, per-row token
// dropping, head_mask, no QKV bias, and the output switches (maps and hidden states off).
// Built where the engine has oneDNN (MSNLENS_WITH_ONEDNN).

#include <gtest/gtest.h>

#include "engine/inference_session.h"
#include "model/random_init.h"
#include "model/vit_msn_model.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;

namespace {

ViTMSNConfig tiny_config(const std::string& activation, bool qkv_bias) {
  ViTMSNConfig c;
  c.hidden_size = 64;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.intermediate_size = 160;
  c.image_size = 48;
  c.patch_size = 8;
  c.hidden_act = activation;
  c.qkv_bias = qkv_bias;
  return c;
}

// transformers' initialisation leaves biases at zero and LayerNorms at one, which would hide
// a bias or norm parameter read from the wrong place: give every one of them random values.
ViTMSNModel tiny_model(const ViTMSNConfig& config) {
  TensorMap w = random_weights(config, /*seed=*/7);
  if (!config.qkv_bias)
    for (auto it = w.begin(); it != w.end();)
      it = it->first.find("attention.attention.") != std::string::npos && it->first.find(".bias") != std::string::npos
               ? w.erase(it) : std::next(it);
  at::manual_seed(11);
  for (auto& [name, t] : w) {
    const bool norm = name.find("layernorm") != std::string::npos;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) t = at::randn_like(t) * 0.2;
    else if (norm) t = 1.0 + at::randn_like(t) * 0.2;
  }
  return ViTMSNModel(config, w, "tiny test model");
}

struct Pair {
  ViTMSNModel reference, fused;
};

Pair models(const std::string& activation, Precision precision, bool qkv_bias = true) {
  const ViTMSNModel base = tiny_model(tiny_config(activation, qkv_bias));
  Pair p{base, base};
  p.reference.to(at::kCPU, Precision::FP32);
  p.fused.to(at::kCPU, precision);
  EXPECT_EQ(p.fused.use_fused_cpu(), "");
  return p;
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& name, double bound) {
  const Closeness c = compare(got, want, name, bound);
  EXPECT_TRUE(c.ok) << c.message;
}

void expect_same_outputs(const ModelOutput& got, const ModelOutput& want, double bound) {
  expect_close(got.last_hidden_state, want.last_hidden_state, "last_hidden_state", bound);
  ASSERT_EQ(got.attentions.size(), want.attentions.size());
  ASSERT_EQ(got.hidden_states.size(), want.hidden_states.size());
  for (std::size_t i = 0; i < want.attentions.size(); ++i)
    expect_close(got.attentions[i], want.attentions[i], "attentions." + std::to_string(i), bound);
  for (std::size_t i = 0; i < want.hidden_states.size(); ++i)
    expect_close(got.hidden_states[i], want.hidden_states[i], "hidden_states." + std::to_string(i), bound);
}

at::Tensor pixels(std::int64_t batch) {
  at::manual_seed(3);
  return at::randn({batch, 3, 48, 48});
}

class FusedActivation : public ::testing::TestWithParam<std::string> {};

TEST_P(FusedActivation, MatchesLibTorchLayersInFloat32) {
  const Pair p = models(GetParam(), Precision::FP32);
  ASSERT_NE(p.fused.fused_cpu(), nullptr);
  expect_same_outputs(p.fused.forward(pixels(3)), p.reference.forward(pixels(3)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Activations, FusedActivation, ::testing::ValuesIn(known_activations()), ParamName());

TEST(FusedEncoder, BatchWithDroppedTokensHeadMaskAndNoQkvBias) {
  for (const bool qkv_bias : {true, false}) {
    const Pair p = models("gelu", Precision::FP32, qkv_bias);
    ASSERT_NE(p.fused.fused_cpu(), nullptr);
    ForwardOptions o;
    // A different subset of the 36 patches per row, and two heads of one layer switched off.
    o.keep_patches = at::stack({at::arange(0, 36, 2), at::arange(1, 36, 2), at::arange(18, 36)});
    o.head_mask = at::ones({3, 4});
    o.head_mask[1][0] = 0.0;
    o.head_mask[2][3] = 0.5;
    expect_same_outputs(p.fused.forward(pixels(3), o), p.reference.forward(pixels(3), o), 1e-4);
  }
}

// With and without head_mask: bf16 without either softmaxes straight into bf16.
void expect_lean_forward_matches(Precision precision) {
  for (const bool masked : {false, true}) {
    const Pair p = models("gelu", precision);
    ASSERT_NE(p.fused.fused_cpu(), nullptr);
    ForwardOptions all, lean;
    lean.output_attentions = false;
    lean.output_hidden_states = false;
    if (masked) lean.head_mask = at::tensor({1.0, 0.0, 1.0, 1.0});
    all.head_mask = lean.head_mask;
    const ModelOutput want = p.reference.forward(pixels(2), all), got = p.fused.forward(pixels(2), lean);
    EXPECT_TRUE(got.attentions.empty());
    EXPECT_TRUE(got.hidden_states.empty());
    expect_close(got.last_hidden_state, want.last_hidden_state, "last_hidden_state",
                 precision == Precision::FP32 ? 1e-4 : 1e-2);
  }
}

TEST(FusedEncoder, WithoutMapsOrHiddenStatesFp32) { expect_lean_forward_matches(Precision::FP32); }

TEST(FusedEncoder, WithoutMapsOrHiddenStatesBf16) {
  if (const std::string why = unavailable_on_this_cpu(Precision::BF16); !why.empty()) GTEST_SKIP() << why;
  expect_lean_forward_matches(Precision::BF16);
}

TEST(FusedEncoder, Bf16StaysWithinTheStatedBound) {
  if (const std::string why = unavailable_on_this_cpu(Precision::BF16); !why.empty()) GTEST_SKIP() << why;
  const Pair p = models("gelu", Precision::BF16);
  ASSERT_NE(p.fused.fused_cpu(), nullptr);
  EXPECT_NE(p.fused.fused_cpu()->kernels(), "");
  expect_same_outputs(p.fused.forward(pixels(2)), p.reference.forward(pixels(2)), 1e-2);
}

TEST(FusedEncoder, SaysWhichIsaBf16NeedsWhereThisCpuLacksIt) {
  if (unavailable_on_this_cpu(Precision::BF16).empty())
    GTEST_SKIP() << "needs a CPU class without bf16 GEMMs (below avx512_core: run `make test-avx2`)";
  ViTMSNModel m = tiny_model(tiny_config("gelu", true));
  m.to(at::kCPU, Precision::BF16);
  const std::string why = m.use_fused_cpu();
  EXPECT_NE(why.find("avx512_core"), std::string::npos) << why;
  EXPECT_EQ(why.find("primitive descriptor"), std::string::npos) << "an opaque oneDNN message: " << why;
}

TEST(FusedEncoder, AutogradTakesTheLibTorchLayers) {
  // Explanations differentiate through encode(): the fused kernels have no backward.
  Pair p = models("gelu", Precision::FP32);
  ASSERT_NE(p.fused.fused_cpu(), nullptr);
  const ModelOutput plain = p.reference.forward(pixels(1));
  at::Tensor embeddings = plain.hidden_states[0].clone().requires_grad_(true);
  const ModelOutput out = p.fused.encode(embeddings, p.fused.prepare(pixels(1), {}));
  out.last_hidden_state.select(1, 0).sum().backward();
  ASSERT_TRUE(embeddings.grad().defined());
  EXPECT_GT(embeddings.grad().abs().max().item<double>(), 0.0);
  expect_close(out.last_hidden_state.detach(), plain.last_hidden_state, "last_hidden_state", 1e-4);
}

// Hooks (model/hooks.h) split the forward: layers they reach inside run on the LibTorch layers,
// the rest on the fused kernels, from any layer on.
TEST(FusedEncoder, HooksSplitTheForwardWithoutChangingIt) {
  const Pair p = models("gelu", Precision::FP32);
  ASSERT_NE(p.fused.fused_cpu(), nullptr);
  const ModelOutput plain = p.reference.forward(pixels(2));
  const ForwardOptions o = p.fused.prepare(pixels(2), {});
  at::Tensor pattern, z;
  Hooks read;
  read.add(HookName::parse("blocks.1.attn.hook_pattern"), [&](const at::Tensor& t) { return pattern = t; });
  read.add(HookName::parse("blocks.2.attn.hook_z"), [&](const at::Tensor& t) { return z = t; });
  const ModelOutput hooked = p.fused.run(plain.hidden_states[0], 0, o, read);
  expect_same_outputs(hooked, plain, 1e-4);
  expect_close(pattern, plain.attentions[1], "blocks.1.attn.hook_pattern", 1e-4);
  EXPECT_EQ(z.sizes(), (at::IntArrayRef{2, 4, 37, 16}));
  // From layer 2's input the rest of the forward is the same; a layer of patched tokens is not.
  expect_close(p.fused.run(plain.hidden_states[2], 2, o).last_hidden_state, plain.last_hidden_state, "run from layer 2", 1e-4);
  Hooks zero_head;
  zero_head.add({1, HookPoint::HeadOutput}, [](const at::Tensor& t) {
    at::Tensor out = t.clone();
    out.select(1, 2).zero_();
    return out;
  });
  ForwardOptions masked = o;
  masked.head_mask = at::ones({3, 4});
  masked.head_mask[1][2] = 0.0;
  expect_close(p.fused.run(plain.hidden_states[0], 0, o, zero_head).last_hidden_state,
               p.reference.forward(pixels(2), masked).last_hidden_state, "head (1, 2) zeroed = head_mask", 1e-4);
  for (const HookName& n : {HookName{0, HookPoint::ResidPre}, HookName{11, HookPoint::AttnScores}}) EXPECT_EQ(HookName::parse(n.str()), n);
  EXPECT_THROW(HookName::parse("blocks.x.attn.hook_pattern"), Error);
  EXPECT_THROW(p.fused.run(plain.hidden_states[0], 4, o), Error);
}

TEST(FusedEncoder, SaysWhyWhenItCannotRun) {
  std::string why;
  EXPECT_EQ(FusedCpuEncoder::create({}, {}, Precision::BF16, &why), nullptr);
  EXPECT_NE(why, "");
  Pair p = models("gelu", Precision::FP32);
  p.fused.to(at::kCPU, Precision::BF16);
  EXPECT_EQ(p.fused.fused_cpu(), nullptr) << "moving the model must drop the stale weight copies";
  SessionOptions options{"cpu", Precision::FP32};
  options.fused_cpu = false;
  LoadedModel loaded;
  loaded.model = std::make_shared<ViTMSNModel>(p.reference);
  const InferenceSession session(loaded, options);
  EXPECT_EQ(session.model().fused_cpu(), nullptr);
  EXPECT_EQ(session.kernels().rfind("LibTorch (LibTorch kernels requested)", 0), 0u) << session.kernels();
}

}  // namespace
