#include "train/msn_loss.h"

#include <cmath>

namespace msnlens {

namespace F = torch::nn::functional;

torch::Tensor prototype_assignment(const torch::Tensor& z, const torch::Tensor& prototypes, double temperature) {
  const auto normalize = F::NormalizeFuncOptions().dim(1);
  return torch::softmax(torch::matmul(F::normalize(z, normalize), F::normalize(prototypes, normalize).t()) / temperature, 1);
}

namespace {

// Sinkhorn-Knopp balancing of [B, K] assignments over the global batch (3 iterations, as MSN).
torch::Tensor sinkhorn(torch::Tensor p, Distributed& dist) {
  torch::Tensor q = p.t().clone();  // [K, B]
  const double global_batch = static_cast<double>(q.size(1) * dist.world_size());
  const double k = static_cast<double>(q.size(0));
  torch::Tensor total = q.sum();
  dist.all_reduce_sum(total);
  q.div_(total);
  for (int it = 0; it < 3; ++it) {
    torch::Tensor rows = q.sum(1, true);
    dist.all_reduce_sum(rows);
    q.div_(rows).div_(k);
    q.div_(q.sum(0, true)).div_(global_batch);
  }
  return (q * global_batch).t();
}

}  // namespace

MsnLoss msn_loss(const torch::Tensor& anchors, const torch::Tensor& targets, const torch::Tensor& prototypes,
                 const MsnLossConfig& config, Distributed& dist) {
  const std::int64_t views = anchors.size(0) / targets.size(0);
  const torch::Tensor probs = prototype_assignment(anchors, prototypes, config.temperature);
  torch::Tensor target_probs;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor t = prototype_assignment(targets, prototypes, config.temperature).pow(1.0 / config.sharpen);
    t = t / t.sum(1, true);
    if (config.sinkhorn) t = sinkhorn(t, dist);
    target_probs = t.repeat({views, 1});
  }
  MsnLoss out;
  out.cross_entropy = -(target_probs * torch::log(probs)).sum(1).mean();
  // ME-MAX on the mean prediction of the whole (global) batch.
  const torch::Tensor local_sum = probs.sum(0);
  torch::Tensor count = torch::full({1}, static_cast<double>(probs.size(0)), probs.options());
  dist.all_reduce_sum(count);
  const torch::Tensor mean = distributed_sum(local_sum, dist) / count;
  out.me_max = (mean * torch::log(mean)).sum() + std::log(static_cast<double>(mean.size(0)));
  out.total = out.cross_entropy + config.me_max_weight * out.me_max;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor used = torch::zeros({prototypes.size(0)}, probs.options());
    used.index_fill_(0, target_probs.argmax(1), 1.0);
    dist.all_reduce_sum(used);
    out.prototypes_used = static_cast<int>((used > 0).sum().item<std::int64_t>());
  }
  return out;
}

}  // namespace msnlens
