#include "engine/workbench.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include "common/error.h"
#include "engine/analyzer.h"
#include "engine/cpu_threads.h"
#include "engine/faithfulness.h"
#include "engine/interventions.h"
#include "engine/few_shot.h"
#include "engine/mask_sweep.h"

namespace msnlens {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Runs an engine call; LibTorch's errors become one-line Errors like every other refusal.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw Error(what.substr(0, what.find('\n')));
  }
}

}  // namespace

struct Workbench::Impl {
  // One forward pass: its summary stays; its device state may be dropped and rerun.
  struct View {
    std::shared_ptr<const ViewSummary> summary;
    std::shared_ptr<const ForwardState> state;
    std::uint64_t serial = 0;  // identifies `state` in the memos below
    std::uint64_t used = 0;    // for least-recently-used eviction
  };
  struct Image {
    RgbImage original;
    PreparedImage prepared;  // for the current model
    View unmasked, masked;   // masked: the latest masked view asked for
  };

  std::unique_ptr<InferenceSession> session;
  std::unique_ptr<Analyzer> analyzer;
  ModelDescription description;
  std::size_t budget = std::size_t{1} << 30;
  std::map<ImageId, Image> images;
  std::uint64_t clock = 0, serials = 0;

  std::optional<FewShotClassifier> few_shot;
  LinearHead few_shot_head;
  std::string few_shot_source;

  // The last map and overview computed, by state and what was asked: rollout and the
  // overview recompute every layer, and views ask again on every tab switch.
  struct {
    std::uint64_t serial = 0;
    MapSpec spec;
    std::vector<float> map;
  } map_memo;
  struct {
    std::uint64_t serial = 0;
    int query = 0;
    std::vector<std::vector<float>> maps;
  } overview_memo;
  struct {
    std::uint64_t serial = 0;
    std::vector<float> distance;
  } distance_memo;
  // The random orders' curves of the last faithfulness measured: the same for every map of a
  // view, target and options, so switching maps runs only the map's own curves.
  struct {
    std::uint64_t serial = 0, classes = 0;
    ExplainTarget target;
    FaithfulnessOptions options;
    std::vector<FaithfulnessCurve> curves;
  } random_memo;
  std::uint64_t classes_version = 0;  // bumped whenever the few-shot classes change

  Image& image(ImageId id) {
    const auto it = images.find(id);
    if (it == images.end()) fail("image " + std::to_string(id), "not loaded");
    return it->second;
  }

  void require_model() const {
    if (!session) fail("workbench", "no model loaded");
  }

  void evict(const View* keep) {
    std::size_t held = 0;
    std::vector<View*> views;
    for (auto& [id, im] : images)
      for (View* v : {&im.unmasked, &im.masked})
        if (v->state) held += v->state->device_bytes(), views.push_back(v);
    std::sort(views.begin(), views.end(), [](const View* a, const View* b) { return a->used < b->used; });
    for (View* v : views) {
      if (held <= budget) break;
      if (v == keep) continue;
      held -= v->state->device_bytes();
      v->state.reset();
    }
  }

  // The view of `id` for (mask, mode), its forward run or rerun when its state is not held.
  View& ensure(ImageId id, const PatchMask& mask, MaskMode mode) {
    require_model();
    Image& im = image(id);
    const bool masked = mask.any();
    View* v = &im.unmasked;
    if (masked) {
      v = &im.masked;
      if (v->summary && !(v->summary->mask == mask && v->summary->mode == mode)) *v = View{};
    }
    v->used = ++clock;
    if (v->state) return *v;
    const auto start = Clock::now();
    v->state = analyzer->forward(im.prepared, masked ? mask : PatchMask(description.grid_rows, description.grid_cols), mode);
    v->serial = ++serials;
    if (!v->summary) {
      auto s = std::make_shared<ViewSummary>();
      static_cast<Readout&>(*s) = v->state->readout();
      s->image_id = id;
      s->masked = masked;
      s->mode = mode;
      s->mask = masked ? mask : PatchMask(description.grid_rows, description.grid_cols);
      s->token_patch = v->state->token_patch();
      s->latency_ms = ms_since(start);
      v->summary = std::move(s);
    }
    evict(v);
    return *v;
  }

