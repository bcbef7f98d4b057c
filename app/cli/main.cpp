// msnlens-cli: the engine for scripts.
//   msnlens-cli info  --model PATH [--config FILE] [--json OUT]
//   msnlens-cli infer --model PATH [--config FILE] (--image FILE | --inputs FILE.safetensors)
//                     [--interpolate-pos-encoding] [--topk K] [--device auto|cpu|cuda]
//                     [--precision fp32|bf16|fp16] [--fewshot FILE] [--json OUT.json] [--tensors OUT.safetensors]
//                     [--mask PATCHES|random:R[:SEED]|focal:R[:SEED] [--mask-mode drop|token|gray|blur]]
//   msnlens-cli pretrain --data IDX|FOLDER --out DIR [--preset NAME] [--config FILE] [--epochs N]
//                     [--stop-after N] [--resume CHECKPOINT | --warm-start MODEL_DIR [--rewarm-epochs E]]
//                     [--checkpoint FILE] [--checkpoint-moments fp32|bf16] [--device auto|cpu|cuda]   (RANK/WORLD_SIZE/... for c10d)
//   msnlens-cli fewshot --model PATH|pixels --train IDX|FOLDER [--test ...] [--k 1,2,5,10] [--save FILE]
//   msnlens-cli explain --model PATH (--image F | --images DIR | --inputs F.safetensors) --method M
//                     [--target K|NAME] [--layer L] [--head H|mean|max|min] [--query P] --out X.npy|X.csv|X.png
//   msnlens-cli random-model --shape small|base|large|base-4|large-7 --out DIR
// Every failure is one line on stderr naming the file and the problem, and exit status 1.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "explain.h"
#include "front_end.h"
#include "input_tensors.h"
#include "startup.h"
#include "common/json_file.h"
#include "analysis/predictions.h"
#include "engine/analyzer.h"
#include "engine/cpu_threads.h"
#include "engine/few_shot.h"
#include "engine/inference_session.h"
#include "engine/workbench.h"
#include "model/random_init.h"
#include "train/few_shot_eval.h"
#include "train/trainer.h"
#include "build_config.h"
#if MSNLENS_HAVE_IMAGEIO
#include "imaging/image_file.h"
#endif

