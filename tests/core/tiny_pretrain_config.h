#pragma once
// The smallest MSN setup that still has every part (two layers, BatchNorm head, prototypes,
// focal views): what the pretraining tests and their helper process train.

#include "train/pretrain_config.h"

inline msnlens::PretrainConfig tiny_pretrain_config(int batch_size) {
  msnlens::PretrainConfig c = msnlens::PretrainConfig::preset("fmnist-small");
  c.model.hidden_size = 32;
  c.model.num_hidden_layers = 2;
  c.model.num_attention_heads = 2;
  c.model.intermediate_size = 64;
  c.model.image_size = 16;
  c.model.patch_size = 4;
  c.head = {64, 32, true};
  c.num_prototypes = 16;
  c.target_view = {16, 0.4, 1.0, true, 0.2};
  c.focal_view = {8, 0.1, 0.35, true, 0.2};
  c.focal_views = 2;
  c.precision = "fp32";
  c.batch_size = batch_size;
  return c;
}
