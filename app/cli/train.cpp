#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "build_config.h"
#include "commands.h"
#include "common/error.h"
#include "common/json_file.h"
#include "engine/inference_session.h"
#include "front_end.h"
#include "model/random_init.h"
#include "train/few_shot_eval.h"
#include "train/trainer.h"
#if MSNLENS_HAVE_IMAGEIO
#include "imaging/image_file.h"
#endif

namespace msnlens {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

FeatureExtractor feature_extractor(const FewShotArgs& a, const LabelledImages& train) {
  if (a.model == "pixels") return FeatureExtractor(train.images);
  LoadedModel loaded = front_end::load_model(a.model, a.config);
  if (a.random_init) {
    const ViTMSNConfig config = loaded.model->config();
    loaded.model = std::make_shared<ViTMSNModel>(config, random_weights(config, 0), "random init");
    loaded.summary.layout = "random initialisation";
  }
  auto session = std::make_shared<const InferenceSession>(std::move(loaded), SessionOptions{a.device, parse_precision_option(a.precision)});
  apply_cpu_threads(session->cpu_threads());
  return FeatureExtractor(std::move(session));
}

}  // namespace

CLI::App* add_pretrain_command(CLI::App& app, PretrainArgs& a) {
  CLI::App* pretrain = app.add_subcommand("pretrain", "pretrain a ViT with MSN on unlabelled images");
  pretrain->add_option("--data", a.data, "IDX image file (Fashion-MNIST) or a folder of images")->required();
  pretrain->add_option("--out", a.out, "folder for checkpoints and the trained model")->required();
  pretrain->add_option("--preset", a.preset, "msn-vits16 (the paper) or fmnist-small");
  pretrain->add_option("--config", a.config, "JSON overriding preset fields");
  pretrain->add_option("--epochs", a.epochs, "override the preset's epochs")->check(CLI::PositiveNumber);
  pretrain->add_option("--steps-per-epoch", a.steps_per_epoch, "cap steps per epoch (quick runs)")->check(CLI::PositiveNumber);
  pretrain->add_option("--stop-after", a.stop_after, "end after this epoch of the schedule, its model in OUT/model")
      ->check(CLI::PositiveNumber);
  pretrain->add_option("--cooldown-epochs", a.cooldown_epochs,
                       "epochs after the schedule's last, the learning rate annealed from its last value to final_lr")
      ->check(CLI::NonNegativeNumber);
  CLI::Option* resume = pretrain->add_option("--resume", a.resume, "continue from this checkpoint.pt");
  CLI::Option* warm = pretrain->add_option("--warm-start", a.warm_start,
                                           "restart from a model this config exported (fresh optimizer, weights and epoch from it)")
                          ->excludes(resume);
  pretrain->add_option("--init-from", a.init_from,
                       "a new stage: this config's schedule from epoch 0, starting from a model's weights (same network, any recipe)")
      ->excludes(resume)
      ->excludes(warm);
  pretrain->add_option("--rewarm-epochs", a.rewarm_epochs, "--warm-start: epochs over which the learning rate climbs back from start_lr")
      ->check(CLI::NonNegativeNumber);
  pretrain->add_option("--checkpoint", a.checkpoint, "write the resumable checkpoint here, replaced each epoch (default OUT/checkpoint.pt)");
  pretrain->add_option("--checkpoint-moments", a.checkpoint_moments, "fp32 (exact resume) or bf16 (a quarter smaller)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  pretrain->add_option("--device", a.device, "auto, cpu or cuda");
  return pretrain;
}

int run_pretrain(const PretrainArgs& a) {
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
  trainer.set_cooldown(a.cooldown_epochs);
  if (!a.resume.empty()) trainer.resume(a.resume);
  if (!a.warm_start.empty()) trainer.warm_start(a.warm_start, a.rewarm_epochs);
  if (!a.init_from.empty()) trainer.init_from(a.init_from);
  if (!a.checkpoint.empty() || a.checkpoint_moments != "fp32") trainer.set_checkpoint(a.checkpoint, a.checkpoint_moments == "bf16");
  if (dist->rank() == 0)
    std::cout << "MSN pretraining: " << data->size() << " images, " << config.epochs << " epochs"
              << (a.cooldown_epochs > 0 ? " (+ " + std::to_string(a.cooldown_epochs) + " of cooldown)" : std::string())
              << " of " << trainer.steps_per_epoch()
              << " steps, batch " << config.batch_size << " x " << dist->world_size() << " processes, " << device.str() << " "
              << config.precision
              << (trainer.epoch() > 0 ? (a.warm_start.empty() ? ", resuming after epoch " : ", warm restart after epoch ") +
                                            std::to_string(trainer.epoch())
                                      : "")
              << (a.init_from.empty() ? "" : ", a new stage from " + a.init_from)
              << (a.stop_after > 0 ? ", stopping after epoch " + std::to_string(a.stop_after) : "") << "\n" << std::flush;
  trainer.run(a.out, [&](const TrainProgress& p) {
    if (dist->rank() != 0 || (p.step % 20 != 0 && p.step != p.steps)) return;
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d step %lld/%lld  loss %.4f  (ce %.4f, me-max %.4f)  %d distinct prototypes for %d targets (of %d)  lr %.2e  %.1f img/s  ETA %s\n",
                  p.epoch, p.epochs, static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.cross_entropy,
                  p.me_max, p.prototypes_used, p.targets, p.prototypes, p.lr, p.images_per_s, hms(p.eta_s).c_str());
    std::cout << line << std::flush;
  }, a.stop_after);
  if (dist->rank() == 0) std::cout << "model written to " << (std::filesystem::path(a.out) / "model").string() << "\n";
  return 0;
}

CLI::App* add_fewshot_command(CLI::App& app, FewShotArgs& a) {
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
  return fewshot;
}

int run_fewshot(const FewShotArgs& a) {
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

}  // namespace msnlens
