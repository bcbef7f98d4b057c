#pragma once
// Weights drawn as transformers initialises ViTMSN (normal(0, initializer_range) for linear and
// conv weights and tokens, zero biases, unit LayerNorms), named as checkpoints name them.
// For benchmarks at real shapes (ViT-S/16, ViT-B/16) without shipping real checkpoints.

#include <cstdint>

#include "checkpoint/tensor_map.h"
#include "model/vit_msn_config.h"

namespace msnlens {

// With `classifier_labels` > 0, adds a classifier head of that many labels.
TensorMap random_weights(const ViTMSNConfig& config, std::uint64_t seed, std::int64_t classifier_labels = 0);

// The shapes of the released MSN backbones.
ViTMSNConfig vit_small_16();
ViTMSNConfig vit_base_16();

}  // namespace msnlens
