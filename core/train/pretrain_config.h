#pragma once
// Everything `msnlens-cli pretrain` can be told, with the MSN paper's ViT-S/16 recipe as the
// defaults (configs/pretrain/msn_vits16.yaml) and scaled-down presets for small data.

#include <nlohmann/json.hpp>

#include <array>
#include <string>

#include "model/vit_msn_config.h"
#include "train/augment.h"
#include "train/msn_loss.h"
#include "train/msn_network.h"

namespace msnlens {

struct PretrainConfig {
  ViTMSNConfig model;                    // the encoder to train
  ProjectionHeadConfig head;
  std::int64_t num_prototypes = 1024;
  MsnLossConfig loss;

  // Views per image: one unmasked target view, `anchor_views` masked views, focal views.
  ViewSpec target_view{224, 0.3, 1.0, true, 0.5};
  ViewSpec focal_view{96, 0.05, 0.3, true, 0.5};
  int anchor_views = 1;
  int focal_views = 10;
  double patch_drop = 0.15;              // fraction of anchor patch tokens dropped
  std::array<double, 3> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};

  int epochs = 800;
  int batch_size = 64;                   // per process
  double lr = 1e-3, start_lr = 2e-4, final_lr = 1e-6;
  double warmup_epochs = 15;
  double weight_decay = 0.04, final_weight_decay = 0.4;
  double clip_grad = 3.0;
  double ema_start = 0.996, ema_end = 1.0;
  std::string precision = "fp32";        // fp32 | bf16 (CPU autocast / CUDA autocast)
  std::uint64_t seed = 0;
  int steps_per_epoch = 0;               // 0: the whole dataset
  int export_every = 0;                  // also export a model every N epochs (0: only at the end)

  // Named starting points: "msn-vits16" (the paper), "fmnist-small" (28x28 Fashion-MNIST).
  static PretrainConfig preset(const std::string& name);
  // Overrides from a JSON object (same field names; "model" takes ViTMSNConfig fields).
  void update(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

}  // namespace msnlens
