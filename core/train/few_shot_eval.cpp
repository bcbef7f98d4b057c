#include "train/few_shot_eval.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "engine/inference_session.h"
#include "imaging/pil_resize.h"
#include "train/idx_file.h"
#include "train/image_dataset.h"

namespace msnlens {

namespace fs = std::filesystem;

LabelledImages read_labelled(const fs::path& path, const std::vector<std::string>& class_names, const ImageDecoder& decode) {
  LabelledImages out;
  if (fs::is_directory(path)) {
    if (!decode) fail(path.string(), "image folders need image decoding, and this build has none (OpenCV was not found)");
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    std::vector<std::int64_t> labels;
    for (std::size_t c = 0; c < dirs.size(); ++c) {
      out.classes.push_back(dirs[c].filename().string());
      const ImageFolderDataset files(dirs[c], nullptr);
      for (const auto& f : files.files()) {
        out.images.push_back(decode(f));
        labels.push_back(static_cast<std::int64_t>(c));
      }
    }
    if (out.images.empty()) fail(path.string(), "has no class subfolders with images");
    out.labels = at::tensor(labels, at::kLong);
    return out;
  }
  const at::Tensor images = read_idx_images(path);
  std::string label_path = path.string();
  const auto pos = label_path.find("images-idx3");
  if (pos == std::string::npos) fail(path.string(), "cannot find its labels: expected a name with \"images-idx3\" (MNIST naming)");
  label_path.replace(pos, 11, "labels-idx1");
  out.labels = read_idx_labels(label_path);
  if (out.labels.size(0) != images.size(0))
    fail(label_path, std::to_string(out.labels.size(0)) + " labels for " + std::to_string(images.size(0)) + " images");
  const std::int64_t classes = out.labels.max().item<std::int64_t>() + 1;
  for (std::int64_t c = 0; c < classes; ++c)
    out.classes.push_back(static_cast<std::size_t>(c) < class_names.size() ? class_names[static_cast<std::size_t>(c)] : std::to_string(c));
  for (std::int64_t i = 0; i < images.size(0); ++i) {
    RgbImage rgb(static_cast<int>(images.size(2)), static_cast<int>(images.size(1)));
    const std::uint8_t* src = images[i].contiguous().data_ptr<std::uint8_t>();
    for (std::size_t p = 0; p < rgb.pixels.size(); ++p) rgb.pixels[p] = src[p / 3];
    out.images.push_back(std::move(rgb));
  }
  return out;
}

FeatureExtractor::FeatureExtractor(std::shared_ptr<const InferenceSession> session) : session_(std::move(session)) {}

FeatureExtractor::FeatureExtractor(const std::vector<RgbImage>& reference) {
  if (reference.empty()) fail("few-shot", "the raw-pixel baseline needs at least one reference image");
  width_ = reference.front().width;
  height_ = reference.front().height;
  at::Tensor sum = at::zeros({height_ * width_ * 3}, at::kDouble);
  for (const RgbImage& im : reference) sum += pixels(im).to(at::kDouble);
  mean_ = (sum / static_cast<double>(reference.size())).to(at::kFloat);
}

at::Tensor FeatureExtractor::pixels(const RgbImage& im) const {
  const RgbImage r = (im.width == width_ && im.height == height_) ? im : pil_resize(im, width_, height_, ResampleFilter::Bilinear);
  return at::from_blob(const_cast<std::uint8_t*>(r.pixels.data()), {static_cast<std::int64_t>(r.pixels.size())}, at::kByte)
      .to(at::kFloat)
      .div(255.0);
}

at::Tensor FeatureExtractor::features(const std::vector<RgbImage>& images, const std::vector<std::int64_t>& indices) const {
  constexpr std::size_t kBatch = 256;  // bounds the activations of one forward
  std::vector<at::Tensor> rows;
  for (std::size_t start = 0; start < indices.size(); start += kBatch) {
    std::vector<at::Tensor> batch;
    for (std::size_t i = start; i < std::min(indices.size(), start + kBatch); ++i) {
      const RgbImage& im = images.at(static_cast<std::size_t>(indices[i]));
      batch.push_back(session_ ? session_->preprocess(im) : (pixels(im) - mean_).unsqueeze(0));
    }
    const at::Tensor x = at::cat(batch);
    if (!session_) {
      rows.push_back(x);
      continue;
    }
    ForwardOptions options;
    options.output_attentions = false;
    options.output_hidden_states = false;
    rows.push_back(session_->run(x, options).cls_embedding());
  }
  return at::cat(rows);
}

std::vector<std::int64_t> sample_shots(const at::Tensor& labels, std::int64_t classes, int k, int seed) {
  at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(seed) * 7919 + static_cast<std::uint64_t>(k));
  const at::Tensor order = at::randperm(labels.size(0), gen);
  const at::Tensor l = labels.to(at::kLong).contiguous();
  const auto* label = l.data_ptr<std::int64_t>();
  const auto* next = order.data_ptr<std::int64_t>();
  std::vector<int> taken(static_cast<std::size_t>(classes), 0);
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < order.size(0) && static_cast<std::int64_t>(out.size()) < classes * k; ++i)
    if (taken[static_cast<std::size_t>(label[next[i]])]++ < k) out.push_back(next[i]);
  return out;
}

FewShotClassifier fit_few_shot(const FeatureExtractor& features, const LabelledImages& train, int k, int seed) {
  const std::vector<std::int64_t> picked = sample_shots(train.labels, static_cast<std::int64_t>(train.classes.size()), k, seed);
  return FewShotClassifier::fit(features.features(train.images, picked),
                                train.labels.index_select(0, at::tensor(picked, at::kLong)), train.classes);
}

std::vector<FewShotAccuracy> few_shot_accuracy(const FeatureExtractor& features, const LabelledImages& train,
                                               const LabelledImages& test, const std::vector<int>& shots, int seeds,
                                               int first_seed) {
  std::vector<std::int64_t> all(test.images.size());
  std::iota(all.begin(), all.end(), 0);
  const at::Tensor test_features = features.features(test.images, all);
  std::vector<FewShotAccuracy> out;
  for (const int k : shots) {
    FewShotAccuracy a;
    a.k = k;
    for (int seed = first_seed; seed < first_seed + seeds; ++seed) {
      const at::Tensor predicted = fit_few_shot(features, train, k, seed).predict(test_features).argmax(1);
      a.per_seed.push_back(100.0 * predicted.eq(test.labels).to(at::kDouble).mean().item<double>());
    }
    const at::Tensor acc = at::tensor(a.per_seed, at::kDouble);
    a.mean = acc.mean().item<double>();
    a.std = a.per_seed.size() > 1 ? acc.std().item<double>() : 0.0;
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace msnlens
