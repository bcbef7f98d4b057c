#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "common/error.h"

namespace msnlens {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int env_int(const char* name, int fallback) {
  const std::string v = env(name);
  if (v.empty()) return fallback;
  try {
    std::size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  fail(name, "is \"" + v + "\", not an integer");
}

struct DistributedSum : torch::autograd::Function<DistributedSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, Distributed* dist) {
    ctx->saved_data["dist"] = reinterpret_cast<std::int64_t>(dist);
    torch::Tensor y = x.clone();
    dist->all_reduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    auto* dist = reinterpret_cast<Distributed*>(ctx->saved_data["dist"].toInt());
    torch::Tensor g = grad[0].clone();
    dist->all_reduce_sum(g);
    return {g, torch::Tensor()};
  }
};

}  // namespace

std::shared_ptr<Distributed> Distributed::single() { return std::shared_ptr<Distributed>(new Distributed()); }

std::shared_ptr<Distributed> Distributed::from_environment() {
  auto d = single();
  d->world_ = env_int("WORLD_SIZE", 1);
  d->rank_ = env_int("RANK", 0);
  if (d->world_ < 1 || d->rank_ < 0 || d->rank_ >= d->world_)
    fail("RANK / WORLD_SIZE", "rank " + std::to_string(d->rank_) + " is not in a world of " + std::to_string(d->world_));
  if (d->world_ == 1) return d;
  const std::string addr = env("MASTER_ADDR");
  const int port = env_int("MASTER_PORT", -1);
  if (addr.empty() || port <= 0 || port > 65535) fail("MASTER_ADDR / MASTER_PORT", "need a host and a port for WORLD_SIZE > 1");
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = d->rank_ == 0;
  opts.numWorkers = static_cast<std::size_t>(d->world_);
  opts.timeout = std::chrono::seconds(120);
  auto store = c10::make_intrusive<c10d::TCPStore>(addr, opts);
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
  d->group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, d->rank_, d->world_, options);
  return d;
}

void Distributed::all_reduce_sum(torch::Tensor& tensor) {
  if (!active()) return;
  std::vector<torch::Tensor> list = {tensor};
  group_->allreduce(list)->wait();
}

void Distributed::broadcast(torch::Tensor& tensor, int root) {
  if (!active()) return;
  std::vector<torch::Tensor> list = {tensor};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  group_->broadcast(list, opts)->wait();
}

void Distributed::average_gradients(const std::vector<torch::Tensor>& params) {
  if (!active()) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad().reshape({-1}));
  torch::Tensor flat = torch::cat(grads);
  all_reduce_sum(flat);
  flat.div_(world_);
  std::int64_t offset = 0;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    const std::int64_t n = p.grad().numel();
    p.mutable_grad().copy_(flat.slice(0, offset, offset + n).view_as(p.grad()));
    offset += n;
  }
}

torch::Tensor distributed_sum(const torch::Tensor& x, Distributed& dist) {
  return dist.active() ? DistributedSum::apply(x, &dist) : x;
}

torch::Tensor synced_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm1d& bn, Distributed& dist) {
  const torch::Tensor count = torch::full({1}, static_cast<double>(x.size(0)), x.options());
  torch::Tensor n = count;
  if (dist.active()) {
    n = count.clone();
    dist.all_reduce_sum(n);
  }
  const torch::Tensor mean = distributed_sum(x.sum(0), dist) / n;
  const torch::Tensor var = distributed_sum((x - mean).pow(2).sum(0), dist) / n;
  {
    torch::NoGradGuard no_grad;
    const double momentum = bn->options.momentum().value_or(0.1);
    bn->running_mean.mul_(1 - momentum).add_(mean.detach() * momentum);
    bn->running_var.mul_(1 - momentum).add_(var.detach() * (n / (n - 1)) * momentum);  // unbiased, as PyTorch
    bn->num_batches_tracked.add_(1);
  }
  return (x - mean) / torch::sqrt(var + bn->options.eps()) * bn->weight + bn->bias;
}

}  // namespace msnlens