  // An occlusion stopped early is not kept: asking again computes it whole.
  const std::vector<float>& map_of(const View& v, const MapSpec& spec, const Progress& progress = {}) {
    if (map_memo.serial != v.serial || !(map_memo.spec == spec)) {
      bool stopped = false;
      map_memo.serial = 0;
      map_memo.map = analyzer->patch_map(*v.state, spec, few_shot_head, [&](int done, int total) {
        stopped = progress && !progress(done, total);
        return !stopped;
      });
      map_memo.serial = stopped ? 0 : v.serial;
      map_memo.spec = spec;
    }
    return map_memo.map;
  }

  // Few-shot classes changed: maps explaining one of them are stale.
  void few_shot_changed() {
    if (map_memo.spec.target.source == PredictionSource::FewShot) map_memo = {};
  }
};

std::vector<std::string> available_precisions(const std::string& device) {
  std::vector<std::string> names;
  for (const PrecisionOffer& o : precision_offers(resolve_device(device)))
    if (o.available) names.emplace_back(to_string(o.precision));
  return names;
}

Workbench::Workbench() : impl_(std::make_unique<Impl>()) {}
Workbench::~Workbench() = default;

const ModelDescription& Workbench::load_model(const std::string& path, const WorkbenchOptions& options) {
  return guarded([&]() -> const ModelDescription& {
    const auto start = Clock::now();
    SessionOptions so;
    so.device = options.device;
    so.precision = parse_precision_option(options.precision);
    std::string precision_note;
    if (options.precision_fallback) {
      const PrecisionChoice choice = choose_precision(resolve_device(options.device), so.precision);
      so.precision = choice.precision;
      precision_note = choice.note;
    }
    so.cuda_graphs = options.cuda_graphs;
    so.fused_cpu = options.fused_cpu;
    const ConfigOverride config = options.config_file.empty() ? ConfigOverride{} : ConfigOverride::from_file(options.config_file);
    auto session = std::make_unique<InferenceSession>(msnlens::load_model(path, config), so);
    const ViTMSNModel& model = session->model();
    const ViTMSNConfig& c = model.config();
    const std::string classes = few_shot_classes_for(options.few_shot, path);
    std::optional<FewShotClassifier> few_shot;
    if (!classes.empty()) few_shot = FewShotClassifier::load_for(classes, c.hidden_size);
    ModelDescription d;
    d.path = path;
    d.format = session->loaded().summary.format;
    d.device = session->device().str();
    d.device_name = session->device_name();
    d.precision = to_string(session->precision());
    d.precision_note = precision_note;
    d.precisions = available_precisions(options.device);
    d.kernels = session->kernels();
    d.summary_json = session->loaded().summary_json().dump(2);
    d.layers = static_cast<int>(c.num_hidden_layers);
    d.heads = static_cast<int>(c.num_attention_heads);
    d.hidden_size = static_cast<int>(c.hidden_size);
    d.patch_size = static_cast<int>(c.patch_size);
    d.image_size = static_cast<int>(c.image_size);
    d.grid_rows = d.grid_cols = static_cast<int>(c.grid_size());
    d.has_classifier = model.has_classifier();
    d.has_prototypes = model.has_prototypes();
    d.has_mask_token = model.has_mask_token();
    d.num_prototypes = static_cast<int>(model.num_prototypes());
    for (std::int64_t i = 0; i < model.num_labels(); ++i) d.labels.push_back(c.label(i));
    // Every image resized for the new model before the old one goes: a failure above leaves
    // the previous model and its results untouched.
    std::map<ImageId, PreparedImage> prepared;
    for (const auto& [id, im] : impl_->images)
      prepared[id] = im.original.empty() ? im.prepared : prepare_image(im.original, session->preprocessor());
    Impl& m = *impl_;
    m.analyzer.reset();
    m.session = std::move(session);
    m.analyzer = std::make_unique<Analyzer>(*m.session);
    m.budget = options.state_budget_bytes;
    for (auto& [id, im] : m.images) {
      im.prepared = std::move(prepared[id]);
      im.unmasked = im.masked = Impl::View{};
    }
    m.map_memo = {};
    m.overview_memo = {};
    m.distance_memo = {};
    m.few_shot = std::move(few_shot);
    m.few_shot_head = m.few_shot ? m.few_shot->linear_head() : LinearHead{};
    ++m.classes_version;
    m.few_shot_source = classes.empty() ? std::string() : std::filesystem::path(classes).filename().string();
    d.load_ms = ms_since(start);
    m.description = std::move(d);
    return m.description;
  });
}

bool Workbench::has_model() const { return impl_->session != nullptr; }

const ModelDescription& Workbench::model() const {
  impl_->require_model();
  return impl_->description;
}

