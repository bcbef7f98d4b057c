#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/torch_compat.h"
#include "engine/cpu_threads.h"
#include "engine/precision_choice.h"

namespace msnlens {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// splitmix64: independent seeds for (run seed, epoch, sample), so a sample's views do not
// depend on which process draws them.
std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ c * 0x94D049BB133111EBull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// From `from` at t = 0 to `to` at t = 1 along a half cosine: every schedule of the run.
double cosine(double from, double to, double t) { return to + (from - to) * 0.5 * (1.0 + std::cos(M_PI * t)); }

// bf16 autocast around the forward passes where asked (CPU AMX / CUDA tensor cores).
class Autocast {
 public:
  Autocast(bool enabled, at::Device device) : enabled_(enabled), device_(device) {
    if (enabled_) set_bf16_autocast(device_, true);
  }
  ~Autocast() {
    if (enabled_) set_bf16_autocast(device_, false);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_;
  at::Device device_;
};

// An exported model's training.json, checked to be one that run() wrote.
nlohmann::json read_training_record(const fs::path& file) {
  const nlohmann::json training = read_json_file(file);
  if (!training.is_object() || !training.contains("config") || !training.contains("epochs_done") || !training.contains("epoch_loss") ||
      !training["config"].is_object() || !training["epochs_done"].is_number_integer() || !training["epoch_loss"].is_array() ||
      !std::all_of(training["epoch_loss"].begin(), training["epoch_loss"].end(), [](const nlohmann::json& l) { return l.is_number(); }))
    fail(file.string(), "has no config, epochs_done or epoch_loss of the right types: not written by msnlens-cli pretrain");
  return training;
}

}  // namespace

MsnTrainer::MsnTrainer(const PretrainConfig& config, std::shared_ptr<const ImageDataset> data,
                       std::shared_ptr<Distributed> dist, at::Device device)
    : config_(config), data_(std::move(data)), dist_(std::move(dist)), device_(device) {
  const Precision precision = config_.precision == "bf16" ? Precision::BF16 : Precision::FP32;
  // bf16 autocast where this CPU's GEMMs would accumulate in bf16 trains on wrong gradients.
  require_precision(device_, precision);
  if (!device_.is_cuda()) configure_cpu_threads(precision, /*fused=*/false);
  torch::manual_seed(config_.seed);
  student_ = MsnNetwork(config_.model, config_.head, device_, config_.seed);
  target_ = MsnNetwork(config_.model, config_.head, device_, config_.seed);
  const double bound = std::sqrt(1.0 / static_cast<double>(config_.head.output));  // as MSN initialises them
  prototypes_ = torch::empty({config_.num_prototypes, config_.head.output}).uniform_(-bound, bound);
  prototypes_ = prototypes_.to(device_).set_requires_grad(true);
  {
    // Every process starts from process 0's weights; the target starts as the student.
    torch::NoGradGuard no_grad;
    for (auto& p : student_->parameters()) dist_->broadcast(p);
    dist_->broadcast(prototypes_);
    auto sp = student_->named_parameters(), tp = target_->named_parameters();
    for (const auto& item : sp) tp[item.key()].copy_(item.value());
    auto sb = student_->named_buffers(), tb = target_->named_buffers();
    for (const auto& item : sb) tb[item.key()].copy_(item.value());
  }
  for (auto& p : target_->parameters()) p.set_requires_grad(false);

  const std::int64_t global_batch = static_cast<std::int64_t>(config_.batch_size) * dist_->world_size();
  steps_per_epoch_ = data_->size() / global_batch;
  if (config_.steps_per_epoch > 0) steps_per_epoch_ = std::min<std::int64_t>(steps_per_epoch_, config_.steps_per_epoch);
  if (steps_per_epoch_ <= 0)
    fail("pretrain", "the dataset has " + std::to_string(data_->size()) + " images, fewer than one global batch of " +
                         std::to_string(global_batch));
  // MSN stretches its schedules to 1.25x the run and stops at 80% of them.
  total_steps_ = static_cast<std::int64_t>(1.25 * static_cast<double>(steps_per_epoch_ * config_.epochs));

  // MSN's groups: weight decay on matrices only; prototypes never decayed.
  auto options = [&](double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(config_.lr);
    o->weight_decay(wd);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(student_->decayed_parameters(), options(config_.weight_decay));
  groups.emplace_back(student_->undecayed_parameters(), options(0));
  groups.emplace_back(std::vector<torch::Tensor>{prototypes_}, options(0));
  optimizer_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(config_.lr));
}

void MsnTrainer::set_schedules(std::int64_t step) {
  const auto warmup = static_cast<std::int64_t>(config_.warmup_epochs * static_cast<double>(steps_per_epoch_));
  const auto scheduled_lr = [&](std::int64_t at) {
    if (at < warmup)
      return config_.start_lr + (config_.lr - config_.start_lr) * static_cast<double>(at) / static_cast<double>(warmup);
    const double progress = static_cast<double>(at - warmup) / static_cast<double>(std::max<std::int64_t>(1, total_steps_ - warmup));
    return std::max(config_.final_lr, cosine(config_.lr, config_.final_lr, progress));
  };
  const std::int64_t end = static_cast<std::int64_t>(config_.epochs) * steps_per_epoch_;
  double lr = scheduled_lr(step);
  if (cooldown_epochs_ > 0 && step >= end) {
    const double t = static_cast<double>(step - end) / static_cast<double>(static_cast<std::int64_t>(cooldown_epochs_) * steps_per_epoch_);
    lr = cosine(scheduled_lr(end), config_.final_lr, t);
  }
  if (step >= rewarm_from_ && step < rewarm_from_ + rewarm_steps_)
    lr = config_.start_lr + (lr - config_.start_lr) * static_cast<double>(step - rewarm_from_) / static_cast<double>(rewarm_steps_);
  const double progress = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps_));
  double wd = cosine(config_.weight_decay, config_.final_weight_decay, progress);
  wd = config_.final_weight_decay <= config_.weight_decay ? std::max(config_.final_weight_decay, wd)
                                                          : std::min(config_.final_weight_decay, wd);
  auto& param_groups = optimizer_->param_groups();
  for (std::size_t g = 0; g < param_groups.size(); ++g) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(param_groups[g].options());
    options.lr(lr);
    if (g == 0) options.weight_decay(wd);
  }
  ema_ = config_.ema_start + (config_.ema_end - config_.ema_start) * progress;
}

