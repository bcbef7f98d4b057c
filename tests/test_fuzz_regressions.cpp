// Every seed of the fuzz corpora, the fixtures they grew from, and every input a fuzzer has
// crashed on (tests/fuzz/regressions/<target>/) go through the fuzz targets again: a crasher
// that comes back fails `make test`, not just `make fuzz`.

#include <QtTest>

#include <fstream>
#include <iterator>

#include "fuzz/fuzz_targets.h"
#include "test_support.h"

using namespace msnlens;
namespace fs = std::filesystem;

class FuzzRegressionsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void replay_data();
  void replay();
};

void FuzzRegressionsTest::replay_data() {
  QTest::addColumn<QString>("target");
  QTest::addColumn<QString>("file");
  const fs::path fuzz = fs::path(MSNLENS_FUZZ_DIR);
  for (const auto& t : fuzz::targets())
    for (const char* dir : {"corpus", "regressions"}) {
      const fs::path d = fuzz / dir / t.name;
      if (!fs::is_directory(d)) continue;
      for (const auto& e : fs::directory_iterator(d)) {
        const std::string row = std::string(t.name) + "/" + dir + "/" + e.path().filename().string();
        QTest::newRow(row.c_str()) << QString(t.name) << testing::qs(e.path().string());
      }
    }
  // The real checkpoints and images the corpora started from.
  const std::vector<std::pair<const char*, const char*>> fixtures = {
      {"safetensors", "models/tiny64-masktoken/model.safetensors"},
      {"torch_zip", "models/tiny224-base-bin/pytorch_model.bin"},
      {"torch_zip", "models/tiny96-msn-original/vit_tiny96_msn.pth.tar"},
      {"image", "images/horse.png"}};
  for (const auto& [target, file] : fixtures)
    QTest::newRow((std::string(target) + "/fixture/" + file).c_str()) << QString(target) << testing::qs(testing::data_path(file).string());
}

void FuzzRegressionsTest::replay() {
  QFETCH(QString, target);
  QFETCH(QString, file);
  std::ifstream in(file.toStdString(), std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& t : fuzz::targets())
    if (target == t.name) {
      try {
        QCOMPARE(t.run(bytes.data(), bytes.size()), 0);
      } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("%1 escaped as %2: %3").arg(file, typeid(e).name(), e.what())));
      }
      return;
    }
  QFAIL("unknown fuzz target");
}

QTEST_GUILESS_MAIN(FuzzRegressionsTest)
#include "test_fuzz_regressions.moc"