void Workbench::add_image(ImageId id, RgbImage image) {
  guarded([&] {
    Impl::Image im;
    if (impl_->session) im.prepared = prepare_image(image, impl_->session->preprocessor());
    im.original = std::move(image);
    impl_->images[id] = std::move(im);
  });
}

void Workbench::add_pixels(ImageId id, std::vector<float> chw, int height, int width) {
  guarded([&] {
    if (height <= 0 || width <= 0 || chw.size() != 3 * static_cast<std::size_t>(height) * static_cast<std::size_t>(width))
      fail("image " + std::to_string(id), "pixel values do not fill [3, " + std::to_string(height) + ", " + std::to_string(width) + "]");
    Impl::Image im;
    im.prepared.pixels = at::tensor(chw).view({1, 3, height, width});
    impl_->images[id] = std::move(im);
  });
}

void Workbench::remove_image(ImageId id) { impl_->images.erase(id); }

bool Workbench::has_image(ImageId id) const { return impl_->images.count(id) != 0; }

std::shared_ptr<const ViewSummary> Workbench::view(ImageId id, const PatchMask& mask, MaskMode mode) {
  return guarded([&] { return impl_->ensure(id, mask, mode).summary; });
}

ViewMaps Workbench::maps(ImageId id, const PatchMask& mask, MaskMode mode, const MapRequest& request,
                         const Progress& progress) {
  return guarded([&] {
    const auto start = Clock::now();
    Impl& m = *impl_;
    const Impl::View& v = m.ensure(id, mask, mode);
    ViewMaps out;
    out.image_id = id;
    out.masked = v.summary->masked;
    out.mode = v.summary->mode;
    out.mask = v.summary->mask;
    out.request = request;
    out.layers = m.description.layers;
    out.heads = m.description.heads;
    MapSpec spec = request.map;
    if (uses_target(spec.source) && spec.target.index < 0) spec.target = resolve_target(id, spec.target, mode);
    out.target = spec.target;
    if (spec.source == MapSpec::Source::Pca && spec.pca_all_images) {
      // Fitted on every image's unmasked view (held here: ensuring one may evict another).
      std::vector<std::shared_ptr<const ForwardState>> held;
      std::vector<const ForwardState*> fit;
      for (const auto& [other, im] : m.images)
        if (im.prepared.pixels.defined()) held.push_back(m.ensure(other, PatchMask(), mode).state), fit.push_back(held.back().get());
      out.map = m.analyzer->pca_map(*m.ensure(id, mask, mode).state, fit);
    } else {
      out.map = m.map_of(m.ensure(id, mask, mode), spec, progress);
    }
    if (request.map.source == MapSpec::Source::TokenNorm) out.outliers = high_outliers(out.map);
    if (request.distance) {
      if (m.distance_memo.serial != v.serial) {
        m.distance_memo.distance = m.analyzer->attention_distance(*v.state);
        m.distance_memo.serial = v.serial;
      }
      out.distance = m.distance_memo.distance;
    }
    if (request.heads) out.head_maps = m.analyzer->head_maps(*v.state, request.map.layer, request.map.query_patch);
    if (request.overview) {
      if (m.overview_memo.serial != v.serial || m.overview_memo.query != request.map.query_patch) {
        m.overview_memo.maps = m.analyzer->overview(*v.state, request.map.query_patch);
        m.overview_memo.serial = v.serial;
        m.overview_memo.query = request.map.query_patch;
      }
      out.overview = m.overview_memo.maps;
    }
    if (request.lens) out.lens = m.analyzer->lens(*v.state);
    out.compute_ms = ms_since(start);
    return out;
  });
}

ShownView Workbench::show(const ViewRequest& r, const Progress& progress) {
  const auto start = Clock::now();
  ShownView out;
  out.request = r;
  out.unmasked = view(r.image_id, {}, r.mode);
  if (r.mask.any()) out.masked = view(r.image_id, r.mask, r.mode);
  out.maps = std::make_shared<const ViewMaps>(maps(r.image_id, r.masked_shown() ? r.mask : PatchMask(), r.mode, r.maps, progress));
  const Predictor p = predictor();
  const ViewMaps& m = *out.maps;
  out.display = map_display(m);
  out.controls = map_controls(r.maps.map.source);
  if (m.target.source != PredictionSource::None) out.target_label = p.label(m.target.source, m.target.index);
  out.caption = map_caption(m, impl_->description.grid_cols, out.target_label);
  out.findings = map_findings(m);
  if (out.masked) out.response = masking_response(*out.unmasked, *out.masked, p, r.ranking);
  out.latency_ms = ms_since(start);
  return out;
}

