// MSN's low-shot evaluation as the core runs it (train/few_shot_eval): labelled sets from IDX
// files and class folders, the draw of k examples per class, accuracy over seeds, on 300
// Fashion-MNIST test images (tests/data/fashion) with raw pixels and the bundled MSN model.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>

#include "common/error.h"
#include "engine/inference_session.h"
#include "fixtures.h"
#include "train/few_shot_eval.h"

using namespace msnlens;
using fixture::data_path;

namespace {

const std::vector<std::string> kClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

LabelledImages fashion() {
  return read_labelled(data_path("fashion/t10k-300-images-idx3-ubyte.gz"), kClasses, {});
}

// Images [begin, end) of a set, as their own set.
LabelledImages slice(const LabelledImages& all, std::int64_t begin, std::int64_t end) {
  LabelledImages out;
  out.images.assign(all.images.begin() + begin, all.images.begin() + end);
  out.labels = all.labels.slice(0, begin, end);
  out.classes = all.classes;
  return out;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FewShotEval, ReadsIdxImagesWithTheirLabels) {
  const LabelledImages set = fashion();
  ASSERT_EQ(set.images.size(), 300u);
  EXPECT_EQ(set.labels.size(0), 300);
  EXPECT_EQ(set.classes, kClasses);
  EXPECT_EQ(set.labels[0].item<std::int64_t>(), 9);  // the first Fashion-MNIST test image is an ankle boot
  const RgbImage& im = set.images.front();
  EXPECT_EQ(im.width, 28);
  EXPECT_EQ(im.height, 28);
  for (std::size_t p = 0; p < im.pixels.size(); p += 3) {  // gray replicated into RGB
    ASSERT_EQ(im.pixels[p], im.pixels[p + 1]);
    ASSERT_EQ(im.pixels[p], im.pixels[p + 2]);
  }
  // Without names, classes are numbered.
  EXPECT_EQ(read_labelled(data_path("fashion/t10k-300-images-idx3-ubyte.gz"), {}, {}).classes.back(), "9");
}

TEST(FewShotEval, ClassFoldersAreSortedAndDecodedByTheCaller) {
  const auto root = std::filesystem::temp_directory_path() / "msnlens-fewshot-folders";
  std::filesystem::remove_all(root);
  for (const char* file : {"cat/a.png", "cat/b.png", "ant/c.png"}) {
    std::filesystem::create_directories((root / file).parent_path());
    std::ofstream(root / file) << file;
  }
  std::vector<std::string> decoded;
  const LabelledImages set = read_labelled(root, {}, [&](const std::filesystem::path& f) {
    decoded.push_back(f.filename().string());
    return RgbImage(4, 3);
  });
  EXPECT_EQ(set.classes, (std::vector<std::string>{"ant", "cat"}));
  ASSERT_EQ(set.images.size(), 3u);
  EXPECT_EQ(set.labels[0].item<std::int64_t>(), 0);
  EXPECT_EQ(set.labels[1].item<std::int64_t>(), 1);
  EXPECT_EQ(set.labels[2].item<std::int64_t>(), 1);
  EXPECT_EQ(decoded.size(), 3u);
  // Without a decoder a folder is refused, by name.
  const std::string refused = message_of([&] { read_labelled(root, {}, {}); });
  EXPECT_NE(refused.find(root.string()), std::string::npos) << refused;
  EXPECT_NE(refused.find("image decoding"), std::string::npos) << refused;
  std::filesystem::remove_all(root);
}

TEST(FewShotEval, IdxFilesNeedMnistNamingForTheirLabels) {
  const auto dir = std::filesystem::temp_directory_path() / "msnlens-fewshot-naming";
  std::filesystem::create_directories(dir);
  const auto renamed = dir / "images.gz";
  std::filesystem::copy_file(data_path("fashion/t10k-300-images-idx3-ubyte.gz"), renamed,
                             std::filesystem::copy_options::overwrite_existing);
  const std::string message = message_of([&] { read_labelled(renamed, {}, {}); });
  EXPECT_NE(message.find("images.gz"), std::string::npos) << message;
  EXPECT_NE(message.find("images-idx3"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(FewShotEval, ShotsAreKPerClassDistinctAndSeeded) {
  const LabelledImages set = fashion();
  const std::vector<std::int64_t> picked = sample_shots(set.labels, 10, 5, 0);
  ASSERT_EQ(picked.size(), 50u);
  EXPECT_EQ(std::set<std::int64_t>(picked.begin(), picked.end()).size(), 50u);
  std::vector<int> per_class(10, 0);
  for (const std::int64_t i : picked) ++per_class[static_cast<std::size_t>(set.labels[i].item<std::int64_t>())];
  EXPECT_EQ(per_class, std::vector<int>(10, 5));
  EXPECT_EQ(sample_shots(set.labels, 10, 5, 0), picked);
  EXPECT_NE(sample_shots(set.labels, 10, 5, 1), picked);
  // A class with fewer examples than k gives all it has.
  EXPECT_EQ(sample_shots(set.labels, 10, 100, 0).size(), 300u);
}

TEST(FewShotEval, AccuracyOverSeedsOnRawPixelsAndMsnFeatures) {
  const LabelledImages all = fashion();
  const LabelledImages train = slice(all, 0, 200), test = slice(all, 200, 300);
  const FeatureExtractor pixels(train.images);
  const at::Tensor f = pixels.features(test.images, {0, 1});
  EXPECT_EQ(f.sizes(), (at::IntArrayRef{2, 28 * 28 * 3}));

  const std::vector<FewShotAccuracy> acc = few_shot_accuracy(pixels, train, test, {1, 10}, 3);
  ASSERT_EQ(acc.size(), 2u);
  for (const FewShotAccuracy& a : acc) {
    ASSERT_EQ(a.per_seed.size(), 3u);
    double sum = 0;
    for (const double p : a.per_seed) {
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 100.0);
      EXPECT_NEAR(p, std::round(p), 1e-9);  // a whole number of the 100 test images
      sum += p;
    }
    EXPECT_NEAR(a.mean, sum / 3.0, 1e-9);
  }
  EXPECT_EQ(acc[0].k, 1);
  EXPECT_GT(acc[1].mean, 50.0);  // ten classes, chance is 10 %
  EXPECT_GT(acc[1].mean, acc[0].mean);

  // The same protocol on the bundled MSN model's CLS embeddings.
  auto session = std::make_shared<const InferenceSession>(load_model(fixture::data_path("../../resources/models/msn-fmnist")),
                                                          SessionOptions{"cpu", Precision::FP32});
  const FeatureExtractor msn(session);
  EXPECT_EQ(msn.features(test.images, {0}).size(1), session->model().config().hidden_size);
  const FewShotAccuracy five = few_shot_accuracy(msn, train, test, {5}, 2).front();
  EXPECT_GT(five.mean, 40.0);
  // fit_few_shot is the classifier the accuracy was measured with: seed 0 reproduces it.
  const FewShotClassifier head = fit_few_shot(msn, train, 5, 0);
  std::vector<std::int64_t> everything(test.images.size());
  std::iota(everything.begin(), everything.end(), 0);
  const double seed0 = 100.0 * head.predict(msn.features(test.images, everything)).argmax(1).eq(test.labels).to(at::kDouble).mean().item<double>();
  EXPECT_DOUBLE_EQ(seed0, five.per_seed[0]);
  // Starting at another seed draws those seeds' examples: seed 1 alone is the second draw above.
  const FewShotAccuracy from_one = few_shot_accuracy(msn, train, test, {5}, 1, 1).front();
  ASSERT_EQ(from_one.per_seed.size(), 1u);
  EXPECT_DOUBLE_EQ(from_one.per_seed[0], five.per_seed[1]);
}
