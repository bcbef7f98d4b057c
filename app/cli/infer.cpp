#include <cstdio>
#include <iostream>

#include "build_config.h"
#include "commands.h"
#include "common/error.h"
#include "common/json_file.h"
#include "engine/analyzer.h"
#include "engine/few_shot.h"
#include "engine/inference_session.h"
#include "engine/workbench.h"
#include "front_end.h"
#include "input_tensors.h"
#if MSNLENS_HAVE_IMAGEIO
#include "imaging/image_file.h"
#endif

namespace msnlens {
namespace {

using nlohmann::json;
using front_end::Clock;
using front_end::ms_since;

// Reads inputs.* tensors (the fixture convention) into pixel values and forward options.
at::Tensor read_inputs(const std::string& path, ForwardOptions& options) {
  InputTensors in = read_input_tensors(path);
  options.head_mask = in.head_mask;
  options.bool_masked_pos = in.bool_masked_pos;
  options.keep_patches = in.keep_patches;
  return in.pixel_values;
}


json scored_json(const std::vector<Scored>& scored, const char* score_name = "score") {
  json out = json::array();
  for (const Scored& s : scored) out.push_back({{"index", s.index}, {"label", s.label}, {score_name, s.score}});
  return out;
}

void print_scored(const std::string& heading, const std::vector<Scored>& scored, bool with_index = false) {
  std::cout << heading << "\n";
  for (const Scored& s : scored) {
    char line[64];
    std::snprintf(line, sizeof line, "  %6.2f%%  ", 100.0 * s.score);
    std::cout << line << s.label << (with_index ? " (" + std::to_string(s.index) + ")" : "") << "\n";
  }
}

// What `infer` ran, whichever way its input came.
struct Inference {
  json model;  // the summary `info --json` writes
  std::string device, device_name, precision, kernels;
  bool has_classifier = false, has_prototypes = false;
  std::size_t config_labels = 0;  // listed in the config, with or without classifier weights
  Predictor predictor;
  Readout unmasked;
  std::optional<Readout> masked;
  PatchMask mask;
  MaskMode mode = MaskMode::DropTokens;
  std::vector<std::int64_t> input_shape;
  std::string few_shot_file;
  double load_ms = 0, preprocess_ms = 0, inference_ms = 0;
};


// --image: the app's own path (the Workbench), so what is printed is what the app shows.
Inference infer_image(const InferArgs& a) {
#if MSNLENS_HAVE_IMAGEIO
  Inference r;
  Workbench bench;
  WorkbenchOptions options = front_end::workbench_options(a.device, a.precision, a.config);
  options.fused_cpu = a.kernels == "fused";
  options.few_shot = a.few_shot;
  const ModelDescription& d = bench.load_model(a.model, options);
  bench.apply_cpu_threads();
  r.few_shot_file = few_shot_classes_for(a.few_shot, a.model);
  r.load_ms = d.load_ms;
  const auto t1 = Clock::now();
  bench.add_image(1, read_image(a.image));
  r.preprocess_ms = ms_since(t1);
  const auto t2 = Clock::now();
  r.unmasked = *bench.view(1, {}, MaskMode::DropTokens);
  r.inference_ms = ms_since(t2);
  if (!a.mask.empty()) {
    const std::optional<MaskMode> mode = parse_mask_mode(a.mask_mode);
    if (!mode) fail("--mask-mode", "\"" + a.mask_mode + "\" is not drop, token, gray or blur");
    r.mode = *mode;
    r.mask = PatchMask::parse(a.mask, d.grid_rows, d.grid_cols);
    r.masked = *bench.view(1, r.mask, r.mode);
  }
  if (!a.tensors_out.empty()) bench.write_tensors(1, r.mask, r.mode, a.tensors_out);
  r.model = json::parse(d.summary_json);
  r.device = d.device;
  r.device_name = d.device_name;
  r.precision = d.precision;
  r.kernels = d.kernels;
  r.has_classifier = d.has_classifier;
  r.has_prototypes = d.has_prototypes;
  r.config_labels = r.model["config"].value("id2label", json::object()).size();
  r.predictor = bench.predictor();
  r.input_shape = {1, 3, d.image_size, d.image_size};
  return r;
#else
  fail(a.image, "this build has no image decoding (OpenCV was not found); use --inputs");
#endif
}

// --inputs: tensors as the fixtures give them (head_mask, bool_masked_pos, keep_patches).
Inference infer_tensors(const InferArgs& a) {
  Inference r;
  const auto t0 = Clock::now();
  SessionOptions session_options{a.device, parse_precision_option(a.precision)};
  session_options.fused_cpu = a.kernels == "fused";
  const InferenceSession session(front_end::load_model(a.model, a.config), session_options);
  apply_cpu_threads(session.cpu_threads());
  r.load_ms = ms_since(t0);
  ForwardOptions options;
  options.interpolate_pos_encoding = a.interpolate;
  const at::Tensor pixels = read_inputs(a.inputs, options);
  const auto t2 = Clock::now();
  options.output_attentions = false;
  options.output_hidden_states = false;
  r.unmasked = readouts(session.forward(pixels, options)).front();
  r.inference_ms = ms_since(t2);
  if (!a.tensors_out.empty()) write_forward_tensors(session, pixels, options, a.tensors_out);
  const ViTMSNModel& model = session.model();
  r.model = session.loaded().summary_json();
  r.device = session.device().str();
  r.device_name = session.device_name();
  r.precision = to_string(session.precision());
  r.kernels = session.kernels();
  r.has_classifier = model.has_classifier();
  r.has_prototypes = model.has_prototypes();
  r.config_labels = model.config().id2label.size();
  r.few_shot_file = few_shot_classes_for(a.few_shot, a.model);
  r.predictor = session.predictor(
      r.few_shot_file.empty() ? LinearHead{} : FewShotClassifier::load_for(r.few_shot_file, model.config().hidden_size).linear_head());
  r.input_shape = pixels.sizes().vec();
  return r;
}

}  // namespace

CLI::App* add_infer_command(CLI::App& app, InferArgs& a) {
  CLI::App* infer = app.add_subcommand("infer", "run the model on an image or on tensors");
  add_model_options(infer, a.model, a.config, &a.json_out);
  infer->add_option("--image", a.image, "image file (PNG, JPEG, BMP, TIFF, WebP)");
  infer->add_option("--inputs", a.inputs, "safetensors with inputs.pixel_values [, head_mask, bool_masked_pos, keep_patches]");
  infer->add_flag("--interpolate-pos-encoding", a.interpolate, "accept input sizes other than the model's");
  infer->add_option("--topk", a.topk, "how many classes to report")->check(CLI::Range(1, 100000));
  infer->add_option("--device", a.device, "auto, cpu, cuda or cuda:N");
  infer->add_option("--precision", a.precision, "fp32 (default: exact), bf16, fp16, or auto (fastest within the documented bounds)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16", "auto"}));
  infer->add_option("--kernels", a.kernels, "on the CPU: fused (oneDNN, default) or libtorch (the reference layers)")
      ->check(CLI::IsMember({"fused", "libtorch"}));
  infer->add_option("--fewshot", a.few_shot, "rank these few-shot classes (default: the classes.fewshot the model ships, if any)");
  infer->add_option("--tensors", a.tensors_out, "write every output tensor (float32 safetensors) here");
  infer->add_option("--mask", a.mask, "also run a masked view: patch list \"3,17,40\", random:RATIO[:SEED] or focal:RATIO[:SEED]");
  infer->add_option("--mask-mode", a.mask_mode, "how masked patches are hidden: drop (MSN, default), token, gray or blur")
      ->check(CLI::IsMember({"drop", "token", "gray", "blur"}));
  return infer;
}

