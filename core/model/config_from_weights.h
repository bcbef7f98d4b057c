#pragma once
// Original MSN checkpoints carry no config.json: everything but the head count follows from
// tensor shapes. Heads default to 64 dimensions each (ViT-S 6, ViT-B 12, ViT-L 16), which is
// what every released MSN model uses; a --config file can say otherwise.

#include "checkpoint/tensor_map.h"
#include "model/vit_msn_config.h"

namespace msnlens {

constexpr std::int64_t kDefaultHeadDim = 64;

// `weights` use canonical names (checkpoint/key_layout.h). `heads_override` > 0 replaces the
// default head count (useful when a --config file is about to set it anyway).
ViTMSNConfig config_from_weights(const TensorMap& weights, const std::string& where,
                                 std::int64_t heads_override = 0);

}  // namespace msnlens
