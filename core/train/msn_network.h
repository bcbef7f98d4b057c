#pragma once
// The network MSN trains: the inference engine's own ViTMSNModel (model/vit_msn_model.h) as the
// encoder, its tensors registered as this module's parameters so autograd and the optimiser
// work on them in place, and the projection head fc1 -> BatchNorm -> GELU -> fc2 -> BatchNorm
// -> GELU -> fc3 of the original code, whose BatchNorms train on batch statistics synchronised
// across processes. One ViT definition serves pretraining and the app, so every config field
// (hidden_act included) means the same in both.

#include <torch/torch.h>

#include <memory>

#include "checkpoint/tensor_map.h"
#include "model/vit_msn_model.h"
#include "train/distributed.h"

namespace msnlens {

struct ProjectionHeadConfig {
  std::int64_t hidden = 1024;
  std::int64_t output = 256;
  bool batch_norm = true;
};

class MsnNetworkImpl : public torch::nn::Module {
 public:
  // Encoder weights drawn as transformers initialises ViTMSN (model/random_init.h) from `seed`,
  // on `device` in float32.
  MsnNetworkImpl(const ViTMSNConfig& config, const ProjectionHeadConfig& head, at::Device device, std::uint64_t seed);

  // The CLS token after the final LayerNorm, [B, hidden]. `patch_drop` removes that fraction
  // of patch tokens after position embeddings are added, one random subset for the whole
  // batch as the MSN code does. Images smaller than the config's size (focal views) get
  // bicubically resized position embeddings.
  torch::Tensor encode(const torch::Tensor& images, double patch_drop, at::Generator& gen);
  // In training mode the head's BatchNorms use statistics of the batch across all processes.
  torch::Tensor project(const torch::Tensor& cls, Distributed& dist);

  // Encoder and head under checkpoint names (query / key / value apart, head as
  // projection_head.*), float32 on the CPU: what model/vit_msn_model.h loads.
  TensorMap export_weights() const;
  // Sets every encoder and head tensor from `w`, under the names export_weights() writes (a
  // model pretraining exported); `where` names their file in messages.
  void load_weights(const TensorMap& w, const std::string& where);
  const ViTMSNModel& encoder() const { return *encoder_; }

  // Parameters of the encoder and head, split as MSN's optimizer does: matrices get weight
  // decay; biases, norms and other vectors do not.
  std::vector<torch::Tensor> decayed_parameters() const;
  std::vector<torch::Tensor> undecayed_parameters() const;

 private:
  std::shared_ptr<const ViTMSNModel> encoder_;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(MsnNetwork);

}  // namespace msnlens
