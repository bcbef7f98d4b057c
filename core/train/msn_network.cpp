#include "train/msn_network.h"

#include <cmath>

namespace msnlens {

namespace F = torch::nn::functional;

EncoderBlockImpl::EncoderBlockImpl(std::int64_t dim, std::int64_t heads_, std::int64_t inner, bool qkv_bias, double eps)
    : heads(heads_) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
  fc1 = register_module("fc1", torch::nn::Linear(dim, inner));
  fc2 = register_module("fc2", torch::nn::Linear(inner, dim));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x) {
  const std::int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads;
  const torch::Tensor parts = qkv(norm1(x)).view({b, t, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  const torch::Tensor q = parts[0], k = parts[1], v = parts[2];
  const torch::Tensor attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)), -1);
  const torch::Tensor h = x + proj(torch::matmul(attn, v).transpose(1, 2).reshape({b, t, d}));
  return h + fc2(F::gelu(fc1(norm2(h))));
}

MsnNetworkImpl::MsnNetworkImpl(const ViTMSNConfig& c, const ProjectionHeadConfig& head) : config_(c) {
  const std::int64_t d = c.hidden_size;
  patch_embed = register_module("patch_embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, d, c.patch_size).stride(c.patch_size)));
  cls_token = register_parameter("cls_token", torch::randn({1, 1, d}) * c.initializer_range);
  pos_embed = register_parameter("pos_embed", torch::randn({1, c.num_patches() + 1, d}) * c.initializer_range);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
    blocks->push_back(EncoderBlock(d, c.num_attention_heads, c.intermediate_size, c.qkv_bias, c.layer_norm_eps));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(c.layer_norm_eps)));
  fc1 = register_module("fc1", torch::nn::Linear(d, head.hidden));
  fc2 = register_module("fc2", torch::nn::Linear(head.hidden, head.hidden));
  fc3 = register_module("fc3", torch::nn::Linear(head.hidden, head.output));
  if (head.batch_norm) {
    bn1 = register_module("bn1", torch::nn::BatchNorm1d(head.hidden));
    bn2 = register_module("bn2", torch::nn::BatchNorm1d(head.hidden));
  }
  // MSN's initialisation: linear weights N(0, 0.02), zero biases, unit LayerNorms.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, c.initializer_range);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
}

torch::Tensor MsnNetworkImpl::position_embeddings(std::int64_t grid_h, std::int64_t grid_w) const {
  const std::int64_t side = config_.grid_size(), d = config_.hidden_size;
  if (grid_h == side && grid_w == side) return pos_embed;
  const torch::Tensor grid = pos_embed.slice(1, 1).reshape({1, side, side, d}).permute({0, 3, 1, 2});
  const torch::Tensor resized = F::interpolate(grid, F::InterpolateFuncOptions()
                                                         .size(std::vector<std::int64_t>{grid_h, grid_w})
                                                         .mode(torch::kBicubic)
                                                         .align_corners(false));
  return torch::cat({pos_embed.slice(1, 0, 1), resized.permute({0, 2, 3, 1}).reshape({1, -1, d})}, 1);
}

torch::Tensor MsnNetworkImpl::encode(const torch::Tensor& images, double patch_drop, at::Generator& gen) {
  const std::int64_t b = images.size(0);
  torch::Tensor x = patch_embed(images);
  const std::int64_t gh = x.size(2), gw = x.size(3);
  x = torch::cat({cls_token.expand({b, 1, -1}), x.flatten(2).transpose(1, 2)}, 1) + position_embeddings(gh, gw);
  if (patch_drop > 0) {
    const std::int64_t patches = gh * gw;
    const auto keep = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * (1.0 - patch_drop))));
    const torch::Tensor index = torch::cat({torch::zeros({1}, torch::kLong), 1 + at::randperm(patches, gen).slice(0, 0, keep)});
    x = x.index_select(1, index);
  }
  for (const auto& block : *blocks) x = block->as<EncoderBlock>()->forward(x);
  return norm(x).select(1, 0);
}

