#pragma once
// MSN's low-shot evaluation on frozen features: k labelled examples per class drawn by a seed,
// the few-shot classifier (engine/few_shot.h) fitted on their features, accuracy on a labelled
// test set; repeated over seeds and values of k. The CLI's `fewshot` and the bundled-model
// script report what these functions compute.

#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/few_shot.h"
#include "imaging/rgb_image.h"

namespace msnlens {

class InferenceSession;

// Images with labels [N] int64 in 0..classes-1.
struct LabelledImages {
  std::vector<RgbImage> images;
  at::Tensor labels;
  std::vector<std::string> classes;
};

using ImageDecoder = std::function<RgbImage(const std::filesystem::path&)>;

// IDX images with the labels file beside them (MNIST naming: "images-idx3" -> "labels-idx1";
// classes named by `class_names`, else by number), or a folder with one subfolder per class
// (sorted names), decoded by `decode` (without one, folders are refused).
LabelledImages read_labelled(const std::filesystem::path& path, const std::vector<std::string>& class_names,
                             const ImageDecoder& decode);

// What the classifier sees of an image: a model's CLS embedding, or the raw-pixel baseline
// (each image resized to the reference images' size, scaled to [0, 1], centred on their mean).
class FeatureExtractor {
 public:
  explicit FeatureExtractor(std::shared_ptr<const InferenceSession> session);
  explicit FeatureExtractor(const std::vector<RgbImage>& pixel_reference);

  // [indices.size(), dim] float32 on the CPU, in the order of `indices`.
  at::Tensor features(const std::vector<RgbImage>& images, const std::vector<std::int64_t>& indices) const;

 private:
  at::Tensor pixels(const RgbImage& image) const;

  std::shared_ptr<const InferenceSession> session_;
  int width_ = 0, height_ = 0;
  at::Tensor mean_;
};

// k examples of every class (fewer where a class has fewer), drawn by `seed`: the same draw
// for the same (labels, k, seed).
std::vector<std::int64_t> sample_shots(const at::Tensor& labels, std::int64_t classes, int k, int seed);

// The classifier fitted on k examples per class of `train` drawn by `seed`.
FewShotClassifier fit_few_shot(const FeatureExtractor& features, const LabelledImages& train, int k, int seed);

struct FewShotAccuracy {
  int k = 0;
  double mean = 0, std = 0;      // percent over seeds (sample standard deviation)
  std::vector<double> per_seed;  // percent correct on the test set, seed by seed
};

// For every k in `shots`: fit_few_shot over seeds first_seed..first_seed+seeds-1, accuracy on
// all of `test`. Other seeds than the usual 0..4 check that a margin is not a lucky draw.
std::vector<FewShotAccuracy> few_shot_accuracy(const FeatureExtractor& features, const LabelledImages& train,
                                               const LabelledImages& test, const std::vector<int>& shots, int seeds,
                                               int first_seed = 0);

}  // namespace msnlens
