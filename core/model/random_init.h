#pragma once
// Weights drawn as transformers initialises ViTMSN (normal(0, initializer_range) for linear and
// conv weights and tokens, zero biases, unit LayerNorms), named as checkpoints name them, in
// the exact shapes of the released MSN backbones: speed and memory are measured at real sizes
// without shipping real checkpoints.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/tensor_map.h"
#include "model/vit_msn_config.h"

namespace msnlens {

// With `classifier_labels` > 0, adds a classifier head of that many labels.
TensorMap random_weights(const ViTMSNConfig& config, std::uint64_t seed, std::int64_t classifier_labels = 0);

// facebook/vit-msn-{small,base,large,base-4,large-7}, by the suffix of the hub name.
struct ReleasedShape {
  std::string name;   // "base-4"
  std::string title;  // "ViT-B/4"
  ViTMSNConfig config;
};
const std::vector<ReleasedShape>& released_shapes();
// Throws Error listing the names when `name` is none of them ("vit-s" and "vit-b" are
// accepted for small and base).
const ReleasedShape& released_shape(const std::string& name);

// A Hugging Face folder as the hub has these backbones: config.json listing 1000 labels with no
// classifier weights, preprocessor_config.json (ImageNet statistics), model.safetensors with
// keys without the "vit." prefix; the weights random (seeded).
void write_random_checkpoint(const ReleasedShape& shape, const std::filesystem::path& dir, std::uint64_t seed = 0);

}  // namespace msnlens
