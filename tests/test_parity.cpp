// Every golden case in tests/data/cases, run through the engine on the CPU in float32 and
// compared tensor by tensor with the float64 reference at the fixtures' tolerance.

#include <QtTest>

#include <map>

#include "checkpoint/safetensors.h"
#include "common/json_file.h"
#include "engine/inference_session.h"
#include "imaging/image_file.h"
#include "test_support.h"

using namespace msnlens;
using namespace testing;

class ParityTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void golden_case_data();
  void golden_case();
  void cleanupTestCase();

 private:
  void run_case(const std::string& name);
  void check(const at::Tensor& got, const TensorMap& expected, const std::string& name, const std::string& format);
  std::map<std::string, double> worst_;  // per checkpoint format, for the record
};

void ParityTest::golden_case_data() {
  QTest::addColumn<QString>("name");
  for (const auto& e : std::filesystem::directory_iterator(data_path("cases"))) {
    const std::string stem = e.path().stem().string();
    if (e.path().extension() == ".json" && stem != "preprocess-224") QTest::newRow(stem.c_str()) << qs(stem);
  }
}

void ParityTest::check(const at::Tensor& got, const TensorMap& expected, const std::string& name,
                       const std::string& format) {
  const auto it = expected.find(name);
  QVERIFY2(it != expected.end(), qPrintable(qs("reference lacks " + name)));
  const Closeness c = compare(got, it->second, name);
  MSN_VERIFY(c.ok, c.message);
  worst_[format] = std::max(worst_[format], c.max_error);
}

void ParityTest::golden_case() {
  QFETCH(QString, name);
  try {
    run_case(name.toStdString());
  } catch (const std::exception& e) {
    QFAIL(e.what());
  }
}

void ParityTest::run_case(const std::string& name) {
  const auto spec = read_json_file(data_path("cases/" + name + ".json"));
  const auto& input = spec["input"];
  ConfigOverride config;
  if (spec.contains("config")) config = {spec["config"], "case config"};
  InferenceSession session(load_model(data_path(spec["model"].get<std::string>()), config), {"cpu", Precision::FP32});
  const std::string format = session.loaded().summary.format;
  const TensorMap expected = read_safetensors(data_path("cases/" + spec["expected"].get<std::string>())).tensors;

  ForwardOptions options;
  options.interpolate_pos_encoding = input.value("interpolate_pos_encoding", false);
  at::Tensor pixels;
  if (input.contains("image")) {
    // The full pipeline: decode, PIL-exact resize, normalize.
    pixels = session.preprocess(read_image(data_path(input["image"].get<std::string>())));
    const Closeness c = compare(pixels, expected.at("pixel_values"), "pixel_values");
    MSN_VERIFY(c.max_error <= 0.02, c.message);
  } else {
    pixels = expected.at("inputs.pixel_values");
  }
  if (expected.count("inputs.head_mask")) options.head_mask = expected.at("inputs.head_mask");
  if (expected.count("inputs.bool_masked_pos")) options.bool_masked_pos = expected.at("inputs.bool_masked_pos");
  const bool masked_view = expected.count("masked.last_hidden_state") != 0;
  if (expected.count("inputs.keep_patches") && !masked_view) options.keep_patches = expected.at("inputs.keep_patches");

  const ModelOutput out = session.run(pixels, options);
  check(out.last_hidden_state, expected, "last_hidden_state", format);
  std::size_t layers = 0;
  while (expected.count("attentions." + std::to_string(layers))) ++layers;
  QCOMPARE(out.attentions.size(), layers);
  QCOMPARE(out.hidden_states.size(), layers + 1);
  for (std::size_t i = 0; i < layers; ++i) check(out.attentions[i], expected, "attentions." + std::to_string(i), format);
  for (std::size_t i = 0; i <= layers; ++i) check(out.hidden_states[i], expected, "hidden_states." + std::to_string(i), format);
  // Logits exist exactly when the checkpoint has classifier weights, whatever id2label says.
  QCOMPARE(out.logits.defined(), expected.count("logits") == 1);
  if (out.logits.defined()) check(out.logits, expected, "logits", format);
  QCOMPARE(out.projection.defined(), expected.count("projection") == 1);
  if (out.projection.defined()) {
    check(out.projection, expected, "projection", format);
    check(out.prototype_probs, expected, "prototype_probs", format);
  }

  if (masked_view) {  // MSN's own masking: the same image with only keep_patches left
    options.keep_patches = expected.at("inputs.keep_patches");
    const ModelOutput masked = session.run(pixels, options);
    check(masked.last_hidden_state, expected, "masked.last_hidden_state", format);
    check(masked.projection, expected, "masked.projection", format);
    check(masked.prototype_probs, expected, "masked.prototype_probs", format);
  }
}

void ParityTest::cleanupTestCase() {
  for (const auto& [format, err] : worst_) qInfo("worst fp32 parity error, %s: %.3g", format.c_str(), err);
}

QTEST_GUILESS_MAIN(ParityTest)
#include "test_parity.moc"