namespace {

using namespace msnlens;
using nlohmann::json;
using front_end::Clock;
using front_end::ms_since;
namespace fs = std::filesystem;


struct Args {
  std::string model, config, image, inputs, json_out, tensors_out;
  std::string data, out, preset = "fmnist-small", resume, warm_start, checkpoint, checkpoint_moments = "fp32";
  double rewarm_epochs = 1;
  int epochs = 0, steps_per_epoch = 0, stop_after = 0;
  std::string train, test, save_head, class_names, few_shot;
  std::vector<int> shots = {1, 2, 5, 10};
  int seeds = 5, first_seed = 0;
  bool random_init = false;
  std::string device = "auto", precision = "fp32", kernels = "fused";
  std::string mask, mask_mode = "drop", shape;
  bool interpolate = false;
  int topk = 5;
};

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
Inference infer_image(const Args& a) {
#if MSNLENS_HAVE_IMAGEIO
  Inference r;
  Workbench bench;
  WorkbenchOptions options = front_end::workbench_options(a.device, a.precision, a.config);
  options.fused_cpu = a.kernels == "fused";
  const ModelDescription& d = bench.load_model(a.model, options);
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
  r.few_shot_file = front_end::few_shot_classes(a.few_shot, a.model, d.has_classifier);
  if (!r.few_shot_file.empty()) bench.load_few_shot(r.few_shot_file);
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
Inference infer_tensors(const Args& a) {
  Inference r;
  const auto t0 = Clock::now();
  SessionOptions session_options{a.device, parse_precision_option(a.precision)};
  session_options.fused_cpu = a.kernels == "fused";
  const InferenceSession session(front_end::load_model(a.model, a.config), session_options);
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
  std::vector<std::string> labels;
  for (std::int64_t i = 0; i < model.num_labels(); ++i) labels.push_back(model.config().label(i));
  r.few_shot_file = front_end::few_shot_classes(a.few_shot, a.model, model.has_classifier());
  const LinearHead few_shot =
      r.few_shot_file.empty() ? LinearHead{} : FewShotClassifier::load_for(r.few_shot_file, model.config().hidden_size).linear_head();
  r.predictor = Predictor(labels, static_cast<int>(model.num_prototypes()), few_shot);
  r.input_shape = pixels.sizes().vec();
  return r;
}

int run_infer(const Args& a) {
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

std::string hms(double seconds) {
  const auto s = static_cast<long long>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

// Image folders are decoded through OpenCV where this build has it.
ImageDecoder image_decoder() {
#if MSNLENS_HAVE_IMAGEIO
  return [](const fs::path& f) { return read_image(f); };
#else
  return {};
#endif
}

int run_pretrain(const Args& a) {
  PretrainConfig config = PretrainConfig::preset(a.preset);
  if (!a.config.empty()) config.update(read_json_file(a.config), a.config);
  if (a.epochs > 0) config.epochs = a.epochs;
  if (a.steps_per_epoch > 0) config.steps_per_epoch = a.steps_per_epoch;
  std::shared_ptr<const ImageDataset> data;
  if (std::filesystem::is_directory(a.data)) {
    const ImageDecoder decode = image_decoder();
    if (!decode) fail(a.data, "image folders need image decoding, and this build has none (OpenCV was not found); use IDX files");
    data = std::make_shared<ImageFolderDataset>(a.data, [decode](const std::filesystem::path& file) {
      const RgbImage rgb = decode(file);
      return at::from_blob(const_cast<std::uint8_t*>(rgb.pixels.data()), {rgb.height, rgb.width, 3}, at::kByte)
          .permute({2, 0, 1}).to(at::kFloat).div(255.0);
    });
  } else {
    data = std::make_shared<IdxImageDataset>(a.data);
  }
  const auto dist = Distributed::from_environment();
  const at::Device device = resolve_device(a.device);
  MsnTrainer trainer(config, data, dist, device);
  if (!a.resume.empty()) trainer.resume(a.resume);
  if (!a.warm_start.empty()) trainer.warm_start(a.warm_start, a.rewarm_epochs);
  if (!a.checkpoint.empty() || a.checkpoint_moments != "fp32") trainer.set_checkpoint(a.checkpoint, a.checkpoint_moments == "bf16");
  if (dist->rank() == 0)
    std::cout << "MSN pretraining: " << data->size() << " images, " << config.epochs << " epochs of " << trainer.steps_per_epoch()
              << " steps, batch " << config.batch_size << " x " << dist->world_size() << " processes, " << device.str() << " "
              << config.precision
              << (trainer.epoch() > 0 ? (a.warm_start.empty() ? ", resuming after epoch " : ", warm restart after epoch ") +
                                            std::to_string(trainer.epoch())
                                      : "")
              << (a.stop_after > 0 ? ", stopping after epoch " + std::to_string(a.stop_after) : "") << "\n" << std::flush;
  trainer.run(a.out, [&](const TrainProgress& p) {
    if (dist->rank() != 0 || (p.step % 20 != 0 && p.step != p.steps)) return;
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d step %lld/%lld  loss %.4f  (ce %.4f, me-max %.4f)  prototypes in use %d/%d  lr %.2e  %.1f img/s  ETA %s\n",
                  p.epoch, p.epochs, static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.cross_entropy,
                  p.me_max, p.prototypes_used, p.prototypes, p.lr, p.images_per_s, hms(p.eta_s).c_str());
    std::cout << line << std::flush;
  }, a.stop_after);
  if (dist->rank() == 0) std::cout << "model written to " << (std::filesystem::path(a.out) / "model").string() << "\n";
  return 0;
}

FeatureExtractor feature_extractor(const Args& a, const LabelledImages& train) {
  if (a.model == "pixels") return FeatureExtractor(train.images);
  LoadedModel loaded = front_end::load_model(a.model, a.config);
  if (a.random_init) {
    const ViTMSNConfig config = loaded.model->config();
    loaded.model = std::make_shared<ViTMSNModel>(config, random_weights(config, 0), "random init");
    loaded.summary.layout = "random initialisation";
  }
  return FeatureExtractor(std::make_shared<const InferenceSession>(std::move(loaded), SessionOptions{a.device, parse_precision_option(a.precision)}));
}

int run_fewshot(const Args& a) {
  std::vector<std::string> names;
  if (!a.class_names.empty()) {
    std::stringstream list(a.class_names);
    for (std::string n; std::getline(list, n, ',');) names.push_back(n);
  }
  const LabelledImages train = read_labelled(a.train, names, image_decoder());
  const FeatureExtractor features = feature_extractor(a, train);
  nlohmann::json results = json::array();
  if (!a.test.empty()) {
    const LabelledImages test = read_labelled(a.test, names, image_decoder());
    std::cout << "few-shot accuracy on " << test.images.size() << " test images (" << (a.model == "pixels" ? "raw pixels" : a.model)
              << (a.random_init ? ", random initialisation" : "") << "), logistic regression on centred, L2-normalised features (MSN protocol)\n";
    for (const FewShotAccuracy& r : few_shot_accuracy(features, train, test, a.shots, a.seeds, a.first_seed)) {
      char line[96];
      std::snprintf(line, sizeof line, "  %2d per class: %5.1f %% +- %.1f  (seeds %d-%d)\n", r.k, r.mean, r.std, a.first_seed,
                    a.first_seed + a.seeds - 1);
      std::cout << line;
      results.push_back({{"k", r.k}, {"mean", r.mean}, {"std", r.std}, {"seeds", r.per_seed}});
    }
  }
  if (!a.save_head.empty()) {
    // The head users get: k examples per class from seed 0 (the largest k asked for).
    const int k = *std::max_element(a.shots.begin(), a.shots.end());
    fit_few_shot(features, train, k, 0).save(a.save_head);
    std::cout << "few-shot classes (" << k << " examples each) saved to " << a.save_head << "\n";
  }
  if (!a.json_out.empty())
    write_json_file(a.json_out, {{"model", a.model}, {"random_init", a.random_init}, {"train", a.train}, {"test", a.test},
                                 {"first_seed", a.first_seed}, {"results", results}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  front_end::use_fast_blas_kernels(argv);
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
  infer->add_option("--kernels", a.kernels, "on the CPU: fused (oneDNN, default) or libtorch (the reference layers)")
      ->check(CLI::IsMember({"fused", "libtorch"}));
  infer->add_option("--fewshot", a.few_shot, "rank these few-shot classes (default: the model's classes.fewshot when it has no classifier)");
  infer->add_option("--tensors", a.tensors_out, "write every output tensor (float32 safetensors) here");
  infer->add_option("--mask", a.mask, "also run a masked view: patch list \"3,17,40\", random:RATIO[:SEED] or focal:RATIO[:SEED]");
  infer->add_option("--mask-mode", a.mask_mode, "how masked patches are hidden: drop (MSN, default), token, gray or blur")
      ->check(CLI::IsMember({"drop", "token", "gray", "blur"}));
  ExplainArgs explain_args;
  CLI::App* explain = add_explain_command(app, explain_args);
  CLI::App* random_model = app.add_subcommand("random-model", "write a random-weight Hugging Face folder in a released ViT-MSN shape");
  random_model->add_option("--shape", a.shape, "small, base, large, base-4 or large-7 (facebook/vit-msn-*)")->required();
  random_model->add_option("--out", a.out, "folder to write")->required();
  CLI::App* pretrain = app.add_subcommand("pretrain", "pretrain a ViT with MSN on unlabelled images");
  pretrain->add_option("--data", a.data, "IDX image file (Fashion-MNIST) or a folder of images")->required();
  pretrain->add_option("--out", a.out, "folder for checkpoints and the trained model")->required();
  pretrain->add_option("--preset", a.preset, "msn-vits16 (the paper) or fmnist-small");
  pretrain->add_option("--config", a.config, "JSON overriding preset fields");
  pretrain->add_option("--epochs", a.epochs, "override the preset's epochs")->check(CLI::PositiveNumber);
  pretrain->add_option("--steps-per-epoch", a.steps_per_epoch, "cap steps per epoch (quick runs)")->check(CLI::PositiveNumber);
  pretrain->add_option("--stop-after", a.stop_after, "end after this epoch of the schedule, its model in OUT/model")
      ->check(CLI::PositiveNumber);
  CLI::Option* resume = pretrain->add_option("--resume", a.resume, "continue from this checkpoint.pt");
  pretrain->add_option("--warm-start", a.warm_start, "restart from a model this config exported (fresh optimizer, weights and epoch from it)")
      ->excludes(resume);
  pretrain->add_option("--rewarm-epochs", a.rewarm_epochs, "--warm-start: epochs over which the learning rate climbs back from start_lr")
      ->check(CLI::NonNegativeNumber);
  pretrain->add_option("--checkpoint", a.checkpoint, "write the resumable checkpoint here, replaced each epoch (default OUT/checkpoint.pt)");
  pretrain->add_option("--checkpoint-moments", a.checkpoint_moments, "fp32 (exact resume) or bf16 (a quarter smaller)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  pretrain->add_option("--device", a.device, "auto, cpu or cuda");
  CLI::App* fewshot = app.add_subcommand("fewshot", "evaluate or build few-shot classes on frozen features");
  fewshot->add_option("--model", a.model, "model folder or checkpoint, or \"pixels\" for the raw-pixel baseline")->required();
  fewshot->add_option("--config", a.config, "JSON setting or overriding config fields");
  fewshot->add_option("--train", a.train, "labelled images: IDX images file (labels beside it) or a folder of class folders")->required();
  fewshot->add_option("--test", a.test, "labelled test images, same forms");
  fewshot->add_option("--k", a.shots, "examples per class, e.g. 1,2,5,10")->delimiter(',');
  fewshot->add_option("--seeds", a.seeds, "draws of the examples per k")->check(CLI::Range(1, 1000));
  fewshot->add_option("--first-seed", a.first_seed, "the first draw's seed (then the next ones)")->check(CLI::Range(0, 1000000));
  fewshot->add_flag("--random-init", a.random_init, "the model's architecture with random weights (baseline)");
  fewshot->add_option("--classes", a.class_names, "class names for IDX labels, comma-separated");
  fewshot->add_option("--save", a.save_head, "write the classes fitted on seed 0 here (.fewshot)");
  fewshot->add_option("--device", a.device, "auto, cpu or cuda");
  fewshot->add_option("--precision", a.precision, "fp32, bf16, fp16 or auto");
  fewshot->add_option("--json", a.json_out, "write the accuracy table here");
  CLI11_PARSE(app, argc, argv);

  return front_end::guarded_main("msnlens-cli", [&] {
    if (pretrain->parsed()) return run_pretrain(a);
    if (fewshot->parsed()) return run_fewshot(a);
    if (explain->parsed()) return run_explain(explain_args);
    if (random_model->parsed()) {
      const ReleasedShape& shape = released_shape(a.shape);
      write_random_checkpoint(shape, a.out);
      std::cout << shape.title << " (facebook/vit-msn-" << shape.name << " shape, random weights) written to " << a.out << "\n";
      return 0;
    }
    return info->parsed() ? run_info(a) : run_infer(a);
  });
}
