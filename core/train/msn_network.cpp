#include "train/msn_network.h"

#include <algorithm>
#include <cmath>

#include "model/random_init.h"
#include "model/weight_binder.h"

namespace msnlens {

namespace F = torch::nn::functional;

namespace {

// Module parameter names may not contain dots.
std::string parameter_name(std::string checkpoint_name) {
  std::replace(checkpoint_name.begin(), checkpoint_name.end(), '.', '_');
  return checkpoint_name;
}

bool is_decayed(const std::string& name, const torch::Tensor& p) {
  return p.dim() > 1 && name.find("bias") == std::string::npos && name.find("bn") == std::string::npos;
}

}  // namespace

MsnNetworkImpl::MsnNetworkImpl(const ViTMSNConfig& c, const ProjectionHeadConfig& head, at::Device device, std::uint64_t seed) {
  auto encoder = std::make_shared<ViTMSNModel>(c, random_weights(c, seed), "pretraining");
  encoder->to(device, Precision::FP32);
  for (const auto& [name, tensor] : encoder->encoder_parameters()) register_parameter(parameter_name(name), tensor);
  encoder_ = std::move(encoder);

  const std::int64_t d = c.hidden_size;
  fc1 = register_module("fc1", torch::nn::Linear(d, head.hidden));
  fc2 = register_module("fc2", torch::nn::Linear(head.hidden, head.hidden));
  fc3 = register_module("fc3", torch::nn::Linear(head.hidden, head.output));
  if (head.batch_norm) {
    bn1 = register_module("bn1", torch::nn::BatchNorm1d(head.hidden));
    bn2 = register_module("bn2", torch::nn::BatchNorm1d(head.hidden));
  }
  // MSN's initialisation of the head: linear weights N(0, 0.02), zero biases.
  torch::NoGradGuard no_grad;
  for (torch::nn::Linear* linear : {&fc1, &fc2, &fc3}) {
    (*linear)->weight.normal_(0.0, c.initializer_range);
    (*linear)->bias.zero_();
  }
  for (torch::nn::Linear* linear : {&fc1, &fc2, &fc3}) (*linear)->to(device);
  for (torch::nn::BatchNorm1d* bn : {&bn1, &bn2})
    if (*bn) (*bn)->to(device);
}

torch::Tensor MsnNetworkImpl::encode(const torch::Tensor& images, double patch_drop, at::Generator& gen) {
  const std::int64_t p = encoder_->config().patch_size, patches = (images.size(2) / p) * (images.size(3) / p);
  ForwardOptions options;
  options.interpolate_pos_encoding = true;
  options.output_attentions = false;
  options.output_hidden_states = false;
  if (patch_drop > 0) {
    const auto keep = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * (1.0 - patch_drop))));
    options.keep_patches = at::randperm(patches, gen).slice(0, 0, keep);
  }
  return encoder_->forward_prepared(images, encoder_->prepare(images, options)).cls_embedding();
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
  TensorMap w = encoder_->state_dict();
  // The head as the engine holds it (eval-mode BatchNorms with the running statistics).
  auto linear = [](const torch::nn::Linear& l) { return Linear{l->weight, l->bias}; };
  auto norm = [](const torch::nn::BatchNorm1d& bn) -> std::optional<BatchNorm1d> {
    if (!bn) return std::nullopt;
    return BatchNorm1d{bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->options.eps()};
  };
  ProjectionHead{linear(fc1), linear(fc2), linear(fc3), norm(bn1), norm(bn2)}.export_to(w);
  return w;
}

void MsnNetworkImpl::load_weights(const TensorMap& w, const std::string& where) {
  torch::NoGradGuard no_grad;
  WeightBinder binder(w, where);
  auto take = [&](const std::string& name, torch::Tensor into) { into.copy_(binder.take(name, into.sizes().vec())); };
  for (const auto& [name, tensor] : encoder_->encoder_checkpoint_views()) take(name, tensor);
  const std::pair<const char*, torch::nn::Linear*> linears[] = {{"fc1", &fc1}, {"fc2", &fc2}, {"fc3", &fc3}};
  for (const auto& [name, linear] : linears) {
    take(std::string("projection_head.") + name + ".weight", (*linear)->weight);
    take(std::string("projection_head.") + name + ".bias", (*linear)->bias);
  }
  const std::pair<const char*, torch::nn::BatchNorm1d*> norms[] = {{"bn1", &bn1}, {"bn2", &bn2}};
  for (const auto& [name, bn] : norms) {
    if (!*bn) continue;
    const std::string prefix = std::string("projection_head.") + name;
    take(prefix + ".weight", (*bn)->weight);
    take(prefix + ".bias", (*bn)->bias);
    take(prefix + ".running_mean", (*bn)->running_mean);
    take(prefix + ".running_var", (*bn)->running_var);
    binder.ignore(prefix + ".num_batches_tracked");
  }
  binder.ignore("prototypes");  // the trainer's, not the network's
  binder.finish();
}

std::vector<torch::Tensor> MsnNetworkImpl::decayed_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (is_decayed(p.key(), p.value())) out.push_back(p.value());
  return out;
}

std::vector<torch::Tensor> MsnNetworkImpl::undecayed_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (!is_decayed(p.key(), p.value())) out.push_back(p.value());
  return out;
}

}  // namespace msnlens