torch::Tensor MsnNetworkImpl::project(const torch::Tensor& cls, Distributed& dist) {
  auto norm_ = [&](torch::nn::BatchNorm1d& bn, const torch::Tensor& z) {
    if (!bn) return z;
    return is_training() ? synced_batch_norm(z, bn, dist) : bn(z);
  };
  torch::Tensor z = norm_(bn1, fc1(cls));
  z = norm_(bn2, fc2(F::gelu(z)));
  return fc3(F::gelu(z));
}

TensorMap MsnNetworkImpl::export_weights() const {
  torch::NoGradGuard no_grad;
  TensorMap w;
  auto put = [&](const std::string& name, const torch::Tensor& t) { w[name] = t.detach().to(torch::kCPU, torch::kFloat).clone(); };
  put("embeddings.cls_token", cls_token);
  put("embeddings.position_embeddings", pos_embed);
  put("embeddings.patch_embeddings.projection.weight", patch_embed->weight);
  put("embeddings.patch_embeddings.projection.bias", patch_embed->bias);
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    const auto* blk = (*blocks)[i]->as<EncoderBlock>();
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    const auto weights = blk->qkv->weight.chunk(3, 0);
    const char* names[] = {"query", "key", "value"};
    for (int j = 0; j < 3; ++j) {
      put(l + "attention.attention." + names[j] + ".weight", weights[static_cast<std::size_t>(j)]);
      if (blk->qkv->bias.defined()) put(l + "attention.attention." + names[j] + ".bias", blk->qkv->bias.chunk(3, 0)[static_cast<std::size_t>(j)]);
    }
    put(l + "attention.output.dense.weight", blk->proj->weight);
    put(l + "attention.output.dense.bias", blk->proj->bias);
    put(l + "layernorm_before.weight", blk->norm1->weight);
    put(l + "layernorm_before.bias", blk->norm1->bias);
    put(l + "layernorm_after.weight", blk->norm2->weight);
    put(l + "layernorm_after.bias", blk->norm2->bias);
    put(l + "intermediate.dense.weight", blk->fc1->weight);
    put(l + "intermediate.dense.bias", blk->fc1->bias);
    put(l + "output.dense.weight", blk->fc2->weight);
    put(l + "output.dense.bias", blk->fc2->bias);
  }
  put("layernorm.weight", norm->weight);
  put("layernorm.bias", norm->bias);
  const std::pair<const char*, const torch::nn::Linear*> linears[] = {{"fc1", &fc1}, {"fc2", &fc2}, {"fc3", &fc3}};
  for (const auto& [name, linear] : linears) {
    put(std::string("projection_head.") + name + ".weight", (*linear)->weight);
    put(std::string("projection_head.") + name + ".bias", (*linear)->bias);
  }
  const std::pair<const char*, const torch::nn::BatchNorm1d*> norms[] = {{"bn1", &bn1}, {"bn2", &bn2}};
  for (const auto& [name, bn] : norms) {
    if (!*bn) continue;
    const std::string p = std::string("projection_head.") + name + ".";
    put(p + "weight", (*bn)->weight);
    put(p + "bias", (*bn)->bias);
    put(p + "running_mean", (*bn)->running_mean);
    put(p + "running_var", (*bn)->running_var);
  }
  return w;
}

std::vector<torch::Tensor> MsnNetworkImpl::decayed_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (p.value().dim() > 1 && p.key().find("bias") == std::string::npos && p.key().find("bn") == std::string::npos)
      out.push_back(p.value());
  return out;
}

std::vector<torch::Tensor> MsnNetworkImpl::undecayed_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (!(p.value().dim() > 1 && p.key().find("bias") == std::string::npos && p.key().find("bn") == std::string::npos))
      out.push_back(p.value());
  return out;
}

}  // namespace msnlens