std::vector<at::Tensor> MsnTrainer::batch_images(std::int64_t global_step, int epoch, std::vector<at::Generator>& gens) const {
  // The same global permutation on every process; each takes its slice of the global batch.
  at::Generator order = at::detail::createCPUGenerator(mix(config_.seed, static_cast<std::uint64_t>(epoch), 0xDA7A));
  const at::Tensor perm = at::randperm(data_->size(), order);
  const std::int64_t local = config_.batch_size;
  const std::int64_t in_epoch = global_step % steps_per_epoch_;
  const std::int64_t start = in_epoch * local * dist_->world_size() + dist_->rank() * local;
  std::vector<at::Tensor> images;
  for (std::int64_t i = 0; i < local; ++i) {
    const std::int64_t index = perm[start + i].item<std::int64_t>();
    images.push_back(data_->image(index));
    gens.push_back(at::detail::createCPUGenerator(mix(config_.seed, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(index))));
  }
  return images;
}

MsnLoss MsnTrainer::step(std::int64_t global_step, int epoch) {
  student_->train();
  target_->train();
  set_schedules(global_step);
  std::vector<at::Generator> gens;
  const std::vector<at::Tensor> images = batch_images(global_step, epoch, gens);
  // Views, in the order each sample's generator is used: target, anchors, focal views.
  const at::Tensor target_views = make_views(images, config_.target_view, config_.mean, config_.std, gens).to(device_);
  std::vector<at::Tensor> anchor_list, focal_list;
  for (int v = 0; v < config_.anchor_views; ++v) anchor_list.push_back(make_views(images, config_.target_view, config_.mean, config_.std, gens));
  for (int v = 0; v < config_.focal_views; ++v) focal_list.push_back(make_views(images, config_.focal_view, config_.mean, config_.std, gens));
  at::Generator drop = at::detail::createCPUGenerator(mix(config_.seed, 0xD809, static_cast<std::uint64_t>(global_step)));

  torch::Tensor targets, anchors;
  {
    const Autocast autocast(config_.precision == "bf16", device_);
    {
      torch::NoGradGuard no_grad;
      targets = target_->project(target_->encode(target_views, 0.0, drop), *dist_).to(torch::kFloat);
    }
    // Anchor views are masked; focal views are not (as MSN). Each view size is its own group.
    std::vector<torch::Tensor> z = {student_->project(student_->encode(at::cat(anchor_list).to(device_), config_.patch_drop, drop), *dist_)};
    if (!focal_list.empty()) z.push_back(student_->project(student_->encode(at::cat(focal_list).to(device_), 0.0, drop), *dist_));
    anchors = torch::cat(z).to(torch::kFloat);
  }
  // The loss itself in float32: bf16 would round the ~5.5-nat cross-entropy to its steps.
  const MsnLoss loss = msn_loss(anchors, targets, prototypes_, config_.loss, *dist_);
  optimizer_->zero_grad();
  loss.total.backward();
  std::vector<torch::Tensor> params = student_->parameters();
  params.push_back(prototypes_);
  dist_->average_gradients(params);
  if (config_.clip_grad > 0) torch::nn::utils::clip_grad_norm_(student_->parameters(), config_.clip_grad);
  optimizer_->step();
  {
    torch::NoGradGuard no_grad;
    auto sp = student_->named_parameters(), tp = target_->named_parameters();
    for (const auto& item : sp) tp[item.key()].mul_(ema_).add_(item.value().detach(), 1.0 - ema_);
  }
  // Report the loss of the global batch.
  torch::Tensor reported = torch::stack({loss.total.detach(), loss.cross_entropy.detach(), loss.me_max.detach()}).to(torch::kCPU, torch::kDouble);
  dist_->all_reduce_sum(reported);
  reported /= dist_->world_size();
  return {reported[0], reported[1], reported[2], loss.prototypes_used};
}

