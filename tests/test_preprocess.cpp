// Image decoding and ViTImageProcessor preprocessing against Pillow's output for the bundled
// photos (RGB, grayscale, RGBA, palette), plus the resize filters' basic properties.

#include <QtTest>

#include "checkpoint/safetensors.h"
#include "imaging/image_file.h"
#include "imaging/preprocessor.h"
#include "test_support.h"

using namespace msnlens;
using namespace testing;

class PreprocessTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void matches_pillow_data();
  void matches_pillow();
  void resize_keeps_constant_images();
  void resize_identity_and_nearest();
};

void PreprocessTest::matches_pillow_data() {
  QTest::addColumn<QString>("image");
  for (const char* name : {"astronaut.png", "camera.png", "chelsea.png", "coffee.png", "green_palette.png", "horse.png"})
    QTest::newRow(name) << name;
}

void PreprocessTest::matches_pillow() {
  QFETCH(QString, image);
  const TensorMap expected = read_safetensors(data_path("cases/preprocess-224.safetensors")).tensors;
  const PreprocessorConfig config = PreprocessorConfig::imagenet(224);
  const at::Tensor got = preprocess(read_image(data_path("images/" + image.toStdString())), config);
  const at::Tensor want = expected.at("pixel_values." + image.toStdString());
  QCOMPARE(got.sizes().vec(), want.sizes().vec());
  // Back to uint8 levels: the processor's only rounding happens there.
  const at::Tensor std = at::tensor({0.229, 0.224, 0.225}, at::kDouble).view({1, 3, 1, 1});
  const at::Tensor levels = ((got.to(at::kDouble) - want.to(at::kDouble)) * std * 255.0).abs();
  const double max_level = levels.max().item<double>();
  const double mean_level = levels.mean().item<double>();
  const double max_norm = (got - want).abs().max().item<double>();
  const double mean_norm = (got - want).abs().mean().item<double>();
  qInfo("%s: max %.4f, mean %.5f uint8 levels off Pillow", qPrintable(image), max_level, mean_level);
  MSN_VERIFY(max_norm <= 0.02 && mean_norm <= 0.002, QString("max %1, mean %2").arg(max_norm).arg(mean_norm));
  // Pillow's fixed-point resampling is reproduced exactly: no pixel is off by a level.
  QVERIFY(max_level < 0.01);
}

void PreprocessTest::resize_keeps_constant_images() {
  RgbImage flat(37, 23);
  std::fill(flat.pixels.begin(), flat.pixels.end(), std::uint8_t{137});
  for (auto filter : {ResampleFilter::Bilinear, ResampleFilter::Bicubic, ResampleFilter::Lanczos,
                      ResampleFilter::Box, ResampleFilter::Hamming, ResampleFilter::Nearest}) {
    for (auto [w, h] : {std::pair{224, 224}, std::pair{5, 9}, std::pair{37, 100}}) {
      const RgbImage r = pil_resize(flat, w, h, filter);
      QCOMPARE(r.width, w);
      QCOMPARE(r.height, h);
      QVERIFY(std::all_of(r.pixels.begin(), r.pixels.end(), [](std::uint8_t v) { return v == 137; }));
    }
  }
}

void PreprocessTest::resize_identity_and_nearest() {
  RgbImage ramp(4, 1);
  for (int x = 0; x < 4; ++x) ramp.row(0)[x * 3] = ramp.row(0)[x * 3 + 1] = ramp.row(0)[x * 3 + 2] = static_cast<std::uint8_t>(x * 80);
  QCOMPARE(pil_resize(ramp, 4, 1, ResampleFilter::Bilinear).pixels, ramp.pixels);
  // Nearest samples pixel centres: 4 -> 2 keeps columns 1 and 3 (Pillow picks floor((x + 0.5) * 2)).
  const RgbImage half = pil_resize(ramp, 2, 1, ResampleFilter::Nearest);
  QCOMPARE(int(half.row(0)[0]), 80);
  QCOMPARE(int(half.row(0)[3]), 240);
  // Bilinear 4 -> 2 averages pairs with the triangle filter widened to two pixels.
  const RgbImage avg = pil_resize(ramp, 2, 1, ResampleFilter::Bilinear);
  QVERIFY(avg.row(0)[0] > 0 && avg.row(0)[0] < 80 + 40);
}

QTEST_GUILESS_MAIN(PreprocessTest)
#include "test_preprocess.moc"
