#pragma once
// msnlens-cli's subcommands: each has its options struct, a function that adds it to the command
// line, and one that runs it (main.cpp picks the one given). info and random-model in info.cpp,
// infer in infer.cpp, pretrain and fewshot in train.cpp, explain in explain.cpp.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace msnlens {

// --model, --config and (where given) --json: the options every model-reading subcommand shares.
inline void add_model_options(CLI::App* cmd, std::string& model, std::string& config, std::string* json_out = nullptr) {
  cmd->add_option("--model", model, "model folder or checkpoint file")->required();
  cmd->add_option("--config", config, "JSON file setting or overriding config fields");
  if (json_out) cmd->add_option("--json", *json_out, "write a JSON report here");
}

struct InfoArgs {
  std::string model, config, json_out;
};
CLI::App* add_info_command(CLI::App& app, InfoArgs& args);
int run_info(const InfoArgs& args);

struct RandomModelArgs {
  std::string shape, out;
};
CLI::App* add_random_model_command(CLI::App& app, RandomModelArgs& args);
int run_random_model(const RandomModelArgs& args);

struct InferArgs {
  std::string model, config, json_out, image, inputs, tensors_out, few_shot;
  std::string device = "auto", precision = "fp32", kernels = "fused";
  std::string mask, mask_mode = "drop";
  bool interpolate = false;
  int topk = 5;
};
CLI::App* add_infer_command(CLI::App& app, InferArgs& args);
int run_infer(const InferArgs& args);

struct PretrainArgs {
  std::string data, out, preset = "fmnist-small", config, resume, warm_start, init_from, checkpoint, checkpoint_moments = "fp32";
  std::string device = "auto";
  double rewarm_epochs = 1;
  int epochs = 0, steps_per_epoch = 0, stop_after = 0, cooldown_epochs = 0;
};
CLI::App* add_pretrain_command(CLI::App& app, PretrainArgs& args);
int run_pretrain(const PretrainArgs& args);

struct FewShotArgs {
  std::string model, config, json_out, train, test, save_head, class_names;
  std::string device = "auto", precision = "fp32";
  std::vector<int> shots = {1, 2, 5, 10};
  int seeds = 5, first_seed = 0;
  bool random_init = false;
};
CLI::App* add_fewshot_command(CLI::App& app, FewShotArgs& args);
int run_fewshot(const FewShotArgs& args);

struct ExplainArgs {
  std::string model, config, image, images, inputs, out, format = "npy";
  std::string method = "rollout", target, head = "mean", few_shot;
  std::string mask, mask_mode = "drop", colormap = "inferno";
  std::string device = "auto", precision = "fp32";
  int layer = 0;        // 1..layers; 0: the last
  int query = -1;       // patch index; -1: CLS
  float discard_ratio = 0.9f;
  bool pca_all = false;  // pca over --images: one fit on every image
  std::string faithfulness;        // deletion / insertion curves to this JSON file
  int steps = 10, random_orders = 8;
  std::string knockout, knockout_layers;  // --method knockout: patch list, layers 1..L
  bool every_query = false;
};

CLI::App* add_explain_command(CLI::App& app, ExplainArgs& args);
int run_explain(const ExplainArgs& args);
// explain's causal methods (interventions.cpp): whether `method` is one.
bool is_intervention(const std::string& method);

}  // namespace msnlens
