// msnlens-cli as scripts use it: readable top-k, JSON reports, tensors that match the golden
// references end to end, summaries for every fixture, and one-line errors.

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "checkpoint/safetensors.h"
#include "common/json_file.h"
#include "test_support.h"

using namespace msnlens;
using namespace testing;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  QString out, err;
};

Run cli(const QStringList& args) {
  QProcess p;
  p.start(MSNLENS_CLI, args);
  p.waitForFinished(120000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

QString data(const std::string& relative) { return qs(data_path(relative).string()); }

// Our own message is the last line; libraries (libpng) may warn before it.
QString last_line(const QString& s) { return s.trimmed().split('\n').last(); }

}  // namespace

class CliTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void init() { QVERIFY(dir_.isValid()); }
  void topk_for_an_image();
  void json_report();
  void tensors_match_reference();
  void info_for_every_fixture();
  void backbone_says_it_has_no_classifier();
  void original_msn_needs_and_takes_a_config();
  void errors_are_one_line();
  void bundled_model_names_fashion_classes();
  void masked_view_as_the_app_shows_it();
  void random_checkpoint_in_a_released_shape();

 private:
  QString temp(const char* name) const { return dir_.filePath(name); }
  QTemporaryDir dir_;
};

void CliTest::topk_for_an_image() {
  const Run r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--topk", "3"});
  QCOMPARE(r.status, 0);
  const QStringList lines = r.out.trimmed().split('\n');
  QCOMPARE(lines.size(), 4);  // heading + three predictions
  // The golden logits say which class wins for this photo.
  const at::Tensor logits = read_safetensors(data_path("cases/tiny224-cls-chelsea.safetensors")).tensors.at("logits");
  const std::vector<std::string> labels = {"tabby cat", "espresso", "astronaut", "rocket", "grey square"};
  const auto best = logits[0].argmax().item<std::int64_t>();
  QVERIFY2(lines[1].contains(qs(labels[static_cast<std::size_t>(best)])), qPrintable(r.out));
  QVERIFY(lines[1].contains('%'));
}

void CliTest::json_report() {
  const QString report = temp("report.json");
  const Run r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/coffee.png"), "--topk", "3",
                     "--json", report});
  QCOMPARE(r.status, 0);
  const auto j = read_json_file(report.toStdString());
  QCOMPARE(j["topk"].size(), std::size_t{3});
  QCOMPARE(j["model"]["has_classifier"].get<bool>(), true);
  QCOMPARE(j["model"]["config"]["num_attention_heads"].get<int>(), 3);
  QCOMPARE(j["precision"].get<std::string>(), std::string("fp32"));
  QCOMPARE(j["device"].get<std::string>(), std::string("cpu"));
  double total = 0;
  for (const auto& p : j["topk"]) total += p["score"].get<double>();
  QVERIFY(total > 0 && total <= 1.0 + 1e-9);
  QVERIFY(j["timings_ms"]["inference"].get<double>() > 0);
}

void CliTest::tensors_match_reference() {
  const QString out = temp("out.safetensors");
  const QString inputs = data("cases/tiny224-cls-headmask.safetensors");
  QCOMPARE(cli({"infer", "--model", data("models/tiny224-cls"), "--inputs", inputs, "--tensors", out}).status, 0);
  const TensorMap got = read_safetensors(out.toStdString()).tensors;
  const TensorMap want = read_safetensors(inputs.toStdString()).tensors;
  for (const char* name : {"last_hidden_state", "hidden_states.0", "hidden_states.2", "attentions.0", "attentions.1", "logits"}) {
    const Closeness c = compare(got.at(name), want.at(name), name);
    MSN_VERIFY(c.ok, c.message);
  }
  QVERIFY(at::equal(got.at("pixel_values"), want.at("inputs.pixel_values")));
  QVERIFY(got.count("projection") == 0);
  // Interpolated position embeddings through the CLI flag.
  const QString interp = data("cases/tiny224-base-bin-interp160x256.safetensors");
  QCOMPARE(cli({"infer", "--model", data("models/tiny224-base-bin"), "--inputs", interp, "--interpolate-pos-encoding",
                "--tensors", out}).status, 0);
  const Closeness c = compare(read_safetensors(out.toStdString()).tensors.at("last_hidden_state"),
                              read_safetensors(interp.toStdString()).tensors.at("last_hidden_state"), "interpolated");
  MSN_VERIFY(c.ok, c.message);
  QVERIFY(read_safetensors(out.toStdString()).tensors.count("logits") == 0);
}

