#pragma once
// ViT-MSN inference, mirroring transformers' ViTMSNModel / ViTMSNForImageClassification and
// the original MSN encoder with its projection head and prototypes:
//
//   x_0     = [cls; patch_embed(pixels)] + pos_embed            (mask token / token dropping here)
//   x_l     = x_{l-1} + Attn(LN_before(x_{l-1}))
//   x_l     = x_l + MLP(LN_after(x_l))                          for l = 1..L
//   out     = LN(x_L);  logits = classifier(out[:, 0])
//   z       = MSN projection head(out[:, 0]);  p = softmax(cos(z, prototypes) / 0.1)

#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "checkpoint/tensor_map.h"
#include "kernels/fused_cpu_encoder.h"
#include "model/hooks.h"
#include "model/layers.h"
#include "model/precision.h"
#include "model/vit_msn_config.h"

namespace msnlens {

struct ForwardOptions {
  at::Tensor head_mask;        // [heads] or [layers, heads]: multiplies attention probabilities
  at::Tensor bool_masked_pos;  // [batch or 1, patches] bool: patch embedding -> mask token
  at::Tensor keep_patches;     // [batch or 1, kept] int64: MSN token dropping (CLS always kept)
  bool interpolate_pos_encoding = false;
  bool output_attentions = true;
  bool output_hidden_states = true;
};

struct ModelOutput {
  at::Tensor last_hidden_state;           // [B, T, D], after the final LayerNorm
  std::vector<at::Tensor> hidden_states;  // L + 1: embeddings, then each layer (before final LN)
  std::vector<at::Tensor> attentions;     // L: [B, H, T, T], after head_mask
  at::Tensor logits;                      // [B, labels]; only with a classifier
  at::Tensor projection;                  // [B, out]; only with an MSN projection head
  at::Tensor prototype_probs;             // [B, prototypes]; only with prototypes

  at::Tensor cls_embedding() const { return last_hidden_state.select(1, 0); }
};

// Calls f on every defined tensor of `out`.
template <typename F>
void for_each_tensor(ModelOutput& out, F&& f) {
  for (at::Tensor* t : {&out.last_hidden_state, &out.logits, &out.projection, &out.prototype_probs})
    if (t->defined()) f(*t);
  for (auto* list : {&out.hidden_states, &out.attentions})
    for (at::Tensor& t : *list)
      if (t.defined()) f(t);
}

// What the model's heads make of CLS embeddings [B, D]; undefined where the model lacks a head.
struct HeadOutputs {
  at::Tensor logits, projection, prototype_probs;
  at::Tensor prototype_scores;  // cos(projection, prototype) / temperature: the probabilities' logits
};

// One layer's attention probabilities recomputed from that layer's input (hidden_states[l]),
// for any block of query tokens: the numbers forward() returns in `attentions` (head_mask not
// applied), without ever holding every map of every layer at once.
class LayerAttention {
 public:
  // [B, heads, end - begin, T] float32 for query tokens begin..end-1.
  at::Tensor probs(std::int64_t begin, std::int64_t end) const;
  std::int64_t tokens() const { return keys_t_.size(3); }
  std::int64_t heads() const { return keys_t_.size(1); }

 private:
  friend class ViTMSNModel;
  at::Tensor normed_;                      // LN_before(x) in the GEMM dtype, [B, T, D]
  at::Tensor query_weight_, query_bias_;   // the query rows of the fused QKV
  double scale_ = 1.0;                     // 1/sqrt(head_dim)
  at::Tensor keys_t_;                      // [B, heads, head_dim, T]
};

// MSN's projection head on the CLS token: fc1 -> [bn1] -> GELU -> fc2 -> [bn2] -> GELU -> fc3,
// BatchNorms (where present) with running statistics.
struct ProjectionHead {
  Linear fc1, fc2, fc3;
  std::optional<BatchNorm1d> bn1, bn2;
  at::Tensor forward(const at::Tensor& cls) const;
  // Adds the head under checkpoint names ("projection_head.fc1.weight", ...), float32 on the CPU.
  void export_to(TensorMap& weights) const;
};

// Temperature of MSN's prototype assignment (the anchor-view temperature in the paper).
constexpr double kPrototypeTemperature = 0.1;

class ViTMSNModel {
 public:
  // `weights` use transformers' ViTMSN names without the "vit." prefix, plus "classifier.*",
  // "projection_head.*" and "prototypes" (checkpoint/key_layout.h produces them). Every tensor
  // must be used and shaped as `config` says; `where` names the source in errors.
  ViTMSNModel(const ViTMSNConfig& config, const TensorMap& weights, const std::string& where);

  // Inputs may live on any device; outputs are on the model's device, float32. Invalid inputs
  // (shapes, indices, a mask without a mask token) throw Error naming the input.
  ModelOutput forward(const at::Tensor& pixel_values, const ForwardOptions& options = {}) const;