ShownView Workbench::show_compared(const ViewRequest& request) {
  ViewRequest r = request;
  r.maps = MapRequest{};  // the canvas map only
  r.maps.map = request.maps.map;
  r.maps.map.target.index = -1;
  std::string note;
  try {
    const ModelDescription& d = model();
    if (r.mask.rows() != d.grid_rows || r.mask.cols() != d.grid_cols) {
      if (r.mask.any())
        note = "Its " + std::to_string(d.grid_rows) + " × " + std::to_string(d.grid_cols) +
               " patch grid differs from the first model's: shown unmasked.";
      r.mask = PatchMask(d.grid_rows, d.grid_cols);
      r.maps.map.query_patch = -1;
    }
    r.ranking = predictor().preferred();
    ShownView out = show(r);
    out.note = note;
    return out;
  } catch (const std::exception& e) {
    ShownView out;
    out.request = r;
    out.note = e.what();
    return out;
  }
}

Faithfulness Workbench::faithfulness(ImageId id, const PatchMask& mask, const MapSpec& map, const FaithfulnessOptions& options,
                                     const Progress& progress) {
  MapRequest request;
  request.map = map;
  const ViewMaps m = maps(id, mask, MaskMode::DropTokens, request);
  return guarded([&] {
    // A map without a target is measured on what the model predicts for the unmasked image.
    const ExplainTarget target = resolve_target(id, m.target, MaskMode::DropTokens);
    if (target.source == PredictionSource::None) fail("faithfulness", "needs a score to follow: a classifier, few-shot classes or prototypes");
    const Impl::View& v = impl_->ensure(id, mask, MaskMode::DropTokens);
    auto& memo = impl_->random_memo;
    const bool known = memo.serial == v.serial && memo.classes == impl_->classes_version && memo.target == target &&
                       memo.options == options;
    Faithfulness f = msnlens::faithfulness(*impl_->session, impl_->image(id).prepared.pixels, v.summary->token_patch, m.map, target,
                                           impl_->few_shot_head, options, progress, known ? &memo.curves : nullptr);
    memo = {v.serial, impl_->classes_version, target, options, f.random};
    return f;
  });
}

ExplainTarget Workbench::resolve_target(ImageId id, const ExplainTarget& wanted, MaskMode mode) {
  if (wanted.source != PredictionSource::None && wanted.index >= 0) return wanted;
  // The unmasked image's top prediction, under the source asked for when this model and its
  // classes offer it, else under the one they prefer.
  const Predictor p = predictor();
  const PredictionSource source = wanted.source != PredictionSource::None && p.offers(wanted.source) ? wanted.source : p.preferred();
  const std::optional<Scored> top =
      source == PredictionSource::None ? std::nullopt : p.top1(*impl_->ensure(id, PatchMask(), mode).summary, source);
  return top ? ExplainTarget{source, top->index} : ExplainTarget{};
}

HeadAblation Workbench::head_ablation(ImageId id, const PatchMask& mask, const ExplainTarget& target, const Progress& progress) {
  return guarded([&] {
    const ExplainTarget t = resolve_target(id, target, MaskMode::DropTokens);
    const std::shared_ptr<const ForwardState> state = impl_->ensure(id, mask, MaskMode::DropTokens).state;
    return msnlens::head_ablation(impl_->session->model(), *state, t, impl_->few_shot_head, progress);
  });
}

KnockoutEffect Workbench::knockout(ImageId id, const PatchMask& mask, const KnockoutRequest& request, const ExplainTarget& target) {
  return guarded([&] {
    const ExplainTarget t = resolve_target(id, target, MaskMode::DropTokens);
    const std::shared_ptr<const ForwardState> state = impl_->ensure(id, mask, MaskMode::DropTokens).state;
    return msnlens::knockout(impl_->session->model(), *state, request, t, impl_->few_shot_head);
  });
}

Patching Workbench::patching(ImageId id, const PatchMask& mask, const ExplainTarget& target, const Progress& progress) {
  return guarded([&] {
    if (!mask.any()) fail("patching", "needs a mask: it patches the masked view from the unmasked one");
    const ExplainTarget t = resolve_target(id, target, MaskMode::DropTokens);
    // Both held here: ensuring one may evict the other.
    const std::shared_ptr<const ForwardState> clean = impl_->ensure(id, PatchMask(), MaskMode::DropTokens).state;
    const std::shared_ptr<const ForwardState> masked = impl_->ensure(id, mask, MaskMode::DropTokens).state;
    const ModelDescription& d = impl_->description;
    return msnlens::activation_patching(impl_->session->model(), *masked, *clean, d.grid_rows, d.grid_cols, t,
                                        impl_->few_shot_head, progress);
  });
}