void CliTest::info_for_every_fixture() {
  const Run cls = cli({"info", "--model", data("models/tiny224-cls")});
  QCOMPARE(cls.status, 0);
  QVERIFY(cls.out.contains("2 layers x 3 heads"));
  QVERIFY(cls.out.contains("yes, 5 labels"));
  const Run bin = cli({"info", "--model", data("models/tiny224-base-bin")});
  QCOMPARE(bin.status, 0);
  QVERIFY(bin.out.contains("torch.save zip"));
  QVERIFY(bin.out.contains("3 layers x 4 heads"));
  QVERIFY(bin.out.contains("config lists 1000 labels, but there are no classifier weights"));
  const Run mask = cli({"info", "--model", data("models/tiny64-masktoken")});
  QCOMPARE(mask.status, 0);
  QVERIFY(mask.out.contains("mask token   yes"));
  QVERIFY(mask.out.contains("64 patches"));
  const QString info = temp("info.json");
  QCOMPARE(cli({"info", "--model", data("models/tiny64-masktoken"), "--json", info}).status, 0);
  QCOMPARE(read_json_file(info.toStdString())["has_mask_token"].get<bool>(), true);
}

void CliTest::backbone_says_it_has_no_classifier() {
  const Run r = cli({"infer", "--model", data("models/tiny224-base-bin"), "--image", data("images/horse.png")});
  QCOMPARE(r.status, 0);
  QVERIFY(r.out.contains("no classifier"));
  QVERIFY(!r.out.contains("class_0"));  // never labels from weights that do not exist
}

void CliTest::original_msn_needs_and_takes_a_config() {
  const QString model = data("models/tiny96-msn-original/vit_tiny96_msn.pth.tar");
  const Run without = cli({"info", "--model", model});
  QCOMPARE(without.status, 1);
  QVERIFY(last_line(without.err).contains("--config"));
  const QString config = temp("heads.json");
  write_file(config.toStdString(), R"({"num_attention_heads": 2})");
  const Run with = cli({"info", "--model", model, "--config", config});
  QCOMPARE(with.status, 0);
  QVERIFY(with.out.contains("32 prototypes"));
  QVERIFY(with.out.contains("epoch = 800"));
  const Run infer = cli({"infer", "--model", model, "--config", config, "--image", data("images/astronaut.png"), "--topk", "2"});
  QCOMPARE(infer.status, 0);
  QVERIFY(infer.out.contains("top MSN prototypes"));
  QCOMPARE(infer.out.count("prototype "), 2);
}

void CliTest::errors_are_one_line() {
  const QString missing = temp("nope");
  Run r = cli({"info", "--model", missing});
  QCOMPARE(r.status, 1);
  QCOMPARE(r.err.trimmed().count('\n'), 0);
  QVERIFY(r.err.contains(missing));
  QVERIFY(r.err.contains("no such file"));

  const QString broken = temp("broken.png");
  write_file(broken.toStdString(), read_file(data_path("images/coffee.png")).substr(0, 3000));
  r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", broken});
  QCOMPARE(r.status, 1);
  QVERIFY(last_line(r.err).startsWith("msnlens-cli: " + broken));
  QVERIFY(!r.err.contains("frame #"));

  r = cli({"infer", "--model", data("models/tiny224-cls"), "--inputs", data("cases/tiny224-base-bin-interp160x256.safetensors")});
  QCOMPARE(r.status, 1);
  QCOMPARE(r.err.trimmed().count('\n'), 0);
  QVERIFY(r.err.contains("doesn't match the model"));

  r = cli({"infer", "--model", data("models/tiny224-cls"), "--inputs", data("cases/tiny224-cls-pixels.safetensors"),
           "--device", "cuda:7"});
  QCOMPARE(r.status, 1);
  QVERIFY(r.err.contains("device"));

  r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/horse.png"), "--precision", "fp16"});
  QCOMPARE(r.status, 1);
  QVERIFY(r.err.contains("fp16"));
}

