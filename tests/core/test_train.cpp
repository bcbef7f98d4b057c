// MSN pretraining: IDX files, the training network against the inference engine, the loss,
// exact resume from checkpoints, and data-parallel training over c10d (two processes on
// loopback must keep identical weights and match one process on the same global batch).

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "checkpoint/safetensors.h"
#include "common/json_file.h"
#include "engine/model_loader.h"
#include "support.h"
#include "tiny_pretrain_config.h"
#include "train/idx_file.h"
#include "train/msn_loss.h"
#include "train/trainer.h"

using namespace msnlens;
using namespace msntest;
namespace fs = std::filesystem;

namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX image file of `n` random h x w images.
std::string idx_images(int n, int h, int w, unsigned seed) {
  std::string s = std::string("\0\0\x08\x03", 4) + be32(static_cast<std::uint32_t>(n)) + be32(static_cast<std::uint32_t>(h)) +
                  be32(static_cast<std::uint32_t>(w));
  std::srand(seed);
  for (int i = 0; i < n * h * w; ++i) s.push_back(static_cast<char>(std::rand() & 0xFF));
  return s;
}

PretrainConfig tiny_config() {
  PretrainConfig c = tiny_pretrain_config(8);
  c.epochs = 2;
  c.steps_per_epoch = 2;
  return c;
}

void expect_same_weights(const fs::path& model_a, const fs::path& model_b) {
  const TensorMap a = read_safetensors(model_a / "model.safetensors").tensors;
  const TensorMap b = read_safetensors(model_b / "model.safetensors").tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    const Closeness close = compare(b.at(name), t, name, 1e-6);
    EXPECT_TRUE(close.ok) << close.message;
  }
}

// Student, target and prototypes of `trainer` all as the export in `model`.
void expect_starts_as(const MsnTrainer& trainer, const fs::path& model) {
  const TensorMap exported = read_safetensors(model / "model.safetensors").tensors;
  const TensorMap now = trainer.export_weights();
  ASSERT_EQ(now.size(), exported.size());
  for (const auto& [name, t] : exported) EXPECT_TRUE(at::equal(now.at(name), t)) << name;
  const TensorMap student = trainer.student()->export_weights();
  for (const auto& [name, t] : student) EXPECT_TRUE(at::equal(exported.at(name), t)) << name;
}

int epochs_done(const fs::path& model) { return read_json_file(model / "training.json").at("epochs_done").get<int>(); }

class Train : public TempDirTest {
 protected:
  fs::path path(const std::string& name) const { return dir_ / name; }
  fs::path tiny_data() const {
    const fs::path p = path("tiny-images-idx3-ubyte");
    if (!fs::exists(p)) write_file(p, idx_images(64, 16, 16, 7));
    return p;
  }
  std::shared_ptr<const ImageDataset> tiny_dataset() const { return std::make_shared<IdxImageDataset>(tiny_data()); }
  // The reference run: tiny_config() trained straight through; returns its model folder.
  fs::path straight_model() const {
    MsnTrainer straight(tiny_config(), tiny_dataset(), Distributed::single());
    straight.run(path("straight"), nullptr);
    return path("straight") / "model";
  }
};

