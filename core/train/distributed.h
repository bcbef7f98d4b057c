#pragma once
// Data-parallel training through PyTorch's own c10d: a TCPStore rendezvous from the usual
// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT variables, Gloo collectives on the CPU.
//
// MSN's loss depends on batch-wide quantities (BatchNorm statistics in the projection head,
// the mean prediction in ME-MAX, Sinkhorn's normalisers). distributed_sum() makes them
// global across processes with the right gradient, so N processes on N shards compute
// exactly what one process computes on the whole batch.

#include <torch/torch.h>

#include <memory>

namespace c10d {
class ProcessGroupGloo;  // a ProcessGroup in LibTorch 1.13, a Backend in 2.x
}

namespace msnlens {

class Distributed {
 public:
  // A single process unless WORLD_SIZE > 1; throws Error for incomplete or invalid variables.
  static std::shared_ptr<Distributed> from_environment();
  static std::shared_ptr<Distributed> single();

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  bool active() const { return world_ > 1; }

  void all_reduce_sum(torch::Tensor& tensor);            // in place
  void broadcast(torch::Tensor& tensor, int root = 0);   // in place
  // Averages gradients of `params` over processes, in one collective.
  void average_gradients(const std::vector<torch::Tensor>& params);

 private:
  int rank_ = 0, world_ = 1;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

// Sum of `x` over all processes. Backward sums the incoming gradients the same way, so a loss
// that each process computes from global statistics gets the exact gradient once process
// gradients are averaged. Identity for a single process.
torch::Tensor distributed_sum(const torch::Tensor& x, Distributed& dist);

// Training-mode BatchNorm over the global batch (statistics summed across processes), updating
// the module's running statistics as torch::nn::BatchNorm1d does.
torch::Tensor synced_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm1d& bn, Distributed& dist);

}  // namespace msnlens