PatchMask Workbench::mask_by_map(ImageId id, const MapSpec& map, double ratio, bool most) {
  return guarded([&] {
    const Impl::View& v = impl_->ensure(id, PatchMask(), MaskMode::DropTokens);
    const ModelDescription& d = impl_->description;
    return PatchMask::by_score(d.grid_rows, d.grid_cols, impl_->map_of(v, map), ratio, most);
  });
}

std::vector<SweepPoint> Workbench::sweep(ImageId id, SweepRequest request, const MapSpec& guide, const SweepProgress& progress) {
  return guarded([&] {
    Impl& m = *impl_;
    const Impl::View& v = m.ensure(id, PatchMask(), MaskMode::DropTokens);
    MapSpec cls_guide = guide;
    cls_guide.query_patch = -1;
    request.patch_scores = m.map_of(v, cls_guide);
    // The pixels by value: requests served between batches may replace the image's views.
    const at::Tensor pixels = m.image(id).prepared.pixels;
    return run_mask_sweep(*m.session, pixels, request, progress);
  });
}

void Workbench::write_tensors(ImageId id, const PatchMask& mask, MaskMode mode, const std::string& path) {
  guarded([&] {
    Impl& m = *impl_;
    m.require_model();
    const Analyzer::Input in = m.analyzer->input(m.image(id).prepared, mask.size() == 0 ? PatchMask(m.description.grid_rows, m.description.grid_cols) : mask, mode);
    write_forward_tensors(*m.session, in.pixels, in.options, path);
  });
}

int Workbench::fit_few_shot(const std::vector<std::string>& classes, const std::vector<std::vector<ImageId>>& examples) {
  return guarded([&] {
    std::vector<at::Tensor> features;
    std::vector<std::int64_t> labels;
    for (std::size_t c = 0; c < examples.size(); ++c)
      for (const ImageId id : examples[c]) {
        if (!has_image(id)) continue;
        features.push_back(at::tensor(view(id, PatchMask(), MaskMode::DropTokens)->cls).unsqueeze(0));
        labels.push_back(static_cast<std::int64_t>(c));
      }
    Impl& m = *impl_;
    if (features.empty()) {
      m.few_shot.reset();
      m.few_shot_head = {};
      ++m.classes_version;
      m.few_shot_source.clear();
      m.few_shot_changed();
      return 0;
    }
    m.few_shot = FewShotClassifier::fit(at::cat(features), at::tensor(labels, at::kLong), classes);
    m.few_shot_head = m.few_shot->linear_head();
    ++m.classes_version;
    m.few_shot_changed();
    m.few_shot_source = std::to_string(labels.size()) + (labels.size() == 1 ? " example" : " examples");
    return static_cast<int>(labels.size());
  });
}

void Workbench::load_few_shot(const std::string& path) {
  guarded([&] {
    Impl& m = *impl_;
    m.few_shot = m.session ? FewShotClassifier::load_for(path, m.description.hidden_size) : FewShotClassifier::load(path);
    m.few_shot_head = m.few_shot->linear_head();
    ++m.classes_version;
    m.few_shot_changed();
    m.few_shot_source = std::filesystem::path(path).filename().string();
  });
}

void Workbench::save_few_shot(const std::string& path) const {
  guarded([&] {
    if (!impl_->few_shot) fail(path, "no few-shot classes to save");
    impl_->few_shot->save(path);
  });
}

const LinearHead& Workbench::few_shot() const { return impl_->few_shot_head; }
const std::string& Workbench::few_shot_source() const { return impl_->few_shot_source; }

Predictor Workbench::predictor() const {
  return impl_->session ? impl_->session->predictor(impl_->few_shot_head) : Predictor();
}

std::size_t Workbench::device_bytes() const {
  std::size_t n = 0;
  for (const auto& [id, im] : impl_->images)
    for (const Impl::View* v : {&im.unmasked, &im.masked})
      if (v->state) n += v->state->device_bytes();
  return n;
}

void Workbench::apply_cpu_threads() const {
  if (impl_->session && !impl_->session->device().is_cuda()) msnlens::apply_cpu_threads(impl_->session->cpu_threads());
}

}  // namespace msnlens