void MsnTrainer::run(const fs::path& out, const ProgressCallback& progress, int stop_after) {
  const int epochs = config_.epochs + cooldown_epochs_;
  const int last = stop_after > 0 ? std::min(stop_after, epochs) : epochs;
  if (epoch_ > last)  // only a resumed run can be past its stop
    fail(resumed_from_.string(), "has " + std::to_string(epoch_) + " epochs done: cannot stop after epoch " + std::to_string(last));
  if (dist_->rank() == 0) fs::create_directories(out);
  const auto training_json = [&] {
    nlohmann::json j{{"config", config_.to_json()}, {"epochs_done", epoch_}, {"epoch_loss", epoch_losses_},
                     {"world_size", dist_->world_size()}};
    if (cooldown_epochs_ > 0) j["cooldown_epochs"] = cooldown_epochs_;
    if (!init_from_.is_null()) j["init_from"] = init_from_;
    return j;
  };
  const auto start = Clock::now();
  const std::int64_t done_before = static_cast<std::int64_t>(epoch_) * steps_per_epoch_;
  for (int epoch = epoch_; epoch < last; ++epoch) {
    double sum = 0;
    for (std::int64_t s = 0; s < steps_per_epoch_; ++s) {
      const std::int64_t global_step = static_cast<std::int64_t>(epoch) * steps_per_epoch_ + s;
      const MsnLoss l = step(global_step, epoch);
      sum += l.total.item<double>();
      if (progress) {
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const auto steps_done = static_cast<double>(global_step + 1 - done_before);
        const double remaining = static_cast<double>(static_cast<std::int64_t>(epochs) * steps_per_epoch_ - global_step - 1);
        TrainProgress p;
        p.epoch = epoch + 1;
        p.epochs = epochs;
        p.step = s + 1;
        p.steps = steps_per_epoch_;
        p.loss = l.total.item<double>();
        p.cross_entropy = l.cross_entropy.item<double>();
        p.me_max = l.me_max.item<double>();
        p.prototypes_used = l.prototypes_used;
        p.prototypes = static_cast<int>(config_.num_prototypes);
        p.targets = config_.batch_size * dist_->world_size();
        p.images_per_s = steps_done * static_cast<double>(config_.batch_size * dist_->world_size()) / seconds;
        p.eta_s = remaining * seconds / steps_done;
        p.lr = static_cast<torch::optim::AdamWOptions&>(optimizer_->param_groups()[0].options()).lr();
        progress(p);
      }
    }
    epoch_ = epoch + 1;
    epoch_losses_.push_back(sum / static_cast<double>(steps_per_epoch_));
    if (dist_->rank() == 0) {
      save_checkpoint(checkpoint_.empty() ? out / "checkpoint.pt" : checkpoint_);
      if (config_.export_every > 0 && epoch_ % config_.export_every == 0 && epoch_ < last)
        export_model(out / ("epoch-" + std::to_string(epoch_)), training_json());
    }
  }
  // Also when resumed exactly at the stop, with nothing left to train.
  if (dist_->rank() == 0) export_model(out / "model", training_json());
}