int run_infer(const InferArgs& a) {
  if (a.image.empty() == a.inputs.empty()) fail("infer", "give exactly one of --image or --inputs");
  if (!a.mask.empty() && a.image.empty()) fail("--mask", "masks apply to --image; --inputs carry their own");
  const Inference r = a.image.empty() ? infer_tensors(a) : infer_image(a);
  const Predictor& p = r.predictor;
  const std::vector<Scored> classes = p.top_k(r.unmasked, PredictionSource::Classifier, a.topk);
  const std::vector<Scored> few_shot = p.top_k(r.unmasked, PredictionSource::FewShot, a.topk);
  const std::vector<Scored> prototypes = p.top_k(r.unmasked, PredictionSource::Prototypes, a.topk);
  const std::string source = a.image.empty() ? a.inputs : a.image;
  std::optional<MaskingResponse> response;
  if (r.masked) response = masking_response(r.unmasked, *r.masked, p, p.preferred());

  if (a.json_out.empty()) {
    if (r.has_classifier) {
      print_scored("top-" + std::to_string(classes.size()) + " for " + source + ":", classes, true);
    } else {
      std::cout << "no classifier: this checkpoint has no trained classification head, so it predicts no labels";
      if (r.config_labels > 0) std::cout << " (the " << r.config_labels << " labels in its config belong to no weights)";
      std::cout << ".\n";
      if (!few_shot.empty()) print_scored("top few-shot classes (" + r.few_shot_file + ") for " + source + ":", few_shot);
      if (!prototypes.empty()) print_scored("top MSN prototypes for " + source + ":", prototypes);
    }
    if (response) {
      char line[160];
      std::snprintf(line, sizeof line, "masked %d of %d patches (%s): CLS cosine similarity to unmasked %.4f", r.mask.count(),
                    r.mask.size(), to_string(r.mode), response->cls_cosine);
      std::cout << line << "\n";
      if (response->top1_before && response->top1_after)
        std::cout << "top-1 " << (response->top1_before->index == response->top1_after->index ? "unchanged: " + response->top1_after->label
                                                                                            : "changed: " + response->top1_before->label + " -> " + response->top1_after->label)
                  << "\n";
      if (response->prototype_kl) {
        std::snprintf(line, sizeof line, "prototype KL(unmasked || masked) %.4f nats; top prototype %d -> %d", *response->prototype_kl,
                      response->prototype_before, response->prototype_after);
        std::cout << line << "\n";
      }
    }
  } else {
    json report = {{"model", r.model},
                   {"device", r.device},
                   {"device_name", r.device_name},
                   {"precision", r.precision},
                   {"kernels", r.kernels},
                   {"input", source},
                   {"input_shape", r.input_shape},
                   {"topk", scored_json(classes)},
                   {"timings_ms", {{"load", r.load_ms}, {"preprocess", r.preprocess_ms}, {"inference", r.inference_ms}}}};
    if (r.has_prototypes) report["prototypes"] = scored_json(prototypes, "probability");
    if (!few_shot.empty()) report["fewshot"] = {{"file", r.few_shot_file}, {"topk", scored_json(few_shot)}};
    if (response) {
      json patches = json::array();
      for (int i = 0; i < r.mask.size(); ++i)
        if (r.mask.masked(i)) patches.push_back(i);
      json masked = {{"patches", patches}, {"mode", to_string(r.mode)}, {"cls_cosine", response->cls_cosine},
                     {"topk", scored_json(p.top_k(*r.masked, p.preferred(), a.topk))}};
      if (response->prototype_kl) masked["prototype_kl"] = *response->prototype_kl;
      report["masked"] = masked;
    }
    write_json_file(a.json_out, report);
  }
  return 0;
}

}  // namespace msnlens
