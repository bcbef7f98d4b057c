#pragma once
// MSN pretraining: a student network and its EMA target, learnable prototypes, AdamW with
// MSN's warm-up + cosine learning-rate and cosine weight-decay schedules, gradient clipping,
// data parallel over c10d. Checkpoints resume exactly; the result is exported as a Hugging
// Face folder (ViTMSNModel names) with the projection head and prototypes beside the backbone.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "train/image_dataset.h"
#include "train/pretrain_config.h"

namespace msnlens {

struct TrainProgress {
  int epoch = 0, epochs = 0;
  std::int64_t step = 0, steps = 0;  // within the epoch
  double loss = 0, cross_entropy = 0, me_max = 0;
  // Distinct prototypes the global batch's targets pick (argmax): at most min(prototypes, targets).
  int prototypes_used = 0, prototypes = 0, targets = 0;
  double images_per_s = 0, eta_s = 0, lr = 0;
};
using ProgressCallback = std::function<void(const TrainProgress&)>;

class MsnTrainer {
 public:
  MsnTrainer(const PretrainConfig& config, std::shared_ptr<const ImageDataset> data, std::shared_ptr<Distributed> dist,
             at::Device device = at::kCPU);

  // Continues from a checkpoint written by run() (same config).
  void resume(const std::filesystem::path& checkpoint);

  // A warm restart from a model this trainer's config exported (`dir` with model.safetensors
  // and training.json): student and target both start as its weights (the export holds the
  // target; the student and the optimizer state are not in it), the prototypes as its, the
  // schedules at its epoch. Fresh AdamW moments would take full steps at once, so the learning
  // rate climbs linearly from start_lr to the schedule's over `rewarm_epochs` first.
  void warm_start(const std::filesystem::path& dir, double rewarm_epochs);

  // A new stage from an exported model: this config's schedule from its epoch 0 (its own warm-up
  // brings the fresh AdamW moments in), student and target both the model's weights, prototypes its.
  // The recipe may differ from the model's (augmentations, schedules); the network (model, head,
  // prototype count) may not. training.json keeps the earlier stages under "init_from".
  void init_from(const std::filesystem::path& dir);

  // Where run() writes the resumable checkpoint after each epoch (default `out`/checkpoint.pt),
  // replaced in place; with bf16 moments (AdamW's running means stored rounded to bf16, so a
  // resume is no longer bit-exact) it is a quarter smaller, for keeping it in the repository.
  void set_checkpoint(const std::filesystem::path& path, bool bf16_moments);

  // `epochs` more after the schedule's last: the learning rate anneals (half cosine) from the
  // schedule's last value to final_lr, since MSN's schedule stops at 80 % of its stretched
  // cosine with the rate still a tenth of its peak; weight decay and EMA go on along their
  // stretched schedules (capped at their ends). Set before resume(); the checkpoint keeps it.
  void set_cooldown(int epochs);

  // Trains the remaining epochs (the schedule's, then any cooldown). Process 0 writes `out`/checkpoint.pt after every epoch and
  // the final model to `out`/model (plus `out`/epoch-N with export_every). stop_after > 0 ends
  // the run after that epoch with its model in `out`/model, the schedules still those of the
  // whole run: a model from part of a long schedule, reproducible, and resumable past it.
  void run(const std::filesystem::path& out, const ProgressCallback& progress, int stop_after = 0);

  // One optimisation step on the given global step's batch; returns the (global) loss.
  MsnLoss step(std::int64_t global_step, int epoch);

  // The target encoder with head and prototypes, under checkpoint names.
  TensorMap export_weights() const;
  void export_model(const std::filesystem::path& dir, const nlohmann::json& training) const;

  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int epoch() const { return epoch_; }
  const MsnNetwork& student() const { return student_; }

 private:
  std::vector<at::Tensor> batch_images(std::int64_t global_step, int epoch, std::vector<at::Generator>& gens) const;
  void set_schedules(std::int64_t global_step);
  void save_checkpoint(const std::filesystem::path& path) const;
  // An exported model's weights (`dir`/model.safetensors) into student, target and prototypes.
  void load_exported_weights(const std::filesystem::path& dir);

  PretrainConfig config_;
  std::shared_ptr<const ImageDataset> data_;
  std::shared_ptr<Distributed> dist_;
  at::Device device_;
  MsnNetwork student_{nullptr}, target_{nullptr};
  torch::Tensor prototypes_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  int epoch_ = 0;  // epochs completed
  std::filesystem::path resumed_from_;  // the checkpoint resume() read, for messages
  std::filesystem::path checkpoint_;      // empty: `out`/checkpoint.pt
  bool bf16_moments_ = false;
  // A warm restart's linear ramp of the learning rate: its first step and length (0: none).
  std::int64_t rewarm_from_ = 0, rewarm_steps_ = 0;
  int cooldown_epochs_ = 0;
  nlohmann::json init_from_;  // the earlier stage's training.json and folder (null: none)
  double ema_ = 0;
  std::vector<double> epoch_losses_;
};

}  // namespace msnlens