// The model `make run` opens: no classifier, so its shipped few-shot classes rank, and they name
// the bundled Fashion-MNIST test images (NNNNN-<class>.png) mostly right: its measured 5-shot
// accuracy is 68 %, so at least 8 of these 12 is expected.
void CliTest::bundled_model_names_fashion_classes() {
  const fs::path resources = fs::path(MSNLENS_TEST_DATA).parent_path().parent_path() / "resources";
  const QString model = qs((resources / "models/msn-fmnist").string());
  int images = 0, right = 0;
  for (const auto& entry : fs::directory_iterator(resources / "images/fashion")) {
    const QString report = temp("fashion.json");
    const Run r = cli({"infer", "--model", model, "--image", qs(entry.path().string()), "--json", report});
    QVERIFY2(r.status == 0, qPrintable(r.err));
    const auto j = read_json_file(report.toStdString());
    QVERIFY(j["topk"].empty());  // never labels from a head the model does not have
    QCOMPARE(j["fewshot"]["topk"].size(), std::size_t{5});
    // "T-shirt/top" -> "t-shirt", "Ankle boot" -> "ankle-boot": the file name's spelling.
    QString label = QString::fromStdString(j["fewshot"]["topk"][0]["label"].get<std::string>()).toLower();
    label = label.section('/', 0, 0).replace(' ', '-');
    const QString truth = qs(entry.path().stem().string()).section('-', 1);
    ++images;
    right += label == truth;
  }
  QCOMPARE(images, 12);
  QVERIFY2(right >= 8, qPrintable(QString("%1 of 12 right").arg(right)));
  // Classes made with this 192-wide model do not fit another model's embeddings: refused, by name.
  const QString classes = model + "/classes.fewshot";
  const Run other = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--fewshot", classes});
  QCOMPARE(other.status, 1);
  QVERIFY2(last_line(other.err).startsWith("msnlens-cli: " + classes), qPrintable(other.err));
  QVERIFY(other.err.contains("made for embeddings of 192 dimensions"));
}

// --mask runs the masked view through the app's own engine and reports its response.
void CliTest::masked_view_as_the_app_shows_it() {
  const QString report = temp("masked.json");
  Run r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--mask", "random:0.5:3",
               "--json", report});
  QCOMPARE(r.status, 0);
  const auto j = read_json_file(report.toStdString());
  QCOMPARE(j["masked"]["patches"].size(), std::size_t{98});
  QCOMPARE(j["masked"]["mode"].get<std::string>(), std::string("drop tokens (MSN)"));
  const double cosine = j["masked"]["cls_cosine"].get<double>();
  QVERIFY2(cosine > 0.9 && cosine < 0.999999, qPrintable(QString::number(cosine, 'g', 8)));  // a small random model barely moves
  QCOMPARE(j["masked"]["topk"].size(), std::size_t{5});
  r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--mask", "3,17,40",
           "--mask-mode", "gray"});
  QCOMPARE(r.status, 0);
  QVERIFY2(r.out.contains("masked 3 of 196 patches (pixel fill: gray)"), qPrintable(r.out));
  // What the model cannot do, and what is not a mask, are refused by name.
  r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--mask", "1", "--mask-mode", "token"});
  QCOMPARE(r.status, 1);
  QVERIFY(last_line(r.err).contains("mask token"));
  r = cli({"infer", "--model", data("models/tiny224-cls"), "--image", data("images/chelsea.png"), "--mask", "500"});
  QCOMPARE(r.status, 1);
  QVERIFY(last_line(r.err).contains("patch 500 is outside 0..195"));
}

// The released backbones' layout at their real size: no prefix, no classifier, 1000 labels.
void CliTest::random_checkpoint_in_a_released_shape() {
  const QString folder = temp("vit-msn-small");
  QCOMPARE(cli({"random-model", "--shape", "small", "--out", folder}).status, 0);
  const Run info = cli({"info", "--model", folder});
  QCOMPARE(info.status, 0);
  QVERIFY(info.out.contains("12 layers x 6 heads, hidden 384"));
  QVERIFY(info.out.contains("196 patches"));
  QVERIFY(info.out.contains("config lists 1000 labels, but there are no classifier weights"));
  const Run bad = cli({"random-model", "--shape", "huge", "--out", folder});
  QCOMPARE(bad.status, 1);
  QVERIFY(last_line(bad.err).contains("small, base, large, base-4, large-7"));
}

QTEST_GUILESS_MAIN(CliTest)
#include "test_cli.moc"