void MsnTrainer::save_checkpoint(const fs::path& path) const {
  torch::serialize::OutputArchive archive, student, target, optimizer;
  student_->save(student);
  target_->save(target);
  if (bf16_moments_) {
    // Saved from rounded copies; the run goes on with its float32 moments.
    std::vector<std::pair<torch::optim::AdamWParamState*, std::array<at::Tensor, 2>>> kept;
    for (auto& [key, state] : optimizer_->state()) {
      auto& adam = static_cast<torch::optim::AdamWParamState&>(*state);
      kept.push_back({&adam, {adam.exp_avg(), adam.exp_avg_sq()}});
      adam.exp_avg(adam.exp_avg().to(at::kBFloat16));
      adam.exp_avg_sq(adam.exp_avg_sq().to(at::kBFloat16));
    }
    optimizer_->save(optimizer);
    for (auto& [adam, moments] : kept) adam->exp_avg(moments[0]), adam->exp_avg_sq(moments[1]);
  } else {
    optimizer_->save(optimizer);
  }
  archive.write("student", student);
  archive.write("target", target);
  archive.write("optimizer", optimizer);
  archive.write("prototypes", prototypes_.detach());
  archive.write("epoch", torch::tensor(static_cast<std::int64_t>(epoch_)));
  archive.write("epoch_losses", torch::tensor(epoch_losses_, torch::kDouble));
  archive.write("rewarm", torch::tensor(std::vector<std::int64_t>{rewarm_from_, rewarm_steps_}));
  archive.write("cooldown", torch::tensor(static_cast<std::int64_t>(cooldown_epochs_)));
  if (!init_from_.is_null()) {
    const std::string text = init_from_.dump();
    archive.write("init_from", torch::tensor(std::vector<std::uint8_t>(text.begin(), text.end())));
  }
  archive.write("config", torch::tensor(std::vector<std::int64_t>{static_cast<std::int64_t>(std::hash<std::string>()(config_.to_json().dump()))}));
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  archive.save_to(tmp.string());
  fs::rename(tmp, path);  // a crash mid-write never leaves a half checkpoint behind
}

void MsnTrainer::resume(const fs::path& path) {
  torch::serialize::InputArchive archive, student, target, optimizer;
  try {
    archive.load_from(path.string(), device_);
  } catch (const c10::Error& e) {
    fail(path.string(), "not a checkpoint written by msnlens-cli pretrain");
  }
  torch::Tensor config_hash, epoch, losses, prototypes;
  archive.read("config", config_hash);
  if (config_hash.item<std::int64_t>() != static_cast<std::int64_t>(std::hash<std::string>()(config_.to_json().dump())))
    fail(path.string(), "was written with a different pretraining config; resume with the same one");
  archive.read("student", student);
  archive.read("target", target);
  archive.read("optimizer", optimizer);
  student_->load(student);
  target_->load(target);
  optimizer_->load(optimizer);
  for (auto& [key, state] : optimizer_->state()) {  // moments saved as bf16 come back float32
    auto& adam = static_cast<torch::optim::AdamWParamState&>(*state);
    adam.exp_avg(adam.exp_avg().to(at::kFloat));
    adam.exp_avg_sq(adam.exp_avg_sq().to(at::kFloat));
  }
  archive.read("prototypes", prototypes);
  {
    torch::NoGradGuard no_grad;
    prototypes_.copy_(prototypes);
  }
  archive.read("epoch", epoch);
  archive.read("epoch_losses", losses);
  torch::Tensor rewarm;
  if (archive.try_read("rewarm", rewarm)) rewarm_from_ = rewarm[0].item<std::int64_t>(), rewarm_steps_ = rewarm[1].item<std::int64_t>();
  epoch_ = static_cast<int>(epoch.item<std::int64_t>());
  torch::Tensor init_from;
  if (archive.try_read("init_from", init_from)) {
    const at::Tensor cpu = init_from.to(at::kCPU).contiguous();
    const auto* bytes = cpu.data_ptr<std::uint8_t>();
    init_from_ = nlohmann::json::parse(std::string(bytes, bytes + cpu.numel()));
  }
  torch::Tensor cooldown;
  const std::int64_t saved_cooldown = archive.try_read("cooldown", cooldown) ? cooldown.item<std::int64_t>() : 0;
  // Inside a cooldown its length sets the learning rate of every step left.
  if (epoch_ > config_.epochs && saved_cooldown != cooldown_epochs_)
    fail(path.string(), "stopped after " + std::to_string(epoch_ - config_.epochs) + " epochs of a " + std::to_string(saved_cooldown) +
                            "-epoch cooldown; resume it with the same cooldown");
  resumed_from_ = path;
  epoch_losses_.assign(losses.data_ptr<double>(), losses.data_ptr<double>() + losses.numel());
}