TEST_F(Train, IdxFiles) {
  write_file(path("a.idx"), idx_images(3, 4, 5, 1));
  const at::Tensor images = read_idx_images(path("a.idx"));
  EXPECT_EQ(images.sizes().vec(), (std::vector<std::int64_t>{3, 4, 5}));
  // gzip-compressed, as Debian ships Fashion-MNIST.
  const std::string raw = idx_images(2, 3, 3, 2);
  gzFile gz = gzopen(path("b.idx.gz").c_str(), "wb");
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  EXPECT_EQ(read_idx_images(path("b.idx.gz")).size(0), 2);
  write_file(path("labels.idx"), std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x02\x09", 3));
  EXPECT_EQ(read_idx_labels(path("labels.idx"))[2].item<std::int64_t>(), 9);
  MSN_EXPECT_ERROR(read_idx_images(path("labels.idx")), "labels.idx", "1 dimensions, expected 3");
  write_file(path("cut.idx"), idx_images(3, 4, 5, 1).substr(0, 40));
  MSN_EXPECT_ERROR(read_idx_images(path("cut.idx")), "cut.idx", "need 60 bytes", "has 24");
  write_file(path("huge.idx"), std::string("\0\0\x08\x03", 4) + be32(0xFFFFFFFF) + be32(0xFFFF) + be32(0xFFFF));
  MSN_EXPECT_ERROR(read_idx_images(path("huge.idx")), "claim more than");
  write_file(path("text.idx"), "hello world, not idx");
  MSN_EXPECT_ERROR(read_idx_images(path("text.idx")), "bad magic");
}

namespace {

// After training steps (BatchNorm statistics moved), the exported network must give the
// inference engine the embeddings and projections the training code computes, with the config's
// activation: pretraining trains the engine's own model, so hidden_act means the same in both.
void expect_export_matches_training(const PretrainConfig& config, const fs::path& data_file, const fs::path& out) {
  const auto data = std::make_shared<IdxImageDataset>(data_file);
  MsnTrainer trainer(config, data, Distributed::single());
  for (int s = 0; s < 3; ++s) trainer.step(s, 0);
  trainer.export_model(out, {});
  const LoadedModel loaded = load_model(out);
  ASSERT_TRUE(loaded.model->has_projection_head());
  EXPECT_EQ(loaded.model->num_prototypes(), 16);
  EXPECT_EQ(loaded.model->config().hidden_act, config.model.hidden_act);
  MsnNetwork student = trainer.student();
  student->eval();
  EXPECT_EQ(student->encoder().config().hidden_act, config.model.hidden_act);
  const ViTMSNModel engine(loaded.model->config(), [&] {
    TensorMap w = student->export_weights();
    w["prototypes"] = trainer.export_weights().at("prototypes");
    return w;
  }(), "student");
  const at::Tensor x = at::randn({4, 3, 16, 16});
  at::Generator gen = at::detail::createCPUGenerator(0);
  torch::NoGradGuard no_grad;
  auto dist = Distributed::single();
  const at::Tensor cls = student->encode(x, 0.0, gen);
  const at::Tensor z = student->project(cls, *dist);
  const ModelOutput out_engine = engine.forward(x);
  const Closeness c1 = compare(out_engine.cls_embedding(), cls, "cls");
  EXPECT_TRUE(c1.ok) << c1.message;
  const Closeness c2 = compare(out_engine.projection, z, "projection");
  EXPECT_TRUE(c2.ok) << c2.message;
  // The exported file is the target network: the engine loading it computes what it computed.
  const ModelOutput reloaded = loaded.model->forward(x);
  const ModelOutput direct = ViTMSNModel(loaded.model->config(), trainer.export_weights(), "target").forward(x);
  const Closeness c3 = compare(reloaded.cls_embedding(), direct.cls_embedding(), "exported target cls");
  EXPECT_TRUE(c3.ok) << c3.message;
}

}  // namespace

TEST_F(Train, ExportedNetworkMatchesTheEngine) { expect_export_matches_training(tiny_config(), tiny_data(), path("exported")); }

TEST_F(Train, TrainsAndExportsTheConfiguredActivation) {
  // ReLU instead of GELU: the network trained with it, the export says it, and reproduces it.
  PretrainConfig relu = tiny_config();
  relu.model.hidden_act = "relu";
  expect_export_matches_training(relu, tiny_data(), path("exported-relu"));
  // The same weights through GELU give other embeddings, so the check above could tell them apart.
  const LoadedModel loaded = load_model(path("exported-relu"));
  ViTMSNConfig gelu = loaded.model->config();
  gelu.hidden_act = "gelu";
  const at::Tensor x = at::randn({2, 3, 16, 16});
  const at::Tensor with_relu = loaded.model->forward(x).cls_embedding();
  const at::Tensor with_gelu = ViTMSNModel(gelu, loaded.model->state_dict(), "gelu").forward(x).cls_embedding();
  EXPECT_GT((with_relu - with_gelu).abs().max().item<double>(), 1e-3);
}

TEST_F(Train, LossTerms) {
  auto dist = Distributed::single();
  const at::Tensor prototypes = at::randn({8, 4});
  // Anchors equal to their targets and spread over all prototypes: ME-MAX near zero, and the
  // cross-entropy is the entropy of the (sharpened) targets against the anchors' assignment.
  const at::Tensor z = prototypes.repeat({4, 1});
  const MsnLoss l = msn_loss(z, z, prototypes, MsnLossConfig{}, *dist);
  EXPECT_LT(l.me_max.item<double>(), 0.05);
  EXPECT_GT(l.cross_entropy.item<double>(), 0);
  EXPECT_EQ(l.prototypes_used, 8);
  // All anchors on one prototype: ME-MAX approaches log K.
  const at::Tensor same = prototypes[0].repeat({32, 1}) * 10;
  const MsnLoss collapsed = msn_loss(same, same, prototypes, MsnLossConfig{}, *dist);
  EXPECT_GT(collapsed.me_max.item<double>(), 0.5 * std::log(8.0));
  // Assignments are distributions.
  const at::Tensor p = prototype_assignment(at::randn({5, 4}), prototypes, 0.1);
  EXPECT_TRUE(at::allclose(p.sum(1), at::ones({5})));
}

TEST_F(Train, Bf16IsRefusedWhereThisCpuCannotHonourIt) {
  const std::string why = unavailable_on_this_cpu(Precision::BF16);
  if (why.empty()) GTEST_SKIP() << "needs a CPU class without bf16 GEMMs (below avx512_core: `make test-avx2`)";
  PretrainConfig c = tiny_config();
  c.precision = "bf16";
  EXPECT_EQ(error_of([&] { MsnTrainer trainer(c, tiny_dataset(), Distributed::single()); }),
            "precision: " + why + "; on the CPU use fp32");
}

TEST_F(Train, ResumeContinuesExactly) {
  const auto data = tiny_dataset();
  const PretrainConfig c = tiny_config();  // two epochs of two steps
  const fs::path straight = straight_model();

  // The same run killed during epoch 2, then resumed from the checkpoint of epoch 1.
  MsnTrainer killed(c, data, Distributed::single());
  bool stopped = false;
  try {
    killed.run(path("killed"), [](const TrainProgress& p) {
      if (p.epoch == 2) throw std::runtime_error("killed");
    });
  } catch (const std::runtime_error&) {
    stopped = true;
  }
  ASSERT_TRUE(stopped);
  ASSERT_TRUE(fs::exists(path("killed") / "checkpoint.pt"));
  EXPECT_FALSE(fs::exists(path("killed") / "model"));
  MsnTrainer resumed(c, data, Distributed::single());
  resumed.resume(path("killed") / "checkpoint.pt");
  ASSERT_EQ(resumed.epoch(), 1);
  resumed.run(path("killed"), nullptr);

  // Weights, optimizer moments and schedules all came back: the same model as straight through.
  expect_same_weights(straight, path("killed") / "model");
  // A checkpoint from another config is refused by name.
  PretrainConfig other = c;
  other.lr *= 2;
  MsnTrainer mismatched(other, data, Distributed::single());
  MSN_EXPECT_ERROR(mismatched.resume(path("killed") / "checkpoint.pt"), "checkpoint.pt", "different pretraining config");
}

TEST_F(Train, StopsPartWayThroughTheSchedule) {
  const auto data = tiny_dataset();
  const PretrainConfig c = tiny_config();  // two epochs of two steps
  const fs::path straight = straight_model();

  // Stopped after epoch 1 of 2: its model is written, with the 2-epoch schedule's config.
  MsnTrainer part(c, data, Distributed::single());
  part.run(path("part"), nullptr, 1);
  EXPECT_EQ(part.epoch(), 1);
  EXPECT_EQ(epochs_done(path("part") / "model"), 1);
  EXPECT_EQ(read_json_file(path("part") / "model" / "training.json").at("config").at("epochs").get<int>(), 2);

  // Resumed at its stop, the same stop trains nothing and writes the same model again.
  MsnTrainer again(c, data, Distributed::single());
  again.resume(path("part") / "checkpoint.pt");
  int steps = 0;
  again.run(path("again"), [&](const TrainProgress&) { ++steps; }, 1);
  EXPECT_EQ(steps, 0);
  expect_same_weights(path("part") / "model", path("again") / "model");

  // Resumed without a stop, it ends as the run that never stopped.
  MsnTrainer rest(c, data, Distributed::single());
  rest.resume(path("part") / "checkpoint.pt");
  rest.run(path("part"), nullptr);
  EXPECT_EQ(epochs_done(path("part") / "model"), 2);
  expect_same_weights(straight, path("part") / "model");

  // A stop behind the checkpoint is refused.
  MsnTrainer late(c, data, Distributed::single());
  late.resume(path("part") / "checkpoint.pt");
  MSN_EXPECT_ERROR(late.run(path("late"), nullptr, 1), "checkpoint.pt", "2 epochs done", "cannot stop after epoch 1");
}

// A warm restart from an exported model (the shipped one keeps no optimizer state): weights and
// epoch from it, the learning rate climbing back from start_lr, and a compact checkpoint that
// carries the climb across a resume.
TEST_F(Train, WarmStartsFromAnExportedModel) {
  const auto data = tiny_dataset();
  PretrainConfig c = tiny_config();
  c.epochs = 3;  // of two steps each
  MsnTrainer part(c, data, Distributed::single());
  part.run(path("part"), nullptr, 1);
  std::vector<double> schedule;  // the uninterrupted run's learning rate per step
  MsnTrainer straight(c, data, Distributed::single());
  straight.run(path("straight"), [&](const TrainProgress& p) { schedule.push_back(p.lr); });
  ASSERT_EQ(schedule.size(), 6u);

  auto lrs_of = [&](MsnTrainer& t, const fs::path& out, int stop) {
    std::vector<double> lrs;
    t.run(out, [&](const TrainProgress& p) { lrs.push_back(p.lr); }, stop);
    return lrs;
  };
  // Climbing over 1.5 epochs (steps 2, 3, 4 of 0-5): start_lr, then 1/3 and 2/3 of the way.
  const auto climb = [&](int step, double fraction) { return c.start_lr + (schedule[step] - c.start_lr) * fraction; };
  MsnTrainer warm(c, data, Distributed::single());
  warm.warm_start(path("part") / "model", 1.5);
  EXPECT_EQ(warm.epoch(), 1);
  expect_starts_as(warm, path("part") / "model");
  const std::vector<double> warm_lrs = lrs_of(warm, path("warm"), 0);
  ASSERT_EQ(warm_lrs.size(), 4u);
  EXPECT_DOUBLE_EQ(warm_lrs[0], c.start_lr);
  EXPECT_DOUBLE_EQ(warm_lrs[1], climb(3, 1.0 / 3));
  EXPECT_DOUBLE_EQ(warm_lrs[2], climb(4, 2.0 / 3));
  EXPECT_DOUBLE_EQ(warm_lrs[3], schedule[5]);
  EXPECT_EQ(epochs_done(path("warm") / "model"), 3);

  // Stopped mid-climb with a compact checkpoint elsewhere, then resumed: the same climb.
  MsnTrainer first(c, data, Distributed::single());
  first.warm_start(path("part") / "model", 1.5);
  first.set_checkpoint(path("kept") / "state.ckpt", /*bf16_moments=*/true);
  lrs_of(first, path("first"), 2);
  ASSERT_TRUE(fs::exists(path("kept") / "state.ckpt"));
  EXPECT_FALSE(fs::exists(path("first") / "checkpoint.pt"));
  EXPECT_LT(fs::file_size(path("kept") / "state.ckpt"), fs::file_size(path("part") / "checkpoint.pt"));
  MsnTrainer second(c, data, Distributed::single());
  second.resume(path("kept") / "state.ckpt");
  EXPECT_EQ(second.epoch(), 2);
  const std::vector<double> resumed_lrs = lrs_of(second, path("second"), 0);
  ASSERT_EQ(resumed_lrs.size(), 2u);
  EXPECT_DOUBLE_EQ(resumed_lrs[0], warm_lrs[2]);
  EXPECT_DOUBLE_EQ(resumed_lrs[1], warm_lrs[3]);
  // bf16 moments: close to the run that kept float32 ones, not bit-exact.
  const TensorMap a = read_safetensors(path("warm") / "model" / "model.safetensors").tensors;
  const TensorMap b = read_safetensors(path("second") / "model" / "model.safetensors").tensors;
  for (const auto& [name, t] : a) {
    const Closeness close = compare(b.at(name), t, name, 1e-2);
    EXPECT_TRUE(close.ok) << close.message;
  }

  // A model from another config is refused by name.
  PretrainConfig other = c;
  other.lr *= 2;
  MsnTrainer mismatched(other, data, Distributed::single());
  MSN_EXPECT_ERROR(mismatched.warm_start(path("part") / "model", 1), "training.json", "different pretraining config");
  MSN_EXPECT_ERROR(mismatched.warm_start(path("nowhere"), 1), "nowhere");
}

// A new stage from an exported model with another recipe: the same network, its weights as the
// start, this config's own schedule from epoch 0, and the earlier stage recorded in training.json,
// also across a resume.
TEST_F(Train, StartsANewStageFromAnExportedModel) {
  const auto data = tiny_dataset();
  MsnTrainer part(tiny_config(), data, Distributed::single());
  part.run(path("part"), nullptr, 1);
  PretrainConfig stage = tiny_config();  // milder crops and a smaller rate, as the bundled model's second stage
  stage.target_view.scale_min = 0.7;
  stage.lr /= 5;
  std::vector<double> schedule;  // the stage's rate when trained from scratch
  MsnTrainer scratch(stage, data, Distributed::single());
  scratch.run(path("scratch"), [&](const TrainProgress& p) { schedule.push_back(p.lr); });

  MsnTrainer whole(stage, data, Distributed::single());
  whole.init_from(path("part") / "model");
  EXPECT_EQ(whole.epoch(), 0);
  expect_starts_as(whole, path("part") / "model");
  std::vector<double> lrs;
  whole.run(path("whole"), [&](const TrainProgress& p) { lrs.push_back(p.lr); });
  EXPECT_EQ(lrs, schedule);
  const nlohmann::json training = read_json_file(path("whole") / "model" / "training.json");
  EXPECT_EQ(training.at("epochs_done").get<int>(), 2);
  EXPECT_EQ(training.at("epoch_loss").size(), 2u);
  EXPECT_EQ(training.at("config"), stage.to_json());
  const nlohmann::json& earlier = training.at("init_from");
  EXPECT_EQ(earlier.at("model").get<std::string>(), (path("part") / "model").generic_string());
  EXPECT_EQ(earlier.at("epochs_done").get<int>(), 1);
  EXPECT_EQ(earlier.at("config"), tiny_config().to_json());
  EXPECT_EQ(earlier.at("epoch_loss"), read_json_file(path("part") / "model" / "training.json").at("epoch_loss"));

  // Stopped after its first epoch and resumed: the same weights and the same record.
  MsnTrainer first(stage, data, Distributed::single());
  first.init_from(path("part") / "model");
  first.run(path("halves"), nullptr, 1);
  MsnTrainer second(stage, data, Distributed::single());
  second.resume(path("halves") / "checkpoint.pt");
  second.run(path("halves"), nullptr);
  expect_same_weights(path("whole") / "model", path("halves") / "model");
  EXPECT_EQ(read_json_file(path("halves") / "model" / "training.json").at("init_from"), earlier);

  // Another network is refused by name.
  PretrainConfig wider = stage;
  wider.head.output *= 2;
  MsnTrainer other(wider, data, Distributed::single());
  MSN_EXPECT_ERROR(other.init_from(path("part") / "model"), "training.json", "different network (head)");
  MSN_EXPECT_ERROR(other.init_from(path("nowhere")), "nowhere");
  fs::create_directories(path("hostile"));
  write_file(path("hostile") / "training.json", R"({"config": 7, "epochs_done": "many", "epoch_loss": {}})");
  MSN_EXPECT_ERROR(whole.init_from(path("hostile")), "training.json", "not written by msnlens-cli pretrain");
}

// A cooldown after the schedule: its steps as before, then the learning rate annealed along a
// half cosine to final_lr, resumable inside the cooldown only with the same length.
TEST_F(Train, CoolsDownAfterTheSchedule) {
  const auto data = tiny_dataset();
  const PretrainConfig c = tiny_config();  // two epochs of two steps
  std::vector<double> schedule;
  MsnTrainer straight(c, data, Distributed::single());
  straight.run(path("straight"), [&](const TrainProgress& p) { schedule.push_back(p.lr); });

  std::vector<double> lrs;
  MsnTrainer cooled(c, data, Distributed::single());
  cooled.set_cooldown(2);
  cooled.run(path("cooled"), [&](const TrainProgress& p) {
    EXPECT_EQ(p.epochs, 4);
    lrs.push_back(p.lr);
  });
  ASSERT_EQ(lrs.size(), 8u);
  for (std::size_t i = 0; i < schedule.size(); ++i) EXPECT_DOUBLE_EQ(lrs[i], schedule[i]) << "step " << i;
  // Step 4 goes on from the schedule (still falling, well above final_lr); then 1/4, 1/2, 3/4 of a half cosine.
  EXPECT_LT(lrs[4], lrs[3]);
  EXPECT_GT(lrs[4], 10 * c.final_lr);
  const double from = lrs[4] - c.final_lr;
  EXPECT_NEAR(lrs[5] - c.final_lr, from * 0.5 * (1 + std::cos(M_PI / 4)), 1e-15);
  EXPECT_NEAR(lrs[6] - c.final_lr, from * 0.5, 1e-15);
  EXPECT_NEAR(lrs[7] - c.final_lr, from * 0.5 * (1 + std::cos(3 * M_PI / 4)), 1e-15);
  EXPECT_EQ(epochs_done(path("cooled") / "model"), 4);
  EXPECT_EQ(read_json_file(path("cooled") / "model" / "training.json").at("cooldown_epochs").get<int>(), 2);

  // Stopped inside the cooldown and resumed: the same steps and the same model.
  MsnTrainer part(c, data, Distributed::single());
  part.set_cooldown(2);
  part.run(path("part"), nullptr, 3);
  MsnTrainer rest(c, data, Distributed::single());
  rest.set_cooldown(2);
  rest.resume(path("part") / "checkpoint.pt");
  std::vector<double> rest_lrs;
  rest.run(path("part"), [&](const TrainProgress& p) { rest_lrs.push_back(p.lr); });
  ASSERT_EQ(rest_lrs.size(), 2u);
  EXPECT_DOUBLE_EQ(rest_lrs[0], lrs[6]);
  EXPECT_DOUBLE_EQ(rest_lrs[1], lrs[7]);
  expect_same_weights(path("cooled") / "model", path("part") / "model");
  // ...but not with another length, which would change every step left.
  MsnTrainer longer(c, data, Distributed::single());
  longer.set_cooldown(3);
  MSN_EXPECT_ERROR(longer.resume(path("part") / "checkpoint.pt"), "checkpoint.pt", "of a 2-epoch cooldown");
}

TEST_F(Train, TwoProcessesMatchOne) {
  const fs::path data = tiny_data();
  const fs::path two = path("two"), one = path("one");
  fs::create_directories(two);
  fs::create_directories(one);
  const std::string worker = MSNLENS_TRAIN_WORKER;
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  std::vector<std::unique_ptr<Process>> ranks;
  for (int rank = 0; rank < 2; ++rank)
    ranks.push_back(std::make_unique<Process>(
        worker, std::vector<std::string>{data.string(), two.string(), "3", "4"}, Process::Output::Inherit,
        std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(rank)},
                                                         {"WORLD_SIZE", "2"},
                                                         {"MASTER_ADDR", "127.0.0.1"},
                                                         {"MASTER_PORT", std::to_string(port)},
                                                         {"MSNLENS_THREADS", "1"}}));
  Process single(worker, {data.string(), one.string(), "3", "8"}, Process::Output::Inherit);
  for (std::size_t rank = 0; rank < ranks.size(); ++rank) {
    const Process::Result r = ranks[rank]->wait(std::chrono::minutes(2));
    ASSERT_FALSE(r.timed_out) << "rank " << rank << " of 2 still running after 2 minutes";
    ASSERT_EQ(r.status, 0) << "rank " << rank << " of 2";
  }
  const Process::Result r = single.wait(std::chrono::minutes(2));
  ASSERT_FALSE(r.timed_out) << "the single process still running after 2 minutes";
  ASSERT_EQ(r.status, 0) << "the single process";

  // Both processes hold the same weights, exactly.
  const TensorMap r0 = read_safetensors(two / "rank0.safetensors").tensors;
  const TensorMap r1 = read_safetensors(two / "rank1.safetensors").tensors;
  for (const auto& [name, t] : r0) EXPECT_TRUE(at::equal(t, r1.at(name))) << "rank weights differ: " + name;
  // And they match one process training on the same global batches.
  const TensorMap ref = read_safetensors(one / "rank0.safetensors").tensors;
  for (const auto& [name, t] : r0) {
    const Closeness c = compare(t, ref.at(name), name, 1e-3);
    EXPECT_TRUE(c.ok) << c.message;
  }
  std::ifstream l2(two / "rank0.txt"), l1(one / "rank0.txt");
  double a = 0, b = 0;
  int steps = 0;
  while (l2 >> a && l1 >> b) {
    EXPECT_LE(std::abs(a - b), 1e-4 * (1 + std::abs(b))) << "step " << steps << ": loss " << a << " (2 processes) vs " << b << " (1)";
    ++steps;
  }
  EXPECT_EQ(steps, 3);
}

}  // namespace
