#pragma once
// msnlens-cli explain: the app's maps (attention, rollout, gradient relevance, occlusion,
// similarity, token norms, PCA, attention distance) written as .npy, .csv or .png, for one
// image, one set of input tensors or a folder of images.

#include <CLI/CLI.hpp>

#include <string>

namespace msnlens {

struct ExplainArgs {
  std::string model, config, image, images, inputs, out, format = "npy";
  std::string method = "rollout", target, head = "mean", few_shot;
  std::string mask, mask_mode = "drop", colormap = "inferno";
  std::string device = "auto", precision = "fp32";
  int layer = 0;        // 1..layers; 0: the last
  int query = -1;       // patch index; -1: CLS
  float discard_ratio = 0.9f;
  bool pca_all = false;  // pca over --images: one fit on every image
};

CLI::App* add_explain_command(CLI::App& app, ExplainArgs& args);
int run_explain(const ExplainArgs& args);

}  // namespace msnlens
