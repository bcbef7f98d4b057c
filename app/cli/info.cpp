#include <iostream>

#include "commands.h"
#include "common/json_file.h"
#include "engine/cpu_threads.h"
#include "engine/inference_session.h"
#include "front_end.h"
#include "kernels/fused_cpu_encoder.h"
#include "model/random_init.h"

namespace msnlens {
namespace {

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  if (n >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  return buf;
}

void print_summary(const LoadedModel& m) {
  const ViTMSNModel& model = *m.model;
  const ViTMSNConfig& c = model.config();
  const ModelSummary& s = m.summary;
  std::cout << "model        " << s.path << "\n"
            << "format       " << s.format << ", " << human_bytes(s.file_bytes) << ", stored as " << s.stored_dtype << "\n"
            << "layout       " << s.layout << "\n"
            << "config       " << s.config_source << "\n"
            << "architecture ViT " << c.num_hidden_layers << " layers x " << c.num_attention_heads << " heads, hidden "
            << c.hidden_size << ", MLP " << c.intermediate_size << ", " << c.hidden_act << ", patch " << c.patch_size
            << ", image " << c.image_size << " (" << c.num_patches() << " patches)\n"
            << "parameters   " << model.num_parameters() << "\n"
            << "classifier   "
            << (model.has_classifier() ? "yes, " + std::to_string(model.num_labels()) + " labels"
                                       : std::string("none") + (c.id2label.empty() ? "" : " (config lists " +
                                             std::to_string(c.id2label.size()) + " labels, but there are no classifier weights)"))
            << "\n"
            << "mask token   " << (model.has_mask_token() ? "yes" : "no") << "\n"
            << "MSN head     " << (model.has_projection_head() ? "projection head" : "none")
            << (model.has_prototypes() ? ", " + std::to_string(model.num_prototypes()) + " prototypes" : "") << "\n"
            << "preprocess   " << s.preprocessor_source << "\n";
  for (const auto& [k, v] : s.training) std::cout << "training     " << k << " = " << v << "\n";
}

}  // namespace

CLI::App* add_info_command(CLI::App& app, InfoArgs& a) {
  CLI::App* cmd = app.add_subcommand("info", "print a checkpoint's format, config and heads");
  add_model_options(cmd, a.model, a.config, &a.json_out);
  return cmd;
}

int run_info(const InfoArgs& a) {
  const LoadedModel m = front_end::load_model(a.model, a.config);
  print_summary(m);
  // Which kernels float32 runs on here (OpenBLAS picks them per CPU, see engine/cpu_threads.h).
  // And what runs the layers on this CPU at the fastest precision (the app's default).
  const std::string blas = blas_kernels();
  const InferenceSession session(m, {"cpu", std::nullopt});
  const FusedCpuEncoder* fused = session.model().fused_cpu();
  std::cout << "CPU          " << describe(cpu_kernels()) << "\n"
            << "CPU layers   " << session.kernels() << " at " << to_string(session.precision())
            << (fused ? "; reordered weights " + human_bytes(fused->weight_bytes()) + " beside the LibTorch layers" : "")
            << "\n"
            << "fp32 GEMMs   " << (blas.empty() ? "not OpenBLAS" : "OpenBLAS, " + blas + " kernels")
            << " (LibTorch layers, autograd)\n";
  nlohmann::json summary = m.summary_json();
  summary["blas_kernels"] = blas;
  const CpuKernels cpu = cpu_kernels();
  summary["cpu_class"] = cpu_class(cpu);
  summary["onednn_isa"] = isa_name(cpu.onednn);
  summary["aten_capability"] = cpu.aten;
  summary["isa_cap"] = cpu.cap;
  summary["cpu_kernels"] = session.kernels();
  summary["cpu_precision"] = to_string(session.precision());
  if (fused) summary["fused_weight_bytes"] = fused->weight_bytes();
  if (!a.json_out.empty()) write_json_file(a.json_out, summary);
  return 0;
}

CLI::App* add_random_model_command(CLI::App& app, RandomModelArgs& a) {
  CLI::App* cmd = app.add_subcommand("random-model", "write a random-weight Hugging Face folder in a released ViT-MSN shape");
  cmd->add_option("--shape", a.shape, "small, base, large, base-4 or large-7 (facebook/vit-msn-*)")->required();
  cmd->add_option("--out", a.out, "folder to write")->required();
  return cmd;
}

int run_random_model(const RandomModelArgs& a) {
  const ReleasedShape& shape = released_shape(a.shape);
  write_random_checkpoint(shape, a.out);
  std::cout << shape.title << " (facebook/vit-msn-" << shape.name << " shape, random weights) written to " << a.out << "\n";
  return 0;
}

}  // namespace msnlens
