#include "ui/inference_worker.h"

#include <QFileInfo>
#include <c10/util/Exception.h>

#include <cmath>

#include "common/error.h"
#include "engine/few_shot.h"
#include "engine/inference_session.h"
#include "engine/mask_sweep.h"
#include "imaging/image_file.h"
#include "imaging/image_header.h"
#include "imaging/patch_fill.h"

namespace msnlens {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Displayed images are capped in size; the model only ever sees its own resized input.
constexpr int kMaxDisplaySide = 4096;

QImage to_qimage(const RgbImage& rgb) {
  QImage image(rgb.width, rgb.height, QImage::Format_RGB888);
  for (int y = 0; y < rgb.height; ++y) std::memcpy(image.scanLine(y), rgb.row(y), static_cast<std::size_t>(rgb.width) * 3);
  if (std::max(rgb.width, rgb.height) > kMaxDisplaySide)
    image = image.scaled(kMaxDisplaySide, kMaxDisplaySide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  return image;
}

// One line for the UI from whatever the engine threw.
QString message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    const std::string what = c10->what_without_backtrace();
    return QString::fromStdString(what.substr(0, what.find('\n')));
  }
  return QString::fromStdString(e.what());
}

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::vector<int> all_patches(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

// Guards busyChanged around a piece of work.
class Busy {
 public:
  explicit Busy(InferenceWorker* w) : w_(w) { Q_EMIT w_->busyChanged(true); }
  ~Busy() { Q_EMIT w_->busyChanged(false); }

 private:
  InferenceWorker* w_;
};

}  // namespace

QString mask_mode_name(MaskMode mode) {
  switch (mode) {
    case MaskMode::DropTokens: return QStringLiteral("drop tokens (MSN)");
    case MaskMode::MaskToken: return QStringLiteral("mask token");
    case MaskMode::FillGray: return QStringLiteral("pixel fill: gray");
    case MaskMode::FillBlur: return QStringLiteral("pixel fill: blur");
  }
  return {};
}

struct InferenceWorker::Image {
  QString name;
  RgbImage original;
  RgbImage resized;        // the model's input grid (before normalisation)
  at::Tensor pixels;       // normalised [1, 3, H, W]
  ForwardResultPtr baseline;
};

InferenceWorker::InferenceWorker() = default;
InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::loadModel(const QString& path, const QString& device, const QString& precision, bool demo) {
  const Busy busy(this);
  const auto start = Clock::now();
  try {
    SessionOptions options;
    options.device = device.toStdString();
    options.precision = parse_precision_option(precision.toStdString());
    auto session = std::make_unique<InferenceSession>(load_model(path.toStdString()), options);
    const ViTMSNModel& model = session->model();
    const ViTMSNConfig& c = model.config();
    ModelInfo info;
    info.path = path;
    info.title = QFileInfo(path).fileName() + (demo ? QStringLiteral(" (test checkpoint)") : QString());
    info.format = QString::fromStdString(session->loaded().summary.format);
    info.architecture = QStringLiteral("ViT %1 layers × %2 heads, hidden %3, patch %4, %5 px")
                            .arg(c.num_hidden_layers).arg(c.num_attention_heads).arg(c.hidden_size)
                            .arg(c.patch_size).arg(c.image_size);
    info.device = QString::fromStdString(session->device_name());
    info.precision = to_string(session->precision());
    info.summary_json = QString::fromStdString(session->loaded().summary_json().dump(2));
    info.layers = static_cast<int>(c.num_hidden_layers);
    info.heads = static_cast<int>(c.num_attention_heads);
    info.grid_rows = info.grid_cols = static_cast<int>(c.grid_size());
    info.image_size = static_cast<int>(c.image_size);
    info.has_classifier = model.has_classifier();
    info.has_prototypes = model.has_prototypes();
    info.has_mask_token = model.has_mask_token();
    info.num_prototypes = static_cast<int>(model.num_prototypes());
    for (std::int64_t i = 0; i < model.num_labels(); ++i) info.labels << QString::fromStdString(c.label(i));
    // Resize every image for the new model before the old one goes; a failure above leaves
    // the previous model and its results untouched.
    for (auto& [id, image] : images_) {
      image->resized = resize_for_model(image->original, session->preprocessor());
      image->pixels = to_pixel_values(image->resized, session->preprocessor());
      image->baseline.reset();
    }
    session_ = std::move(session);
    info.load_ms = ms_since(start);
    info_ = info;
    Q_EMIT modelLoaded(info);
    const QString classes = QString::fromStdString(shipped_few_shot_path(path.toStdString()).string());
    few_shot_.reset();
    if (QFileInfo::exists(classes)) loadFewShot(classes);
    else Q_EMIT fewShotReady({}, {});
  } catch (const std::exception& e) {
    Q_EMIT modelFailed(message_of(e));
  }
}