  // forward() in two halves. prepare() validates the options for this input and returns them on
  // the model's device in canonical shapes (head_mask [layers, heads], masks [batch, n]); it may
  // wait for the device. forward_prepared() then only computes, never synchronising with the
  // host, so it can be captured into a CUDA graph. pixel_values must be on the device, float32.
  // Unlike forward(), it records autograd where the weights require gradients: pretraining
  // (train/msn_network.h) trains this very model through it.
  ForwardOptions prepare(const at::Tensor& pixel_values, const ForwardOptions& options) const;
  ModelOutput forward_prepared(const at::Tensor& pixel_values, const ForwardOptions& prepared) const;
  // The layers, final LayerNorm and heads from embeddings [B, T, D] float32 (hidden_states[0]
  // of a forward): what explanations rerun with autograd, or with tokens removed.
  ModelOutput encode(at::Tensor embeddings, const ForwardOptions& prepared) const { return run(std::move(embeddings), 0, prepared); }
  // The forward from layer `first`'s input x ([B, T, D] float32, hidden_states[first] of a
  // forward) through the remaining layers, the final LayerNorm and the heads, with `hooks`
  // (model/hooks.h) at their named points. hidden_states start with x and hold what each layer
  // produced (before any resid_pre hook). Layers without a hook inside their attention keep
  // the fused CPU kernels.
  ModelOutput run(at::Tensor x, std::size_t first, const ForwardOptions& prepared, const Hooks& hooks = {}) const;

  // The read-out forward() applies to the last layer, for any layer's CLS token [B, D] (before
  // the final LayerNorm): what the CLS token would predict at that depth (a "logit lens").
  at::Tensor final_norm(const at::Tensor& x) const { return layernorm_(x); }
  // Records autograd where its inputs require gradients; callers choose the mode.
  HeadOutputs heads(const at::Tensor& cls_embedding) const;

  // Layer `layer`'s attention for the input x = hidden_states[layer] ([B, T, D] on the device).
  LayerAttention layer_attention(std::size_t layer, const at::Tensor& x) const;
  std::size_t num_layers() const { return layers_.size(); }

  // Moves weights; GEMM weights take the precision's dtype, norms stay float32. Drops the
  // fused CPU encoder (its copies would be stale).
  void to(at::Device device, Precision precision);

  // Runs the layers of inference forwards on the CPU through FusedCpuEncoder from now on,
  // with a snapshot of the current weights: inference only (autograd, autocast and other
  // devices keep the LibTorch layers). Returns "" when enabled, else why it is not.
  std::string use_fused_cpu();
  // The fused encoder in use, or nullptr.
  const FusedCpuEncoder* fused_cpu() const { return fused_.get(); }

  // The encoder's learnable tensors themselves (not copies) under checkpoint names, query, key
  // and value as the one fused "encoder.layer.N.attention.attention.qkv" the forward uses: what
  // an optimiser updates in place. Heads on the CLS token are not included.
  std::vector<std::pair<std::string, at::Tensor>> encoder_parameters() const;
  // The same tensors under the names checkpoints use, query, key and value apart as views into
  // the fused one (writing a view writes the model).
  std::vector<std::pair<std::string, at::Tensor>> encoder_checkpoint_views() const;
  // Every weight as checkpoints name it (query, key and value apart), float32 copies on the CPU;
  // prototypes L2-normalised, as the model holds them.
  TensorMap state_dict() const;

  const ViTMSNConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  Precision precision() const { return precision_; }
  bool has_classifier() const { return classifier_.weight.defined(); }
  bool has_mask_token() const { return mask_token_.defined(); }
  bool has_projection_head() const { return head_.has_value(); }
  bool has_prototypes() const { return prototypes_.defined(); }
  std::int64_t num_labels() const { return has_classifier() ? classifier_.out_features() : 0; }
  std::int64_t num_prototypes() const { return has_prototypes() ? prototypes_.size(0) : 0; }
  std::int64_t num_parameters() const { return num_parameters_; }

 private:
  struct SelfAttention {
    Linear qkv;     // query, key and value fused: [3 * hidden, hidden]
    Linear output;
    std::int64_t num_heads = 0;
    at::Tensor forward(const at::Tensor& x, const at::Tensor& head_mask, at::Tensor* probs_out, const Hooks& hooks,
                       std::size_t layer) const;
  };
  struct EncoderLayer {
    LayerNorm layernorm_before;
    SelfAttention attention;
    LayerNorm layernorm_after;
    Linear intermediate, output;
    at::Tensor forward(const at::Tensor& x, const Activation& act, const at::Tensor& head_mask, at::Tensor* probs_out,
                       const Hooks& hooks, std::size_t layer) const;
  };

  at::Tensor embed(const at::Tensor& pixel_values, const ForwardOptions& options) const;
  at::Tensor position_embeddings_for(std::int64_t height, std::int64_t width, bool interpolate) const;

  ViTMSNConfig config_;
  Activation activation_;
  at::Device device_ = at::kCPU;
  Precision precision_ = Precision::FP32;
  std::int64_t num_parameters_ = 0;

  at::Tensor patch_weight_, patch_bias_;  // the patch-embedding conv: [hidden, channels, p, p]
  at::Tensor cls_token_, mask_token_, position_embeddings_;
  std::vector<EncoderLayer> layers_;
  LayerNorm layernorm_;
  Linear classifier_;
  std::optional<ProjectionHead> head_;
  at::Tensor prototypes_;  // [K, out], L2-normalised at load
  std::shared_ptr<const FusedCpuEncoder> fused_;
};

}  // namespace msnlens
