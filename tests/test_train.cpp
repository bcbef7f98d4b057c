// MSN pretraining: IDX files, the training network against the inference engine, the loss,
// exact resume from checkpoints, and data-parallel training over c10d (two processes on
// loopback must keep identical weights and match one process on the same global batch).

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <zlib.h>

#include <fstream>

#include "checkpoint/safetensors.h"
#include "engine/model_loader.h"
#include "test_support.h"
#include "tiny_pretrain_config.h"
#include "train/idx_file.h"
#include "train/msn_loss.h"
#include "train/trainer.h"

using namespace msnlens;
using namespace testing;
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

}  // namespace

class TrainTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void init() { QVERIFY(dir_.isValid()); }
  void idx_files();
  void exported_network_matches_the_engine();
  void loss_terms();
  void resume_continues_exactly();
  void two_processes_match_one();

 private:
  fs::path path(const std::string& name) const { return fs::path(dir_.path().toStdString()) / name; }
  fs::path tiny_data() {
    const fs::path p = path("tiny-images-idx3-ubyte");
    if (!fs::exists(p)) write_file(p, idx_images(64, 16, 16, 7));
    return p;
  }
  QTemporaryDir dir_;
};

void TrainTest::idx_files() {
  write_file(path("a.idx"), idx_images(3, 4, 5, 1));
  const at::Tensor images = read_idx_images(path("a.idx"));
  QCOMPARE(images.sizes().vec(), (std::vector<std::int64_t>{3, 4, 5}));
  // gzip-compressed, as Debian ships Fashion-MNIST.
  const std::string raw = idx_images(2, 3, 3, 2);
  gzFile gz = gzopen(path("b.idx.gz").c_str(), "wb");
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  QCOMPARE(read_idx_images(path("b.idx.gz")).size(0), 2);
  write_file(path("labels.idx"), std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x02\x09", 3));
  QCOMPARE(read_idx_labels(path("labels.idx"))[2].item<std::int64_t>(), 9);
  MSN_EXPECT_ERROR(read_idx_images(path("labels.idx")), "labels.idx", "1 dimensions, expected 3");
  write_file(path("cut.idx"), idx_images(3, 4, 5, 1).substr(0, 40));
  MSN_EXPECT_ERROR(read_idx_images(path("cut.idx")), "cut.idx", "need 60 bytes", "has 24");
  write_file(path("huge.idx"), std::string("\0\0\x08\x03", 4) + be32(0xFFFFFFFF) + be32(0xFFFF) + be32(0xFFFF));
  MSN_EXPECT_ERROR(read_idx_images(path("huge.idx")), "claim more than");
  write_file(path("text.idx"), "hello world, not idx");
  MSN_EXPECT_ERROR(read_idx_images(path("text.idx")), "bad magic");
}

void TrainTest::exported_network_matches_the_engine() {
  // After training steps (BatchNorm statistics moved), the exported target network must give
  // the inference engine the same embeddings and projections the training code computes.
  const auto data = std::make_shared<IdxImageDataset>(tiny_data());
  MsnTrainer trainer(tiny_config(), data, Distributed::single());
  for (int s = 0; s < 3; ++s) trainer.step(s, 0);
  trainer.export_model(path("exported"), {});
  const LoadedModel loaded = load_model(path("exported"));
  QVERIFY(loaded.model->has_projection_head());
  QCOMPARE(loaded.model->num_prototypes(), 16);
  MsnNetwork student = trainer.student();
  student->eval();
  const TensorMap student_weights = student->export_weights();
  const ViTMSNModel engine(loaded.model->config(), [&] {
    TensorMap w = student_weights;
    w["prototypes"] = trainer.export_weights().at("prototypes");
    return w;
  }(), "student");
  const at::Tensor x = at::randn({4, 3, 16, 16});
  at::Generator gen = at::detail::createCPUGenerator(0);
  torch::NoGradGuard no_grad;
  auto dist = Distributed::single();
  const at::Tensor cls = student->encode(x, 0.0, gen);
  const at::Tensor z = student->project(cls, *dist);
  const ModelOutput out = engine.forward(x);
  const Closeness c1 = compare(out.cls_embedding(), cls, "cls");
  MSN_VERIFY(c1.ok, c1.message);
  const Closeness c2 = compare(out.projection, z, "projection");
  MSN_VERIFY(c2.ok, c2.message);
}

void TrainTest::loss_terms() {
  auto dist = Distributed::single();
  const at::Tensor prototypes = at::randn({8, 4});
  // Anchors equal to their targets and spread over all prototypes: ME-MAX near zero, and the
  // cross-entropy is the entropy of the (sharpened) targets against the anchors' assignment.
  const at::Tensor z = prototypes.repeat({4, 1});
  const MsnLoss l = msn_loss(z, z, prototypes, MsnLossConfig{}, *dist);
  QVERIFY(l.me_max.item<double>() < 0.05);
  QVERIFY(l.cross_entropy.item<double>() > 0);
  QCOMPARE(l.prototypes_used, 8);
  // All anchors on one prototype: ME-MAX approaches log K.
  const at::Tensor same = prototypes[0].repeat({32, 1}) * 10;
  const MsnLoss collapsed = msn_loss(same, same, prototypes, MsnLossConfig{}, *dist);
  QVERIFY(collapsed.me_max.item<double>() > 0.5 * std::log(8.0));
  // Assignments are distributions.
  const at::Tensor p = prototype_assignment(at::randn({5, 4}), prototypes, 0.1);
  QVERIFY(at::allclose(p.sum(1), at::ones({5})));
}

void TrainTest::resume_continues_exactly() {
  const auto data = std::make_shared<IdxImageDataset>(tiny_data());
  const PretrainConfig c = tiny_config();  // two epochs of two steps
  MsnTrainer straight(c, data, Distributed::single());
  straight.run(path("straight"), nullptr);

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
  QVERIFY(stopped);
  QVERIFY(fs::exists(path("killed") / "checkpoint.pt"));
  QVERIFY(!fs::exists(path("killed") / "model"));
  MsnTrainer resumed(c, data, Distributed::single());
  resumed.resume(path("killed") / "checkpoint.pt");
  QCOMPARE(resumed.epoch(), 1);
  resumed.run(path("killed"), nullptr);

  // Weights, optimizer moments and schedules all came back: the same model as straight through.
  const TensorMap a = read_safetensors(path("straight") / "model" / "model.safetensors").tensors;
  const TensorMap b = read_safetensors(path("killed") / "model" / "model.safetensors").tensors;
  QCOMPARE(a.size(), b.size());
  for (const auto& [name, t] : a) {
    const Closeness close = compare(b.at(name), t, name, 1e-6);
    MSN_VERIFY(close.ok, close.message);
  }
  // A checkpoint from another config is refused by name.
  PretrainConfig other = c;
  other.lr *= 2;
  MsnTrainer mismatched(other, data, Distributed::single());
  MSN_EXPECT_ERROR(mismatched.resume(path("killed") / "checkpoint.pt"), "checkpoint.pt", "different pretraining config");
}

void TrainTest::two_processes_match_one() {
  const fs::path data = tiny_data();
  const fs::path two = path("two"), one = path("one");
  fs::create_directories(two);
  fs::create_directories(one);
  const QString worker = MSNLENS_TRAIN_WORKER;
  const int port = 20000 + static_cast<int>(QCoreApplication::applicationPid() % 20000);
  std::vector<std::unique_ptr<QProcess>> procs;
  for (int rank = 0; rank < 2; ++rank) {
    auto p = std::make_unique<QProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", QString::number(rank));
    env.insert("WORLD_SIZE", "2");
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", QString::number(port));
    env.insert("MSNLENS_THREADS", "1");
    p->setProcessEnvironment(env);
    p->setProcessChannelMode(QProcess::ForwardedChannels);
    p->start(worker, {qs(data.string()), qs(two.string()), "3", "4"});
    procs.push_back(std::move(p));
  }
  QProcess single;
  single.setProcessChannelMode(QProcess::ForwardedChannels);
  single.start(worker, {qs(data.string()), qs(one.string()), "3", "8"});
  for (auto& p : procs) {
    QVERIFY(p->waitForFinished(120000));
    QCOMPARE(p->exitCode(), 0);
  }
  QVERIFY(single.waitForFinished(120000));
  QCOMPARE(single.exitCode(), 0);

  // Both processes hold the same weights, exactly.
  const TensorMap r0 = read_safetensors(two / "rank0.safetensors").tensors;
  const TensorMap r1 = read_safetensors(two / "rank1.safetensors").tensors;
  for (const auto& [name, t] : r0) MSN_VERIFY(at::equal(t, r1.at(name)), qs("rank weights differ: " + name));
  // And they match one process training on the same global batches.
  const TensorMap ref = read_safetensors(one / "rank0.safetensors").tensors;
  for (const auto& [name, t] : r0) {
    const Closeness c = compare(t, ref.at(name), name, 1e-3);
    MSN_VERIFY(c.ok, c.message);
  }
  std::ifstream l2(two / "rank0.txt"), l1(one / "rank0.txt");
  double a = 0, b = 0;
  int steps = 0;
  while (l2 >> a && l1 >> b) {
    MSN_VERIFY(std::abs(a - b) <= 1e-4 * (1 + std::abs(b)), QString("step %1: loss %2 (2 processes) vs %3 (1)").arg(steps).arg(a).arg(b));
    ++steps;
  }
  QCOMPARE(steps, 3);
}

QTEST_GUILESS_MAIN(TrainTest)
#include "test_train.moc"
