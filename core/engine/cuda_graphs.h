#pragma once
// Whole forward passes replayed as CUDA graphs. At batch 1 a ViT-B forward is a few hundred
// small kernels, and launching them one by one from the host takes longer than running them;
// a captured graph launches them all at once. Built only against a CUDA LibTorch.

#include <list>
#include <memory>
#include <string>

#include "model/vit_msn_model.h"

namespace msnlens {

class CudaGraphCache {
 public:
  explicit CudaGraphCache(std::shared_ptr<const ViTMSNModel> model, std::size_t capacity = 8);
  ~CudaGraphCache();

  // The result of model.forward_prepared(pixels, prepared). The first call for a combination of
  // shapes and options captures a graph (after a warm-up); later calls copy the inputs into the
  // graph's buffers and replay it. Outputs live in the graph's memory until the next replay.
  ModelOutput run(const at::Tensor& pixels, const ForwardOptions& prepared);

 private:
  struct Entry;
  std::shared_ptr<const ViTMSNModel> model_;
  std::size_t capacity_;
  std::list<std::unique_ptr<Entry>> entries_;  // most recently used first
};

}  // namespace msnlens
