#pragma once
// MSN's objective (Assran et al. 2022, facebookresearch/msn src/losses.py): anchor views are
// assigned to learnable prototypes by a cosine softmax (temperature 0.1); targets are the
// unmasked view's assignment from the EMA encoder, sharpened (p^(1/T)) and balanced by
// Sinkhorn; the loss is their cross-entropy plus ME-MAX, which pushes the mean assignment over
// the batch towards uniform so that every prototype is used.

#include <torch/torch.h>

#include "train/distributed.h"

namespace msnlens {

struct MsnLossConfig {
  double temperature = 0.1;  // anchor / target cosine softmax
  double sharpen = 0.25;     // target sharpening exponent 1/T
  bool sinkhorn = true;
  double me_max_weight = 1.0;
};

struct MsnLoss {
  torch::Tensor total, cross_entropy, me_max;  // me_max = log K - H(mean anchor prediction)
  int prototypes_used = 0;                      // distinct argmax targets in the global batch
};

// anchors: [views * B, out] (view-major), targets: [B, out] from the target encoder,
// prototypes: [K, out]. Batch-wide terms are global across `dist`'s processes.
MsnLoss msn_loss(const torch::Tensor& anchors, const torch::Tensor& targets, const torch::Tensor& prototypes,
                 const MsnLossConfig& config, Distributed& dist);

// softmax(cos(z, prototypes) / temperature), [N, K].
torch::Tensor prototype_assignment(const torch::Tensor& z, const torch::Tensor& prototypes, double temperature);

}  // namespace msnlens
