// msnlens-cli: the engine for scripts.
//   msnlens-cli info  --model PATH [--config FILE] [--json OUT]
//   msnlens-cli infer --model PATH [--config FILE] (--image FILE | --inputs FILE.safetensors)
//                     [--interpolate-pos-encoding] [--topk K] [--device auto|cpu|cuda]
//                     [--precision fp32|bf16|fp16] [--json OUT.json] [--tensors OUT.safetensors]
// Every failure is one line on stderr naming the file and the problem, and exit status 1.

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "engine/inference_session.h"
#include "build_config.h"
#if MSNLENS_HAVE_IMAGEIO
#include "imaging/image_file.h"
#endif

namespace {

using namespace msnlens;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Args {
  std::string model, config, image, inputs, json_out, tensors_out;
  std::string device = "auto", precision = "fp32";
  bool interpolate = false;
  int topk = 5;
};

void write_json(const std::string& path, const json& j) {
  std::ofstream out(path);
  if (!out || !(out << j.dump(2) << "\n")) fail(path, "cannot write");
}

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

int run_info(const Args& a) {
  const LoadedModel m = load_model(a.model, a.config.empty() ? ConfigOverride{} : ConfigOverride::from_file(a.config));
  print_summary(m);
  if (!a.json_out.empty()) write_json(a.json_out, m.summary_json());
  return 0;
}

// Reads inputs.* tensors (the fixture convention) into pixel values and forward options.
at::Tensor read_inputs(const std::string& path, ForwardOptions& options) {
  SafetensorsContent c = read_safetensors(path);
  auto take = [&](const char* name) {
    const auto it = c.tensors.find(name);
    return it == c.tensors.end() ? at::Tensor() : it->second;
  };
  const at::Tensor pixels = take("inputs.pixel_values");
  if (!pixels.defined()) fail(path, "has no tensor \"inputs.pixel_values\"");
  options.head_mask = take("inputs.head_mask");
  options.bool_masked_pos = take("inputs.bool_masked_pos");
  options.keep_patches = take("inputs.keep_patches");
  return pixels.to(at::kFloat);
}

void write_tensors(const std::string& path, const at::Tensor& pixels, const ModelOutput& out) {
  std::vector<std::pair<std::string, at::Tensor>> t = {{"pixel_values", pixels}, {"last_hidden_state", out.last_hidden_state}};
  for (std::size_t i = 0; i < out.hidden_states.size(); ++i) t.emplace_back("hidden_states." + std::to_string(i), out.hidden_states[i]);
  for (std::size_t i = 0; i < out.attentions.size(); ++i) t.emplace_back("attentions." + std::to_string(i), out.attentions[i]);
  if (out.logits.defined()) t.emplace_back("logits", out.logits);
  if (out.projection.defined()) t.emplace_back("projection", out.projection);
  if (out.prototype_probs.defined()) t.emplace_back("prototype_probs", out.prototype_probs);
  for (auto& [name, tensor] : t) tensor = tensor.to(at::kFloat);
  write_safetensors(path, t, {{"producer", "msnlens-cli"}});
}

int run_infer(const Args& a) {
  if (a.image.empty() == a.inputs.empty()) fail("infer", "give exactly one of --image or --inputs");
  const auto t0 = Clock::now();
  const InferenceSession session(load_model(a.model, a.config.empty() ? ConfigOverride{} : ConfigOverride::from_file(a.config)), {a.device, parse_precision_option(a.precision)});
  const double load_ms = ms_since(t0);

  ForwardOptions options;
  options.interpolate_pos_encoding = a.interpolate;
  const auto t1 = Clock::now();
  at::Tensor pixels;
  if (!a.inputs.empty()) {
    pixels = read_inputs(a.inputs, options);
  } else {
#if MSNLENS_HAVE_IMAGEIO
    pixels = session.preprocess(read_image(a.image));
#else
    fail(a.image, "this build has no image decoding (OpenCV was not found); use --inputs");
#endif
  }
  const double preprocess_ms = ms_since(t1);

  const auto t2 = Clock::now();
  const ModelOutput out = session.run(pixels, options);
  const double inference_ms = ms_since(t2);

  const ViTMSNModel& model = session.model();
  const std::vector<Prediction> preds =
      model.has_classifier() ? top_k(out.logits[0], a.topk, model.config()) : std::vector<Prediction>{};
  json prototypes = json::array();
  if (model.has_prototypes()) {
    const auto best = out.prototype_probs[0].topk(std::min<std::int64_t>(a.topk, model.num_prototypes()));
    for (std::int64_t i = 0; i < std::get<1>(best).size(0); ++i)
      prototypes.push_back({{"index", std::get<1>(best)[i].item<std::int64_t>()},
                            {"probability", std::get<0>(best)[i].item<double>()}});
  }

  if (a.json_out.empty()) {
    const std::string source = a.image.empty() ? a.inputs : a.image;
    if (model.has_classifier()) {
      std::cout << "top-" << preds.size() << " for " << source << ":\n";
      for (const auto& p : preds) {
        char line[64];
        std::snprintf(line, sizeof line, "  %6.2f%%  ", 100.0 * p.score);
        std::cout << line << p.label << " (" << p.index << ")\n";
      }
    } else {
      std::cout << "no classifier: this checkpoint has no trained classification head, so it predicts no labels";
      if (!model.config().id2label.empty()) std::cout << " (the " << model.config().id2label.size() << " labels in its config belong to no weights)";
      std::cout << ".\n";
      if (model.has_prototypes()) {
        std::cout << "top MSN prototypes for " << source << ":\n";
        for (const auto& p : prototypes) {
          char line[64];
          std::snprintf(line, sizeof line, "  %6.2f%%  prototype %lld\n", 100.0 * p["probability"].get<double>(),
                        static_cast<long long>(p["index"].get<std::int64_t>()));
          std::cout << line;
        }
      }
    }
  } else {
    json top = json::array();
    for (const auto& p : preds) top.push_back({{"index", p.index}, {"label", p.label}, {"score", p.score}});
    json report = {{"model", session.loaded().summary_json()},
                   {"device", session.device().str()},
                   {"device_name", session.device_name()},
                   {"precision", to_string(session.precision())},
                   {"input", a.image.empty() ? a.inputs : a.image},
                   {"input_shape", pixels.sizes().vec()},
                   {"topk", top},
                   {"timings_ms", {{"load", load_ms}, {"preprocess", preprocess_ms}, {"inference", inference_ms}}}};
    if (model.has_prototypes()) report["prototypes"] = prototypes;
    write_json(a.json_out, report);
  }
  if (!a.tensors_out.empty()) write_tensors(a.tensors_out, pixels, out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MSN Lens command line: inspect ViT-MSN checkpoints and run inference"};
  app.require_subcommand(1);
  Args a;
  auto add_model = [&](CLI::App* cmd) {
    cmd->add_option("--model", a.model, "model folder or checkpoint file")->required();
    cmd->add_option("--config", a.config, "JSON file setting or overriding config fields");
    cmd->add_option("--json", a.json_out, "write a JSON report here");
  };
  CLI::App* info = app.add_subcommand("info", "print a checkpoint's format, config and heads");
  add_model(info);
  CLI::App* infer = app.add_subcommand("infer", "run the model on an image or on tensors");
  add_model(infer);
  infer->add_option("--image", a.image, "image file (PNG, JPEG, BMP, TIFF, WebP)");
  infer->add_option("--inputs", a.inputs, "safetensors with inputs.pixel_values [, head_mask, bool_masked_pos, keep_patches]");
  infer->add_flag("--interpolate-pos-encoding", a.interpolate, "accept input sizes other than the model's");
  infer->add_option("--topk", a.topk, "how many classes to report")->check(CLI::Range(1, 100000));
  infer->add_option("--device", a.device, "auto, cpu, cuda or cuda:N");
  infer->add_option("--precision", a.precision, "fp32 (default: exact), bf16, fp16, or auto (fastest within the documented bounds)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16", "auto"}));
  infer->add_option("--tensors", a.tensors_out, "write every output tensor (float32 safetensors) here");
  CLI11_PARSE(app, argc, argv);

  try {
    return info->parsed() ? run_info(a) : run_infer(a);
  } catch (const Error& e) {
    std::cerr << "msnlens-cli: " << e.what() << "\n";
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();  // LibTorch adds context lines
    std::cerr << "msnlens-cli: " << what.substr(0, what.find('\n')) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "msnlens-cli: " << e.what() << "\n";
  }
  return 1;
}
