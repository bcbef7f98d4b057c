#pragma once
// The engine behind the window. Lives in its own QThread (moved there by MainWindow): loads
// models, decodes images, runs the unmasked baseline once per image and masked views on
// demand, and sweeps. Results leave as plain structs (view_types.h) through queued signals.
//
// Masked requests are coalesced: while one runs, only the newest waiting request is kept,
// so dragging across patches never builds a queue. Sweeps check for such requests between
// batches and serve them first, and stop when cancelled.

#include <QObject>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "imaging/rgb_image.h"
#include "ui/view_types.h"

namespace msnlens {

class InferenceSession;
struct FewShotClassifier;
struct ModelOutput;

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  InferenceWorker();
  ~InferenceWorker() override;

  // Thread-safe, callable from the UI thread.
  void requestMasked(quint64 image_id, const PatchMask& mask, MaskMode mode);
  void cancelSweep() { cancel_sweep_ = true; }

 public Q_SLOTS:
  // device: auto | cpu | cuda; precision: auto | fp32 | bf16 | fp16. `demo` marks bundled test
  // checkpoints so the window can say so.
  void loadModel(const QString& path, const QString& device, const QString& precision, bool demo);
  void addImageFile(quint64 id, const QString& path);
  void addImageData(quint64 id, const QByteArray& encoded, const QString& name);
  void addImage(quint64 id, const QImage& image, const QString& name);
  void removeImage(quint64 id);
  // Computes (or re-sends) the unmasked result of an image.
  void requestBaseline(quint64 id);
  void runSweep(quint64 id, const msnlens::SweepRequest& request);
  // Few-shot classes: read from a .fewshot file, or fitted on the CLS embeddings of example
  // images this worker holds (examples[c] are the ids of class c's images).
  void loadFewShot(const QString& path);
  void fitFewShot(const QStringList& classes, const QList<QList<quint64>>& examples);
  void saveFewShot(const QString& path);

 Q_SIGNALS:
  void modelLoaded(const msnlens::ModelInfo& info);
  void modelFailed(const QString& message);
  void imageDecoded(quint64 id, const QImage& image, const QString& name);
  void imageFailed(quint64 id, const QString& message);
  void baselineReady(const msnlens::ForwardResultPtr& result);
  void maskedReady(const msnlens::ForwardResultPtr& result);
  void sweepProgress(int done, int total);
  void sweepFinished(const msnlens::SweepResult& result);
  void fewShotReady(const msnlens::LinearHead& head, const QString& source);
  void failed(const QString& message);
  void busyChanged(bool busy);

 private:
  struct Image;
  struct MaskedRequest {
    quint64 image_id;
    PatchMask mask;
    MaskMode mode;
    std::chrono::steady_clock::time_point asked;
  };

  void processPending();
  void runMasked(const MaskedRequest& request);
  void storeImage(quint64 id, RgbImage rgb, const QString& name);
  ForwardResultPtr convert(const ModelOutput& out, quint64 image_id, const std::vector<int>& token_patch) const;
  const ForwardResultPtr& baseline(quint64 id);  // computed on first use; null when it cannot be

  std::unique_ptr<InferenceSession> session_;
  std::unique_ptr<FewShotClassifier> few_shot_;
  ModelInfo info_;
  std::map<quint64, std::unique_ptr<Image>> images_;
  std::mutex pending_mutex_;
  std::optional<MaskedRequest> pending_;
  bool scheduled_ = false;
  std::atomic<bool> cancel_sweep_{false};
};

}  // namespace msnlens