void MsnTrainer::load_exported_weights(const fs::path& dir) {
  const fs::path weights_file = dir / "model.safetensors";
  const TensorMap weights = read_safetensors(weights_file).tensors;
  student_->load_weights(weights, weights_file.string());
  target_->load_weights(weights, weights_file.string());
  torch::NoGradGuard no_grad;
  const auto it = weights.find("prototypes");
  if (it == weights.end() || it->second.sizes() != prototypes_.sizes())
    fail(weights_file.string(), "has no prototypes of shape [" + std::to_string(prototypes_.size(0)) + ", " +
                                    std::to_string(prototypes_.size(1)) + "]");
  prototypes_.copy_(it->second);
}

void MsnTrainer::warm_start(const fs::path& dir, double rewarm_epochs) {
  const fs::path training_file = dir / "training.json";
  const nlohmann::json training = read_training_record(training_file);
  if (training["config"] != config_.to_json())
    fail(training_file.string(), "was trained with a different pretraining config; warm-start with the same one");
  const int done = training["epochs_done"].get<int>();
  if (done < 0 || done > config_.epochs)
    fail(training_file.string(), "says " + std::to_string(done) + " epochs done, outside this schedule's " + std::to_string(config_.epochs));
  load_exported_weights(dir);
  epoch_ = done;
  epoch_losses_ = training["epoch_loss"].get<std::vector<double>>();
  if (training.contains("init_from")) init_from_ = training["init_from"];
  rewarm_from_ = static_cast<std::int64_t>(done) * steps_per_epoch_;
  rewarm_steps_ = static_cast<std::int64_t>(rewarm_epochs * static_cast<double>(steps_per_epoch_));
  resumed_from_ = dir;
}

void MsnTrainer::init_from(const fs::path& dir) {
  const fs::path training_file = dir / "training.json";
  nlohmann::json training = read_training_record(training_file);
  const nlohmann::json mine = config_.to_json();
  for (const char* key : {"model", "head", "num_prototypes"})
    if (training["config"].value(key, nlohmann::json()) != mine[key])
      fail(training_file.string(), std::string("has a different network (") + key + "); a new stage keeps model, head and prototypes");
  load_exported_weights(dir);
  training["model"] = dir.generic_string();
  init_from_ = std::move(training);
  resumed_from_ = dir;
}

void MsnTrainer::set_cooldown(int epochs) {
  if (epochs < 0) fail("pretrain", "a cooldown of " + std::to_string(epochs) + " epochs");
  cooldown_epochs_ = epochs;
}

void MsnTrainer::set_checkpoint(const fs::path& path, bool bf16_moments) {
  checkpoint_ = path;
  bf16_moments_ = bf16_moments;
}

TensorMap MsnTrainer::export_weights() const {
  TensorMap w = target_->export_weights();
  w["prototypes"] = prototypes_.detach().to(torch::kCPU, torch::kFloat).clone();
  return w;
}

void MsnTrainer::export_model(const fs::path& dir, const nlohmann::json& training) const {
  fs::create_directories(dir);
  const TensorMap w = export_weights();
  write_safetensors(dir / "model.safetensors", {w.begin(), w.end()}, {{"format", "pt"}, {"producer", "msnlens-cli pretrain"}});
  nlohmann::json config = config_.model.to_json();
  config["architectures"] = {"ViTMSNModel"};
  config["torch_dtype"] = "float32";
  std::ofstream(dir / "config.json") << config.dump(2) << "\n";
  const nlohmann::json preprocessor = {
      {"image_processor_type", "ViTImageProcessor"}, {"do_resize", true},
      {"size", {{"height", config_.model.image_size}, {"width", config_.model.image_size}}},
      {"resample", 2}, {"do_rescale", true}, {"rescale_factor", 1.0 / 255.0}, {"do_normalize", true},
      {"image_mean", config_.mean}, {"image_std", config_.std}};
  std::ofstream(dir / "preprocessor_config.json") << preprocessor.dump(2) << "\n";
  std::ofstream(dir / "training.json") << training.dump(2) << "\n";
}

}  // namespace msnlens
