#include "engine/few_shot.h"

#include <nlohmann/json.hpp>
#include <torch/optim/lbfgs.h>

#include "checkpoint/safetensors.h"
#include "common/error.h"

namespace msnlens {

namespace {
at::Tensor normalize_rows(const at::Tensor& x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); }
}  // namespace

at::Tensor standardize_rows(const at::Tensor& x) { return normalize_rows(x - x.mean({1}, true)); }

FewShotClassifier FewShotClassifier::fit(const at::Tensor& features, const at::Tensor& labels, std::vector<std::string> classes,
                                         double lambda, bool logistic) {
  if (features.dim() != 2 || labels.dim() != 1 || features.size(0) != labels.size(0))
    fail("few-shot", "features [N, D] and labels [N] do not match");
  const auto c = static_cast<std::int64_t>(classes.size());
  if (c < 1) fail("few-shot", "no classes");
  const at::Tensor x = standardize_rows(features.to(at::kCPU, at::kFloat));
  const at::Tensor y = labels.to(at::kCPU, at::kLong);
  if (y.numel() > 0 && (y.min().item<std::int64_t>() < 0 || y.max().item<std::int64_t>() >= c))
    fail("few-shot", "labels outside 0.." + std::to_string(c - 1));
  FewShotClassifier out;
  out.classes = std::move(classes);
  out.centroids = at::zeros({c, x.size(1)});
  out.centroids.index_add_(0, y, x);
  out.centroids = normalize_rows(out.centroids);
  if (!logistic || y.numel() == 0) return out;

  // Multinomial logistic regression, (1/N) sum CE + (lambda/N)/2 |W|^2 as MSN scales it: convex,
  // so L-BFGS from zero reaches the same optimum whatever the start.
  const double penalty = lambda / static_cast<double>(y.numel());
  torch::Tensor w = torch::zeros({c, x.size(1)}, torch::requires_grad());
  torch::optim::LBFGS solver({w}, torch::optim::LBFGSOptions(1.0).max_iter(500).tolerance_grad(1e-7).tolerance_change(1e-10)
                                      .line_search_fn("strong_wolfe"));
  auto closure = [&] {
    solver.zero_grad();
    const torch::Tensor loss = at::cross_entropy_loss(torch::matmul(x, w.t()), y) + 0.5 * penalty * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  solver.step(closure);
  out.weight = w.detach().clone();
  return out;
}

at::Tensor FewShotClassifier::predict(const at::Tensor& features) const {
  if (empty()) fail("few-shot", "no classes defined");
  if (features.size(1) != dim())
    fail("few-shot", "features have " + std::to_string(features.size(1)) + " dimensions, the classes were made with " +
                         std::to_string(dim()) + " (another model?)");
  return at::softmax(few_shot_logits(features.to(at::kCPU), linear_head()), 1);
}

at::Tensor few_shot_logits(const at::Tensor& features, const LinearHead& head) {
  const at::Tensor w = at::from_blob(const_cast<float*>(head.weight.data()), {static_cast<std::int64_t>(head.classes.size()), head.dim},
                                     at::kFloat)
                           .to(features.device());
  return at::matmul(standardize_rows(features.to(at::kFloat)), w.t()) / static_cast<double>(head.temperature);
}

LinearHead FewShotClassifier::linear_head() const {
  LinearHead h;
  h.classes = classes;
  const at::Tensor w = (weight.defined() ? weight : centroids).to(at::kFloat).contiguous();
  h.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  h.dim = static_cast<int>(dim());
  h.temperature = weight.defined() ? 1.0f : kClassMeanTemperature;
  h.kind = weight.defined() ? "logistic regression" : "class means";
  return h;
}

void FewShotClassifier::save(const std::filesystem::path& path) const {
  std::vector<std::pair<std::string, at::Tensor>> tensors = {{"centroids", centroids}};
  if (weight.defined()) tensors.emplace_back("weight", weight);
  write_safetensors(path, tensors, {{"format", "msnlens-fewshot"}, {"classes", nlohmann::json(classes).dump()}});
}

std::filesystem::path shipped_few_shot_path(const std::filesystem::path& model_path) {
  if (std::filesystem::is_directory(model_path)) return model_path / "classes.fewshot";
  return model_path.string() + ".fewshot";
}

std::string few_shot_classes_for(const std::string& given, const std::filesystem::path& model_path) {
  if (!given.empty()) return given;
  const std::filesystem::path shipped = shipped_few_shot_path(model_path);
  return std::filesystem::exists(shipped) ? shipped.string() : std::string();
}

FewShotClassifier FewShotClassifier::load(const std::filesystem::path& path) { return load(MappedFile::open(path)); }

FewShotClassifier FewShotClassifier::load_for(const std::filesystem::path& path, std::int64_t hidden_size) {
  FewShotClassifier out = load(path);
  if (out.dim() != hidden_size)
    fail(path.string(), "classes were made for embeddings of " + std::to_string(out.dim()) + " dimensions; this model has " +
                            std::to_string(hidden_size));
  return out;
}

FewShotClassifier FewShotClassifier::load(const MappedFilePtr& file) {
  const std::filesystem::path path = file->path();
  const SafetensorsContent content = read_safetensors(file);
  const auto format = content.metadata.find("format");
  const auto names = content.metadata.find("classes");
  if (format == content.metadata.end() || format->second != "msnlens-fewshot" || names == content.metadata.end())
    fail(path.string(), "not a few-shot class file (no msnlens-fewshot metadata)");
  FewShotClassifier out;
  try {
    out.classes = nlohmann::json::parse(names->second).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    fail(path.string(), "class names are not a JSON list of strings");
  }
  const auto c = static_cast<std::int64_t>(out.classes.size());
  const auto centroids = content.tensors.find("centroids");
  if (centroids == content.tensors.end() || centroids->second.dim() != 2 || centroids->second.size(0) != c || c == 0)
    fail(path.string(), "centroids missing or not [classes, dim]");
  out.centroids = centroids->second.to(at::kFloat).clone();
  if (const auto w = content.tensors.find("weight"); w != content.tensors.end()) {
    if (w->second.sizes() != out.centroids.sizes()) fail(path.string(), "weight is not [classes, dim]");
    out.weight = w->second.to(at::kFloat).clone();
  }
  return out;
}

}  // namespace msnlens
