#pragma once
// The network MSN trains: a ViT encoder (the same maths as model/vit_msn_model, with autograd)
// and the projection head fc1 -> BatchNorm -> GELU -> fc2 -> BatchNorm -> GELU -> fc3 of the
// original code, initialised as it does. export_weights() names everything the way
// checkpoints do, so a trained network loads in the inference engine and in transformers.

#include <torch/torch.h>

#include "checkpoint/tensor_map.h"
#include "train/distributed.h"
#include "model/vit_msn_config.h"

namespace msnlens {

struct ProjectionHeadConfig {
  std::int64_t hidden = 1024;
  std::int64_t output = 256;
  bool batch_norm = true;
};

struct EncoderBlockImpl : torch::nn::Module {
  EncoderBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t inner, bool qkv_bias, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  std::int64_t heads;
};
TORCH_MODULE(EncoderBlock);

class MsnNetworkImpl : public torch::nn::Module {
 public:
  MsnNetworkImpl(const ViTMSNConfig& config, const ProjectionHeadConfig& head);

  // The CLS token after the final LayerNorm, [B, hidden]. `patch_drop` removes that fraction
  // of patch tokens after position embeddings are added, one random subset for the whole
  // batch as the MSN code does. Images smaller than the config's size (focal views) get
  // bicubically resized position embeddings.
  torch::Tensor encode(const torch::Tensor& images, double patch_drop, at::Generator& gen);
  // In training mode the head's BatchNorms use statistics of the batch across all processes.
  torch::Tensor project(const torch::Tensor& cls, Distributed& dist);

  // Encoder and head under checkpoint names (model/vit_msn_model.h): fused qkv split into
  // query / key / value, head as projection_head.*.
  TensorMap export_weights() const;
  const ViTMSNConfig& config() const { return config_; }

  // Parameters of the encoder and head, split as MSN's optimizer does: matrices get weight
  // decay; biases, norms and other vectors do not.
  std::vector<torch::Tensor> decayed_parameters() const;
  std::vector<torch::Tensor> undecayed_parameters() const;

 private:
  torch::Tensor position_embeddings(std::int64_t grid_h, std::int64_t grid_w) const;

  ViTMSNConfig config_;
  torch::nn::Conv2d patch_embed{nullptr};
  torch::Tensor cls_token, pos_embed;
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(MsnNetwork);

}  // namespace msnlens
