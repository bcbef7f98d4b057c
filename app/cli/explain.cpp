#include "commands.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "analysis/predictions.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/npy_file.h"
#include "engine/workbench.h"
#include "front_end.h"
#include "input_tensors.h"
#include "interventions.h"
#include "build_config.h"
#if MSNLENS_HAVE_IMAGEIO
#include "imaging/colormap.h"
#include "imaging/image_file.h"
#endif

namespace msnlens {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_image_file(const fs::path& p) {
  static const char* kinds[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
  const std::string ext = lower(p.extension().string());
  return std::any_of(std::begin(kinds), std::end(kinds), [&](const char* k) { return ext == k; });
}

MapSpec map_spec(const ExplainArgs& a, const ModelDescription& d) {
  MapSpec spec;
  if (a.method != "distance" && !is_intervention(a.method)) {
    const std::optional<MapSpec::Source> source = parse_map_source(a.method);
    if (!source) fail("--method", "\"" + a.method + "\" is not attention, rollout, grad-rollout, chefer, occlusion, similarity, "
                                  "token-norms, pca, distance, head-ablation, knockout or patching");
    spec.source = *source;
  }
  if (a.layer < 0 || a.layer > d.layers) fail("--layer", std::to_string(a.layer) + " is outside 1.." + std::to_string(d.layers));
  spec.layer = a.layer - 1;
  if (a.head == "mean" || a.head == "max" || a.head == "min") {
    spec.fusion = a.head == "mean" ? HeadFusion::Mean : a.head == "max" ? HeadFusion::Max : HeadFusion::Min;
  } else {
    try {
      spec.head = std::stoi(a.head) - 1;
    } catch (const std::logic_error&) {
      spec.head = -1;
    }
    if (spec.head < 0 || spec.head >= d.heads) fail("--head", "\"" + a.head + "\" is not mean, max, min or a head 1.." + std::to_string(d.heads));
    spec.fusion = HeadFusion::Single;
  }
  const int patches = d.grid_rows * d.grid_cols;
  if (a.query < -1 || a.query >= patches) fail("--query", std::to_string(a.query) + " is outside 0.." + std::to_string(patches - 1));
  spec.query_patch = a.query;
  if (!(a.discard_ratio >= 0.0f && a.discard_ratio < 1.0f)) fail("--discard-ratio", "must be in [0, 1)");
  spec.discard_ratio = a.discard_ratio;
  return spec;
}

// --target: an index or a name under the model's preferred source, or "classifier:", "fewshot:",
// "prototype:" before it to pick the source; empty: the view's own top-1.
ExplainTarget resolve_target(const std::string& text, const Predictor& p, const Readout& view) {
  PredictionSource source = p.preferred();
  std::string key = text;
  const std::pair<const char*, PredictionSource> prefixes[] = {
      {"classifier:", PredictionSource::Classifier}, {"fewshot:", PredictionSource::FewShot}, {"prototype:", PredictionSource::Prototypes}};
  for (const auto& [prefix, s] : prefixes)
    if (key.rfind(prefix, 0) == 0) source = s, key = key.substr(std::string(prefix).size());
  if (source == PredictionSource::None || !p.offers(source))
    fail("--target", text.empty() ? "this model ranks nothing (no classifier, few-shot classes or prototypes); give --fewshot FILE"
                                  : "\"" + text + "\": the model and classes offer no such source");
  if (key.empty()) {
    const std::optional<Scored> top = p.top1(view, source);
    if (!top) fail("--target", "the view has no score to explain");
    return {source, top->index};
  }
  for (int i = 0; i < p.size(source); ++i)
    if (p.label(source, i) == key) return {source, i};
  try {
    std::size_t used = 0;
    const int index = std::stoi(key, &used);
    if (used == key.size() && index >= 0 && index < p.size(source)) return {source, index};
  } catch (const std::logic_error&) {
  }
  fail("--target", "\"" + key + "\" is neither a label nor an index 0.." + std::to_string(p.size(source) - 1));
}

// One view's curves, as `explain --faithfulness` writes them.
nlohmann::json faithfulness_json(const Faithfulness& f, const Predictor& predictor, const std::string& name) {
  nlohmann::json random_deletion = nlohmann::json::array(), random_insertion = nlohmann::json::array();
  for (const FaithfulnessCurve& r : f.random) random_deletion.push_back(r.deletion_auc), random_insertion.push_back(r.insertion_auc);
  return {{"input", name},
          {"target", {{"source", f.target.source == PredictionSource::Classifier ? "classifier"
                                 : f.target.source == PredictionSource::FewShot  ? "fewshot"
                                                                                  : "prototype"},
                      {"index", f.target.index},
                      {"label", predictor.label(f.target.source, f.target.index)}}},
          {"fractions", f.fractions},
          {"deletion", f.map.deletion},
          {"insertion", f.map.insertion},
          {"deletion_auc", f.map.deletion_auc},
          {"insertion_auc", f.map.insertion_auc},
          {"random_deletion_auc", f.random_deletion_auc},
          {"random_insertion_auc", f.random_insertion_auc},
          {"random_deletion_aucs", random_deletion},
          {"random_insertion_aucs", random_insertion}};
}

// Over a folder: each AUC's mean and standard error of the mean, with every image's curves.
nlohmann::json faithfulness_summary(const nlohmann::json& images, const std::string& method) {
  nlohmann::json out = {{"method", method}, {"images", images}};
  for (const char* key : {"deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"}) {
    const double n = static_cast<double>(images.size());
    double mean = 0, squares = 0;
    for (const auto& image : images) mean += image[key].get<double>() / n;
    for (const auto& image : images) squares += std::pow(image[key].get<double>() - mean, 2);
    const double se = n > 1 ? std::sqrt(squares / (n - 1) / n) : 0.0;
    out[key] = {{"mean", mean}, {"standard_error", se}};
  }
  return out;
}

#if MSNLENS_HAVE_IMAGEIO
Colormap colormap_named(const std::string& name) {
  for (const auto& [n, map] : colormaps())
    if (lower(n) == lower(name)) return map;
  fail("--colormap", "\"" + name + "\" is not a colormap");
}
#else
struct RgbImage;
#endif

// Writes what was computed in the format the path's extension names.
void write_result(const fs::path& path, const ExplainArgs& a, const ShownView& view, const ModelDescription& d,
                  const RgbImage* image) {
  const ViewMaps& m = *view.maps;
  const std::string ext = lower(path.extension().string());
  const bool distance = a.method == "distance";
  const int channels = distance ? 1 : view.display.channels;
  const std::vector<float>& values = distance ? m.distance : m.map;
  std::vector<std::size_t> shape = distance ? std::vector<std::size_t>{static_cast<std::size_t>(d.layers), static_cast<std::size_t>(d.heads)}
                                            : std::vector<std::size_t>{static_cast<std::size_t>(d.grid_rows), static_cast<std::size_t>(d.grid_cols)};
  if (channels > 1) shape.push_back(static_cast<std::size_t>(channels));
  if (ext == ".npy") return write_npy(path, values, shape);
  if (ext == ".csv") return write_csv(path, values, shape);
  if (ext != ".png") fail(path.string(), "write .npy, .csv or .png");
  if (distance) fail(path.string(), "attention distance is a table of layers x heads: write .npy or .csv");
  if (image == nullptr) fail(path.string(), "a PNG overlays the image: use --image or --images (or write .npy/.csv)");
#if MSNLENS_HAVE_IMAGEIO
  write_png(path, blend_patches(*image, colorize_channels(view.display.values, channels, d.grid_cols, d.grid_rows, colormap_named(a.colormap)),
                                d.grid_cols, d.grid_rows, 0.6));
#endif
}

// --inputs: inputs.pixel_values [1, 3, H, W], and keep_patches or bool_masked_pos as the mask.
std::pair<PatchMask, MaskMode> add_inputs(Workbench& bench, ImageId id, const std::string& path, const ModelDescription& d) {
  const InputTensors in = read_input_tensors(path);
  const at::Tensor& pixels = in.pixel_values;
  if (pixels.dim() != 4 || pixels.size(0) != 1 || pixels.size(1) != 3)
    fail(path, "inputs.pixel_values must be [1, 3, height, width] for explain");
  if (in.head_mask.defined()) fail(path, "explain does not apply inputs.head_mask");
  const at::Tensor chw = pixels[0].contiguous();
  bench.add_pixels(id, {chw.data_ptr<float>(), chw.data_ptr<float>() + chw.numel()}, static_cast<int>(pixels.size(2)),
                   static_cast<int>(pixels.size(3)));
  PatchMask mask(d.grid_rows, d.grid_cols);
  const at::Tensor &keep = in.keep_patches, &masked = in.bool_masked_pos;
  if (keep.defined()) {
    for (int p = 0; p < mask.size(); ++p) mask.set(p, true);
    const at::Tensor k = keep.to(at::kLong).flatten();
    for (std::int64_t i = 0; i < k.numel(); ++i) {
      const std::int64_t p = k[i].item<std::int64_t>();
      if (p < 0 || p >= mask.size()) fail(path, "inputs.keep_patches holds patch " + std::to_string(p) + ", outside the grid");
      mask.set(static_cast<int>(p), false);
    }
    return {mask, MaskMode::DropTokens};
  }
  if (masked.defined()) {
    const at::Tensor m = masked.to(at::kBool).flatten();
    if (m.numel() != mask.size()) fail(path, "inputs.bool_masked_pos does not cover the model's " + std::to_string(mask.size()) + " patches");
    for (int p = 0; p < mask.size(); ++p) mask.set(p, m[p].item<bool>());
    return {mask, MaskMode::MaskToken};
  }
  return {mask, MaskMode::DropTokens};
}

}  // namespace

CLI::App* add_explain_command(CLI::App& app, ExplainArgs& a) {
  CLI::App* cmd = app.add_subcommand("explain", "write a map (attention, relevance, occlusion, similarity, PCA, distance) as .npy, .csv or .png");
  add_model_options(cmd, a.model, a.config);
  cmd->add_option("--image", a.image, "image file");
  cmd->add_option("--images", a.images, "a folder of images (then --out is a folder)");
  cmd->add_option("--inputs", a.inputs, "safetensors with inputs.pixel_values [, keep_patches or bool_masked_pos]");
  cmd->add_option("--method", a.method, "attention, rollout, grad-rollout, chefer, occlusion, similarity, token-norms, pca or distance; "
                                        "all (with --images and --faithfulness: every one-value map's AUCs in one table, .json and .csv); "
                                        "causes: head-ablation (float32 [layers, heads]), patching (needs --mask; float32 [layers, rows, "
                                        "cols], entry l the input to layer l+1, NaN where dropped) or knockout (.json)");
  cmd->add_option("--target", a.target, "what class-specific maps explain: index or name, optionally after classifier:, fewshot: or prototype: (default: the top-1)");
  cmd->add_option("--fewshot", a.few_shot, "few-shot classes to explain (default: the classes.fewshot the model ships, if any)");
  cmd->add_option("--layer", a.layer, "layer 1..L for attention and token-norms (default: the last)");
  cmd->add_option("--head", a.head, "attention heads: a head 1..H, mean, max or min");
  cmd->add_option("--query", a.query, "query patch for attention, rollout, relevance and similarity (default: the CLS token)");
  cmd->add_option("--discard-ratio", a.discard_ratio, "rollout and grad-rollout: share of the weakest fused attention discarded per layer");
  cmd->add_option("--mask", a.mask, "explain a masked view: patch list \"3,17,40\", random:RATIO[:SEED] or focal:RATIO[:SEED]");
  cmd->add_option("--mask-mode", a.mask_mode, "drop (MSN, default), token, gray or blur")->check(CLI::IsMember({"drop", "token", "gray", "blur"}));
  cmd->add_option("--device", a.device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--precision", a.precision, "fp32 (default), bf16, fp16 or auto")->check(CLI::IsMember({"fp32", "bf16", "fp16", "auto"}));
  cmd->add_flag("--pca-all", a.pca_all, "pca with --images: components fitted on every image together (same colour, same feature)");
  cmd->add_option("--colormap", a.colormap, "PNG colours: viridis, inferno, magma, plasma, turbo, jet, hot, bone");
  cmd->add_option("--format", a.format, "with --images: npy, csv or png")->check(CLI::IsMember({"npy", "csv", "png"}));
  cmd->add_option("--out", a.out, "X.npy (raw values, float32 [rows, cols] or [rows, cols, 3]), X.csv or X.png")->required();
  cmd->add_option("--faithfulness", a.faithfulness, "also measure the map's deletion and insertion curves (MSN token dropping) against random "
                                                   "orders, to this JSON file (with --images: every image and their mean)");
  cmd->add_option("--steps", a.steps, "--faithfulness: points per curve after the first")->check(CLI::Range(1, 10000));
  cmd->add_option("--random-orders", a.random_orders, "--faithfulness: random orders for the baseline")->check(CLI::Range(0, 1000));
  cmd->add_option("--knockout", a.knockout, "--method knockout: patches \"p,q,...\" made invisible (attention logits -inf)");
  cmd->add_option("--knockout-layers", a.knockout_layers, "--method knockout: layers \"1,2,...\" (default: every layer)");
  cmd->add_flag("--every-query", a.every_query, "--method knockout: hide the patches from every query, not only the CLS token");
  return cmd;
}

namespace {

// One method over the inputs; returns what --faithfulness writes (null without it).
nlohmann::json explain(const ExplainArgs& a) {
  if (!a.image.empty() + !a.images.empty() + !a.inputs.empty() != 1) fail("explain", "give exactly one of --image, --images or --inputs");
  std::vector<fs::path> files;
  if (!a.images.empty()) {
    if (!fs::is_directory(a.images)) fail(a.images, "is not a folder");
    for (const auto& e : fs::directory_iterator(a.images))
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) fail(a.images, "holds no images (PNG, JPEG, BMP, TIFF, WebP)");
    fs::create_directories(a.out);
  } else if (!a.image.empty()) {
    files.push_back(a.image);
  }

  Workbench bench;
  WorkbenchOptions options = front_end::workbench_options(a.device, a.precision, a.config);
  options.few_shot = a.few_shot;
  const ModelDescription& d = bench.load_model(a.model, options);
  bench.apply_cpu_threads();
  const Predictor predictor = bench.predictor();
  MapRequest request;
  request.map = map_spec(a, d);
  request.distance = a.method == "distance";
  request.map.pca_all_images = a.pca_all;
  const std::optional<MaskMode> mode = parse_mask_mode(a.mask_mode);
  if (!a.faithfulness.empty() && (request.distance || is_intervention(a.method) || map_channels(request.map.source) != 1))
    fail("--faithfulness", "ranks patches by a map of one value each: not " + a.method);
  if (!a.faithfulness.empty() && *mode != MaskMode::DropTokens)
    fail("--faithfulness", "measures with MSN's token dropping: use --mask-mode drop");
  FaithfulnessOptions faithfulness_options;
  faithfulness_options.steps = a.steps;
  faithfulness_options.random_orders = a.random_orders;
  nlohmann::json measured = nlohmann::json::array();

  auto explain_one = [&](ImageId id, const PatchMask& mask, MaskMode m, const fs::path& out, const RgbImage* image,
                         const std::string& name) {
    if (is_intervention(a.method)) {
      // Without --target: the unmasked image's top prediction, which patching restores toward.
      const ExplainTarget target = a.target.empty() ? ExplainTarget{predictor.preferred(), -1}
                                                    : resolve_target(a.target, predictor, *bench.view(id, mask, m));
      if (m != MaskMode::DropTokens) fail("--method " + a.method, "intervenes on MSN's token dropping: use --mask-mode drop");
      return explain_intervention(bench, a, id, mask, target, out, name);
    }
    ViewRequest r;
    r.image_id = id;
    r.mask = mask;
    r.mode = m;
    r.maps = request;
    r.ranking = predictor.preferred();
    if (uses_target(r.maps.map.source)) {
      const bool cls_occlusion = r.maps.map.source == MapSpec::Source::Occlusion && a.target.empty() && predictor.preferred() == PredictionSource::None;
      if (!cls_occlusion) r.maps.map.target = resolve_target(a.target, predictor, *bench.view(id, mask, m));
    }
    const ShownView view = bench.show(r);
    write_result(out, a, view, d, image);
    // The caption the app's figures carry, and what the map found.
    std::cout << name << ": " << (a.method == "distance" ? std::string("attention distance, layers x heads") : view.caption);
    if (!view.findings.empty()) std::cout << " (" << view.findings << ")";
    char took[48];
    std::snprintf(took, sizeof took, ", %.0f ms -> ", view.latency_ms);
    std::cout << took << out.string() << "\n";
    if (a.faithfulness.empty()) return;
    const Faithfulness f = bench.faithfulness(id, mask, r.maps.map, faithfulness_options);
    measured.push_back(faithfulness_json(f, predictor, name));
    char line[160];
    std::snprintf(line, sizeof line, "  faithfulness: deletion AUC %.4f (random %.4f), insertion AUC %.4f (random %.4f)\n", f.map.deletion_auc,
                  f.random_deletion_auc, f.map.insertion_auc, f.random_insertion_auc);
    std::cout << line;
  };
  auto write_faithfulness = [&]() -> nlohmann::json {
    if (a.faithfulness.empty()) return nullptr;
    nlohmann::json j = a.images.empty() ? measured.front() : faithfulness_summary(measured, a.method);
    write_json_file(a.faithfulness, j);
    return j;
  };

  if (!a.inputs.empty()) {
    const auto [mask, m] = add_inputs(bench, 1, a.inputs, d);
    explain_one(1, mask, m, a.out, nullptr, a.inputs);
    return write_faithfulness();
  }
#if MSNLENS_HAVE_IMAGEIO
  // A fit on every image needs them all loaded; otherwise one at a time.
  if (a.pca_all)
    for (std::size_t i = 0; i < files.size(); ++i) bench.add_image(static_cast<ImageId>(i + 1), read_image(files[i]));
  for (std::size_t i = 0; i < files.size(); ++i) {
    const RgbImage image = read_image(files[i]);
    const auto id = static_cast<ImageId>(i + 1);
    if (!a.pca_all) bench.add_image(id, image);
    const PatchMask mask = a.mask.empty() ? PatchMask(d.grid_rows, d.grid_cols) : PatchMask::parse(a.mask, d.grid_rows, d.grid_cols);
    const fs::path out = a.images.empty() ? fs::path(a.out) : fs::path(a.out) / (files[i].stem().string() + "." + a.format);
    if (files.size() > 1) std::cout << "[" << i + 1 << "/" << files.size() << "] ";
    explain_one(id, mask, *mode, out, &image, files[i].filename().string());
    if (!a.pca_all) bench.remove_image(id);
  }
  return write_faithfulness();
#else
  fail(files.front().string(), "this build has no image decoding (OpenCV was not found); use --inputs");
#endif
}

}  // namespace

// --method all: every one-value map's faithfulness over a folder, one table (Chefer et al.'s,
// for this checkpoint and these images) as F.json and F.csv; each method's maps and per-image
// curves in OUT/METHOD/.
int run_explain(const ExplainArgs& a) {
  if (a.method != "all") {
    explain(a);
    return 0;
  }
  if (a.images.empty() || a.faithfulness.empty())
    fail("--method all", "compares every map's faithfulness over a folder: give --images DIR and --faithfulness F.json");
  nlohmann::json table = nlohmann::json::array();
  std::string csv = "method,images,deletion_auc,deletion_auc_se,random_deletion_auc,random_deletion_auc_se,"
                    "insertion_auc,insertion_auc_se,random_insertion_auc,random_insertion_auc_se\n";
  for (const char* method : {"attention", "rollout", "grad-rollout", "chefer", "occlusion", "similarity", "token-norms"}) {
    ExplainArgs b = a;
    b.method = method;
    b.out = (fs::path(a.out) / method).string();
    b.faithfulness = (fs::path(b.out) / "faithfulness.json").string();
    fs::create_directories(b.out);
    nlohmann::json summary = explain(b);
    csv += std::string(method) + "," + std::to_string(summary["images"].size());
    for (const char* key : {"deletion_auc", "random_deletion_auc", "insertion_auc", "random_insertion_auc"}) {
      char cells[64];
      std::snprintf(cells, sizeof cells, ",%.6f,%.6f", summary[key]["mean"].get<double>(), summary[key]["standard_error"].get<double>());
      csv += cells;
    }
    csv += "\n";
    summary.erase("images");  // kept in OUT/METHOD/faithfulness.json
    table.push_back(summary);
  }
  write_json_file(a.faithfulness, {{"images", a.images}, {"methods", table}});
  const fs::path csv_path = fs::path(a.faithfulness).replace_extension(".csv");
  std::ofstream file(csv_path, std::ios::binary);
  if (!(file << csv) || !file.flush()) fail(csv_path.string(), "cannot be written");
  std::cout << "faithfulness of every map: " << a.faithfulness << " and " << csv_path.string() << "\n";
  return 0;
}

}  // namespace msnlens
