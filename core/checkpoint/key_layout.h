#pragma once
// Checkpoints name the same weights three ways:
//   transformers ViTMSNModel                "embeddings.cls_token", "encoder.layer.0...."
//   transformers ViTMSNForImageClassification "vit.embeddings...." + "classifier.weight"
//   original facebookresearch/msn           "target_encoder.module.blocks.0.attn.qkv.weight",
//                                            "target_encoder.module.fc.fc1.weight", "prototypes"
// This maps all of them onto the first, plus "classifier.*", "projection_head.*", "prototypes".
// Names it does not recognise pass through unchanged, so the model can report them.

#include <string>

#include "checkpoint/tensor_map.h"

namespace msnlens {

struct CanonicalWeights {
  TensorMap tensors;
  std::string layout;  // e.g. "transformers ViTMSNModel", "original MSN (target_encoder)"
};

CanonicalWeights to_canonical_names(const TensorMap& raw, const std::string& where);

}  // namespace msnlens