void InferenceWorker::storeImage(quint64 id, RgbImage rgb, const QString& name) {
  auto image = std::make_unique<Image>();
  image->name = name;
  image->original = std::move(rgb);
  if (session_) {
    image->resized = resize_for_model(image->original, session_->preprocessor());
    image->pixels = to_pixel_values(image->resized, session_->preprocessor());
  }
  Q_EMIT imageDecoded(id, to_qimage(image->original), name);
  images_[id] = std::move(image);
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

void InferenceWorker::removeImage(quint64 id) { images_.erase(id); }

ForwardResultPtr InferenceWorker::convert(const ModelOutput& out, quint64 image_id, const std::vector<int>& token_patch) const {
  auto r = std::make_shared<ForwardResult>();
  r->image_id = image_id;
  AttentionStack& a = r->attention;
  a.layers = static_cast<int>(out.attentions.size());
  if (a.layers > 0) {
    a.heads = static_cast<int>(out.attentions[0].size(1));
    a.tokens = static_cast<int>(out.attentions[0].size(2));
    // No copies: each layer's block is the engine's own [1, heads, T, T] output, kept alive
    // by the pointer's deleter (10 MB per ViT-S result would otherwise be copied per click).
    for (const at::Tensor& layer : out.attentions) {
      const at::Tensor t = layer.to(at::kCPU, at::kFloat).contiguous();
      a.layer_data.emplace_back(t.data_ptr<float>(), [t](const float*) {});
    }
  }
  a.token_patch = token_patch;
  // Row `row` of CLS embeddings and of the heads' outputs on them.
  const auto read_out = [](Readout& into, const at::Tensor& cls, const HeadOutputs& h, std::int64_t row) {
    into.cls = to_vector(cls[row]);
    if (h.logits.defined()) into.class_probs = to_vector(at::softmax(h.logits[row].to(at::kDouble), -1));
    if (h.prototype_probs.defined()) into.prototype_probs = to_vector(h.prototype_probs[row]);
  };
  read_out(*r, out.cls_embedding(), {out.logits, out.projection, out.prototype_probs}, 0);
  // The depth lens: every layer's CLS token through the final LayerNorm and the heads, all
  // layers as one batch (eval-mode heads treat rows independently).
  if (out.hidden_states.size() > 1) {
    std::vector<at::Tensor> layers;
    for (std::size_t l = 1; l < out.hidden_states.size(); ++l) layers.push_back(out.hidden_states[l].select(1, 0));
    const ViTMSNModel& model = session_->model();
    const at::Tensor cls = model.final_norm(at::cat(layers));  // [layers, D]: the image is batch 1
    const HeadOutputs h = model.heads(cls);
    for (std::int64_t l = 0; l < cls.size(0); ++l) read_out(r->lens.emplace_back(), cls, h, l);
  }
  return r;
}

const ForwardResultPtr& InferenceWorker::baseline(quint64 id) {
  static const ForwardResultPtr none;
  const auto it = images_.find(id);
  if (!session_ || it == images_.end()) return none;
  Image& image = *it->second;
  if (!image.baseline) {
    const Busy busy(this);
    const auto start = Clock::now();
    try {
      ForwardOptions options;
      options.output_hidden_states = true;  // for the depth lens
      const ModelOutput out = session_->run(image.pixels, options);
      auto r = std::const_pointer_cast<ForwardResult>(convert(out, id, all_patches(info_.grid_rows * info_.grid_cols)));
      r->latency_ms = ms_since(start);
      image.baseline = r;
    } catch (const std::exception& e) {
      Q_EMIT failed(image.name + QStringLiteral(": ") + message_of(e));
    }
  }
  return image.baseline;
}

void InferenceWorker::requestBaseline(quint64 id) {
  if (const ForwardResultPtr& r = baseline(id)) Q_EMIT baselineReady(r);
}

void InferenceWorker::loadFewShot(const QString& path) {
  try {
    few_shot_ = std::make_unique<FewShotClassifier>(
        session_ ? FewShotClassifier::load_for(path.toStdString(), session_->model().config().hidden_size)
                 : FewShotClassifier::load(path.toStdString()));
    Q_EMIT fewShotReady(few_shot_->linear_head(), QFileInfo(path).fileName());
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::fitFewShot(const QStringList& classes, const QList<QList<quint64>>& examples) {
  std::vector<at::Tensor> features;
  std::vector<std::int64_t> labels;
  for (int c = 0; c < examples.size(); ++c)
    for (const quint64 id : examples[c])
      if (const ForwardResultPtr& r = baseline(id)) {
        features.push_back(at::tensor(r->cls).unsqueeze(0));
        labels.push_back(c);
      }
  if (features.empty()) {
    few_shot_.reset();
    Q_EMIT fewShotReady({}, {});
    return;
  }
  std::vector<std::string> names;
  for (const QString& n : classes) names.push_back(n.toStdString());
  const Busy busy(this);
  few_shot_ = std::make_unique<FewShotClassifier>(FewShotClassifier::fit(at::cat(features), at::tensor(labels, at::kLong), names));
  Q_EMIT fewShotReady(few_shot_->linear_head(), tr("%n example(s)", nullptr, static_cast<int>(labels.size())));
}

void InferenceWorker::saveFewShot(const QString& path) {
  try {
    if (!few_shot_) fail(path.toStdString(), "no few-shot classes to save");
    few_shot_->save(path.toStdString());
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::requestMasked(quint64 image_id, const PatchMask& mask, MaskMode mode) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  pending_ = MaskedRequest{image_id, mask, mode, Clock::now()};
  if (!scheduled_) {
    scheduled_ = true;
    QMetaObject::invokeMethod(this, [this] { processPending(); }, Qt::QueuedConnection);
  }
}

void InferenceWorker::processPending() {
  std::optional<MaskedRequest> request;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    request.swap(pending_);
    scheduled_ = false;
  }
  if (request) runMasked(*request);
}

void InferenceWorker::runMasked(const MaskedRequest& request) {
  const auto it = images_.find(request.image_id);
  if (!session_ || it == images_.end()) return;
  const Image& image = *it->second;
  const Busy busy(this);
  try {
    ForwardOptions options;
    options.output_hidden_states = true;  // for the depth lens
    at::Tensor pixels = image.pixels;
    std::vector<int> token_patch = all_patches(request.mask.size());
    switch (request.mode) {
      case MaskMode::DropTokens: {
        const std::vector<std::int64_t> kept = request.mask.kept();
        options.keep_patches = at::tensor(kept, at::kLong).view({1, static_cast<std::int64_t>(kept.size())});
        token_patch.assign(kept.begin(), kept.end());
        break;
      }
      case MaskMode::MaskToken:
        options.bool_masked_pos = at::tensor(std::vector<std::int64_t>(request.mask.flags().begin(), request.mask.flags().end()))
                                      .to(at::kBool).view({1, -1});
        break;
      case MaskMode::FillGray:
      case MaskMode::FillBlur:
        pixels = to_pixel_values(fill_patches(image.resized, request.mask,
                                              request.mode == MaskMode::FillGray ? PixelFill::Gray : PixelFill::Blur),
                                 session_->preprocessor());
        break;
    }
    const ModelOutput out = session_->run(pixels, options);
    auto r = std::const_pointer_cast<ForwardResult>(convert(out, request.image_id, token_patch));
    r->masked = true;
    r->mode = request.mode;
    r->mask = request.mask;
    r->latency_ms = ms_since(request.asked);
    Q_EMIT maskedReady(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void InferenceWorker::runSweep(quint64 id, const SweepRequest& request) {
  const auto it = images_.find(id);
  if (!session_ || it == images_.end()) return;
  const Busy busy(this);
  cancel_sweep_ = false;
  const auto start = Clock::now();
  SweepResult result;
  result.image_id = id;
  try {
    const at::Tensor pixels = it->second->pixels;
    result.points = run_mask_sweep(*session_, pixels, request, [this](int done, int total) {
      Q_EMIT sweepProgress(done, total);
      processPending();  // an interactive request waiting? serve it between batches
      return !cancel_sweep_.load();
    });
    result.cancelled = cancel_sweep_.load();
  } catch (const std::exception& e) {
    Q_EMIT failed(QStringLiteral("sweep: ") + message_of(e));
    result.cancelled = true;
  }
  result.seconds = ms_since(start) / 1000.0;
  Q_EMIT sweepFinished(result);
}

}  // namespace msnlens
