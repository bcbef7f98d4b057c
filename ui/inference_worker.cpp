#include "ui/inference_worker.h"

#include <QFileInfo>
#include <QImage>

#include <cstring>

#include "msnlens.h"

namespace msnlens {
namespace {

using Clock = std::chrono::steady_clock;

// Displayed images are capped in size; the model only ever sees its own resized input.
constexpr int kMaxDisplaySide = 4096;

QImage to_qimage(const RgbImage& rgb) {
  QImage image(rgb.width, rgb.height, QImage::Format_RGB888);
  for (int y = 0; y < rgb.height; ++y) std::memcpy(image.scanLine(y), rgb.row(y), static_cast<std::size_t>(rgb.width) * 3);
  if (std::max(rgb.width, rgb.height) > kMaxDisplaySide)
    image = image.scaled(kMaxDisplaySide, kMaxDisplaySide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  return image;
}

QString message_of(const std::exception& e) { return QString::fromStdString(e.what()); }

// Guards busyChanged around a piece of work.
class Busy {
 public:
  explicit Busy(InferenceWorker* w) : w_(w) { Q_EMIT w_->busyChanged(true); }
  ~Busy() { Q_EMIT w_->busyChanged(false); }

 private:
  InferenceWorker* w_;
};

WorkbenchOptions options_for(const QString& device, const QString& precision, bool fused_cpu) {
  WorkbenchOptions options;
  options.device = device.toStdString();
  options.precision = precision.toStdString();
  options.fused_cpu = fused_cpu;
  options.precision_fallback = true;  // a saved choice this machine cannot honour must not stop the app
  return options;
}

ModelInfo to_model_info(const Workbench& bench, bool demo) {
  const ModelDescription& d = bench.model();
  ModelInfo info;
  info.path = QString::fromStdString(d.path);
  info.demo = demo;
  info.format = QString::fromStdString(d.format);
  info.architecture = QStringLiteral("ViT %1 layers × %2 heads, hidden %3, patch %4, %5 px")
                          .arg(d.layers).arg(d.heads).arg(d.hidden_size).arg(d.patch_size).arg(d.image_size);
  info.device = QString::fromStdString(d.device_name);
  info.precision = QString::fromStdString(d.precision);
  info.precision_note = QString::fromStdString(d.precision_note);
  for (const std::string& p : d.precisions) info.precisions << QString::fromStdString(p);
  info.kernels = QString::fromStdString(d.kernels);
  info.summary_json = QString::fromStdString(d.summary_json);
  info.layers = d.layers;
  info.heads = d.heads;
  info.grid_rows = d.grid_rows;
  info.grid_cols = d.grid_cols;
  info.has_classifier = d.has_classifier;
  info.has_prototypes = d.has_prototypes;
  info.has_mask_token = d.has_mask_token;
  info.num_prototypes = d.num_prototypes;
  info.labels = d.labels;
  info.predictor = bench.predictor();
  info.load_ms = d.load_ms;
  return info;
}

}  // namespace

InferenceWorker::InferenceWorker() : bench_(std::make_unique<Workbench>()) {
  // What the queued signals and slots carry between the threads.
  qRegisterMetaType<ModelInfo>();
  qRegisterMetaType<ViewSummaryPtr>();
  qRegisterMetaType<ShownViewPtr>();
  qRegisterMetaType<MapSpec>();
  qRegisterMetaType<SweepResult>();
  qRegisterMetaType<PatchMask>();
  qRegisterMetaType<MaskMode>();
  qRegisterMetaType<SweepRequest>();
  qRegisterMetaType<LinearHead>();
  qRegisterMetaType<Predictor>();
  qRegisterMetaType<FaithfulnessResult>();
  qRegisterMetaType<CausesResult>();
  qRegisterMetaType<KnockoutResult>();
  qRegisterMetaType<KnockoutRequest>();
  qRegisterMetaType<ExplainTarget>();
}
InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::loadModel(const QString& path, const QString& device, const QString& precision, bool demo) {
  const Busy busy(this);
  try {
    bench_->load_model(path.toStdString(), options_for(device, precision, fused_cpu_));
    bench_->apply_cpu_threads();  // the pools for the model the window runs (not the comparison's)
    model_path_ = path;
    Q_EMIT modelLoaded(to_model_info(*bench_, demo));
  } catch (const std::exception& e) {
    Q_EMIT modelFailed(message_of(e));
    return;
  }
  emitFewShot();  // the classes loaded with it
}

void InferenceWorker::loadCompareModel(const QString& path, const QString& device, const QString& precision) {
  if (path.isEmpty()) {
    compare_.reset();
    Q_EMIT compareLoaded(ModelInfo{});
    return;
  }
  const Busy busy(this);
  try {
    auto bench = std::make_unique<Workbench>();
    bench->load_model(path.toStdString(), options_for(device, precision, fused_cpu_));
    for (const auto& [id, image] : images_) bench->add_image(id, image);
    compare_ = std::move(bench);
    Q_EMIT compareLoaded(to_model_info(*compare_, false));
  } catch (const std::exception& e) {
    Q_EMIT compareFailed(message_of(e));
  }
}

void InferenceWorker::storeImage(quint64 id, RgbImage rgb, const QString& name) {
  const QImage shown = to_qimage(rgb);
  if (compare_) compare_->add_image(id, rgb);
  images_[id] = rgb;
  bench_->add_image(id, std::move(rgb));
  Q_EMIT imageDecoded(id, shown, name);
}

void InferenceWorker::addImageFile(quint64 id, const QString& path) {
  try {
    storeImage(id, read_image(path.toStdString()), QFileInfo(path).fileName());
  } catch (const std::exception& e) {
    Q_EMIT imageFailed(id, message_of(e));
  }
}

void InferenceWorker::addImageData(quint64 id, const QByteArray& encoded, const QString& name) {
  try {
    const std::vector<std::uint8_t> bytes(encoded.begin(), encoded.end());
    storeImage(id, decode_image(bytes, name.toStdString()), name);
  } catch (const std::exception& e) {
    Q_EMIT imageFailed(id, message_of(e));
  }
}

void InferenceWorker::addImage(quint64 id, const QImage& image, const QString& name) {
  if (image.isNull() || static_cast<std::int64_t>(image.width()) * image.height() > kMaxImagePixels) {
    Q_EMIT imageFailed(id, name + QStringLiteral(": empty or oversized image"));
    return;
  }
  // Like PIL's convert("RGB"): alpha dropped, not composited.
  const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
  RgbImage out(rgb.width(), rgb.height());
  for (int y = 0; y < rgb.height(); ++y) std::memcpy(out.row(y), rgb.constScanLine(y), static_cast<std::size_t>(rgb.width()) * 3);
  storeImage(id, std::move(out), name);
}

void InferenceWorker::requestBaseline(quint64 id) {
  if (!bench_->has_model() || !bench_->has_image(id)) return;
  const Busy busy(this);
  try {
    Q_EMIT baselineReady(bench_->view(id, {}, MaskMode::DropTokens));
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::requestView(const ViewRequest& request) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  pending_ = Pending{request, Clock::now()};
  if (!scheduled_) {
    scheduled_ = true;
    QMetaObject::invokeMethod(this, [this] { processPending(); }, Qt::QueuedConnection);
  }
}

void InferenceWorker::processPending() {
  std::optional<Pending> pending;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending.swap(pending_);
    scheduled_ = false;
  }
  if (pending) runView(*pending);
}

void InferenceWorker::runView(const Pending& pending) {
  const ViewRequest& r = pending.request;
  if (!bench_->has_model() || !bench_->has_image(r.image_id)) return;
  const ModelDescription& model = bench_->model();
  if (r.mask.size() != model.grid_rows * model.grid_cols) return;  // asked before a model with another grid loaded
  const Busy busy(this);
  try {
    bool superseded = false;
    auto view = std::make_shared<ShownView>(bench_->show(r, [&](int done, int total) {
      Q_EMIT mapProgress(done, total);
      std::lock_guard<std::mutex> lock(pending_mutex_);
      superseded = pending_.has_value();
      return !superseded;
    }));
    if (superseded) return;  // the newer request is already queued
    if (compare_ && compare_->has_image(r.image_id)) view->compare = std::make_shared<const ShownView>(compare_->show_compared(r));
    view->latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - pending.asked).count();
    Q_EMIT viewReady(view);
    QMetaObject::invokeMethod(this, [this] { runFaithfulness(); }, Qt::QueuedConnection);  // one stopped for this view
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::maskByMap(quint64 id, const MapSpec& map, double ratio, bool most) {
  if (!bench_->has_model() || !bench_->has_image(id)) return;
  const Busy busy(this);
  try {
    Q_EMIT maskSuggested(id, bench_->mask_by_map(id, map, ratio, most));
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::requestSweep(quint64 image_id, const SweepRequest& request, const MapSpec& guide) {
  const int ticket = ++sweeps_requested_;
  QMetaObject::invokeMethod(this, [this, image_id, request, guide, ticket] { runSweep(image_id, request, guide, ticket); },
                            Qt::QueuedConnection);
}

template <class Result, class Work>
void InferenceWorker::runTicketed(Result result, const std::atomic<int>& cancelled_upto, int ticket, const QString& what,
                                  void (InferenceWorker::*finished)(const Result&), Work work) {
  const auto cancelled = [&] { return cancelled_upto.load() >= ticket; };
  if (!bench_->has_model() || !bench_->has_image(result.image_id) || cancelled()) {
    result.cancelled = true;
    Q_EMIT(this->*finished)(result);
    return;
  }
  const Busy busy(this);
  const auto start = Clock::now();
  // Between steps: an interactive request waiting is served first, then the job goes on unless cancelled.
  const auto next_step = [&] {
    processPending();
    return !cancelled();
  };
  try {
    work(result, next_step);
    result.cancelled = cancelled();
  } catch (const std::exception& e) {
    if (!cancelled()) Q_EMIT failed(what + message_of(e));
    result.cancelled = true;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Q_EMIT(this->*finished)(result);
}

void InferenceWorker::runSweep(quint64 id, const SweepRequest& request, const MapSpec& guide, int ticket) {
  SweepResult result;
  result.image_id = id;
  runTicketed(std::move(result), sweeps_cancelled_, ticket, QStringLiteral("sweep: "), &InferenceWorker::sweepFinished,
              [&](SweepResult& r, const auto& next_step) {
                r.points = bench_->sweep(id, request, guide, [&](int done, int total) {
                  Q_EMIT sweepProgress(done, total);
                  return next_step();
                });
              });
}

void InferenceWorker::requestFaithfulness(quint64 image_id, const PatchMask& mask, const MapSpec& map) {
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending_faithfulness_ = FaithfulnessResult{image_id, mask, map, {}};
  }
  QMetaObject::invokeMethod(this, [this] { runFaithfulness(); }, Qt::QueuedConnection);
}

void InferenceWorker::runFaithfulness() {
  std::optional<FaithfulnessResult> job;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    if (pending_) return;  // a view waits: it goes first, and asks again when answered
    job.swap(pending_faithfulness_);
  }
  if (!job || !bench_->has_model() || !bench_->has_image(job->image_id)) return;
  const Busy busy(this);
  try {
    bool superseded = false;
    job->value = bench_->faithfulness(job->image_id, job->mask, job->map, {}, [&](int, int) {
      std::lock_guard<std::mutex> lock(pending_mutex_);
      superseded = pending_.has_value() || pending_faithfulness_.has_value();
      return !superseded;
    });
    Q_EMIT faithfulnessReady(*job);
  } catch (const std::exception& e) {
    // Stopped for a newer request, or a map with nothing to follow: the strip says it has no curves.
    std::lock_guard<std::mutex> lock(pending_mutex_);
    if (!pending_ && !pending_faithfulness_) Q_EMIT failed(QStringLiteral("faithfulness: ") + message_of(e));
  }
}

void InferenceWorker::requestCauses(quint64 image_id, const PatchMask& mask, const ExplainTarget& target) {
  const int ticket = ++causes_requested_;
  QMetaObject::invokeMethod(this, [this, image_id, mask, target, ticket] { runCauses(image_id, mask, target, ticket); },
                            Qt::QueuedConnection);
}

QString InferenceWorker::targetLabel(const ExplainTarget& target) const {
  const char* source = target.source == PredictionSource::Classifier ? "classifier" : target.source == PredictionSource::FewShot ? "few-shot" : "prototype";
  return QStringLiteral("%1 (%2)").arg(QString::fromStdString(bench_->predictor().label(target.source, target.index)), QString::fromLatin1(source));
}

void InferenceWorker::runCauses(quint64 id, const PatchMask& mask, const ExplainTarget& target, int ticket) {
  CausesResult result;
  result.image_id = id;
  result.mask = mask;
  runTicketed(std::move(result), causes_cancelled_, ticket, QStringLiteral("causes: "), &InferenceWorker::causesFinished,
              [&](CausesResult& r, const auto& next_step) {
                const int layers = bench_->model().layers, total = mask.any() ? 2 * layers : layers;
                const auto progress = [&](int offset) {
                  return [&, offset](int done, int) {
                    Q_EMIT causesProgress(offset + done, total);
                    return next_step();
                  };
                };
                r.heads = std::make_shared<const HeadAblation>(bench_->head_ablation(id, mask, target, progress(0)));
                r.target = targetLabel(r.heads->target);
                if (mask.any()) r.patching = std::make_shared<const Patching>(bench_->patching(id, mask, r.heads->target, progress(layers)));
              });
}

void InferenceWorker::knockout(quint64 id, const KnockoutRequest& request, const ExplainTarget& target) {
  if (!bench_->has_model() || !bench_->has_image(id)) return;
  const Busy busy(this);
  try {
    const ModelDescription& d = bench_->model();
    Q_EMIT knockoutReady({id, request, bench_->knockout(id, PatchMask(d.grid_rows, d.grid_cols), request, target)});
  } catch (const std::exception& e) {
    Q_EMIT failed(QStringLiteral("knockout: ") + message_of(e));
  }
}

void InferenceWorker::emitFewShot() {
  Q_EMIT fewShotReady(bench_->predictor(), QString::fromStdString(bench_->few_shot_source()));
}

void InferenceWorker::loadFewShot(const QString& path) {
  try {
    bench_->load_few_shot(path.toStdString());
    emitFewShot();
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::fitFewShot(const QStringList& classes, const QList<QList<quint64>>& examples) {
  if (!bench_->has_model()) return;
  const Busy busy(this);
  try {
    std::vector<std::string> names;
    for (const QString& n : classes) names.push_back(n.toStdString());
    std::vector<std::vector<ImageId>> ids;
    for (const QList<quint64>& list : examples) ids.emplace_back(list.begin(), list.end());
    bench_->fit_few_shot(names, ids);
    emitFewShot();
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::saveFewShot(const QString& path) {
  try {
    bench_->save_few_shot(path.toStdString());
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

}  // namespace msnlens
