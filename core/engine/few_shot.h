#pragma once
// Classes from a few labelled examples, on frozen features: MSN's low-shot protocol
// (logistic_eval.py with cyanure): each CLS embedding centred (its own mean removed) and
// L2-normalised, then multinomial logistic regression without intercept and an L2 penalty of
// lambda / N (lambda 0.00025, N examples), fitted to convergence. Nearest class mean is the
// instant fallback while the regression is not fitted. Saved as safetensors with the class
// names in its metadata.

#include <filesystem>
#include <string>
#include <vector>

#include "analysis/linear_head.h"
#include "checkpoint/tensor_map.h"

namespace msnlens {

constexpr double kFewShotLambda = 0.00025;

struct FewShotClassifier {
  std::vector<std::string> classes;
  at::Tensor weight;     // [classes, dim]; undefined until fitted
  at::Tensor centroids;  // [classes, dim], L2-normalised class means

  bool empty() const { return classes.empty(); }
  std::int64_t dim() const { return centroids.defined() ? centroids.size(1) : 0; }

  // features [N, dim] (any offset and scale: they are standardised here), labels [N] in 0..classes-1.
  // Classes without examples get no centroid and never win.
  static FewShotClassifier fit(const at::Tensor& features, const at::Tensor& labels, std::vector<std::string> classes,
                               double lambda = kFewShotLambda, bool logistic = true);

  // Class probabilities [N, classes]: softmax of few_shot_logits().
  at::Tensor predict(const at::Tensor& features) const;

  // The same classifier as plain numbers, for callers without LibTorch.
  LinearHead linear_head() const;

  void save(const std::filesystem::path& path) const;
  static FewShotClassifier load(const std::filesystem::path& path);
  static FewShotClassifier load(const MappedFilePtr& file);
  // load(), refusing classes made for embeddings of another size (another model's), by file name.
  static FewShotClassifier load_for(const std::filesystem::path& path, std::int64_t hidden_size);
};

// Where a model ships its classes: <folder>/classes.fewshot, or <checkpoint>.fewshot beside a file.
std::filesystem::path shipped_few_shot_path(const std::filesystem::path& model_path);
// The classes a front end ranks with a model: `given` when not empty, else those the model ships
// beside it, else none (empty).
std::string few_shot_classes_for(const std::string& given, const std::filesystem::path& model_path);

// The temperature of the heads on class means (no regression fitted): their logits are cosine
// similarities, sharpened as MSN sharpens its prototype assignment.
constexpr float kClassMeanTemperature = 0.1f;

// Rows centred on their own mean and scaled to unit L2 norm (cyanure's preprocess).
at::Tensor standardize_rows(const at::Tensor& x);

// The few-shot classes' scores before the softmax, [N, classes], on `features`' device: W x /
// temperature on standardised rows (LinearHead::probabilities is the same on the host). The one
// place few-shot scores are computed on tensors: predictions and class maps' targets.
at::Tensor few_shot_logits(const at::Tensor& features, const LinearHead& head);

}  // namespace msnlens
