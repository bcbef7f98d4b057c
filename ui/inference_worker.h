#pragma once
// The engine's thread. MainWindow moves this worker to a QThread and sends it requests through
// queued signals; the worker owns the Workbench (core/engine/workbench.h), decodes images, and
// answers with plain results through queued signals. It computes nothing itself.
//
// View requests are coalesced: while one runs, only the newest waiting request is kept, so
// dragging across patches never builds a queue. Sweeps serve such requests between their
// batches, and stop when cancelled, even when cancelled before they started.

#include <QObject>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "msnlens.h"
#include "ui/view_types.h"

namespace msnlens {

class Workbench;

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  InferenceWorker();
  ~InferenceWorker() override;

  // Called directly from the UI thread (thread-safe), not queued: they must reach the worker
  // while a sweep occupies its thread, which serves view requests between its batches.
  void requestView(const ViewRequest& request);
  void requestSweep(quint64 image_id, const SweepRequest& request, const MapSpec& guide);
  void cancelSweep() { sweeps_cancelled_ = sweeps_requested_.load(); }
  // A map's faithfulness curves, measured when no view is waiting; a newer view or
  // faithfulness request stops it (only the newest is kept, as for views).
  void requestFaithfulness(quint64 image_id, const PatchMask& mask, const MapSpec& map);
  // Head ablation and, with something masked, activation patching of that view, for `target`
  // (index -1: the top prediction); served between layers like sweeps, and cancellable.
  void requestCauses(quint64 image_id, const PatchMask& mask, const ExplainTarget& target);
  void cancelCauses() { causes_cancelled_ = causes_requested_.load(); }

 public Q_SLOTS:
  // device: auto | cpu | cuda; precision: auto | fp32 | bf16 | fp16. `demo` marks bundled test
  // checkpoints so the window can say so.
  void loadModel(const QString& path, const QString& device, const QString& precision, bool demo);
  // A second model beside the first (an empty path closes it): every view request then also
  // runs on it, in ShownView::compare.
  void loadCompareModel(const QString& path, const QString& device, const QString& precision);
  // The fused oneDNN encoder (true, the default) or the LibTorch layers for models loaded
  // from now on, on the CPU.
  void setFusedCpu(bool fused) { fused_cpu_ = fused; }
  void addImageFile(quint64 id, const QString& path);
  void addImageData(quint64 id, const QByteArray& encoded, const QString& name);
  void addImage(quint64 id, const QImage& image, const QString& name);
  // The unmasked view of an image (thumbnail captions, few-shot examples).
  void requestBaseline(quint64 id);
  // Masks `ratio` of the patches the unmasked view's `map` weighs most (or least).
  void maskByMap(quint64 id, const msnlens::MapSpec& map, double ratio, bool most);
  // The patches of `request` hidden from attention in the unmasked view.
  void knockout(quint64 id, const msnlens::KnockoutRequest& request, const msnlens::ExplainTarget& target);
  // Few-shot classes: read from a .fewshot file, or fitted on the CLS embeddings of example
  // images this worker holds (examples[c] are the ids of class c's images).
  void loadFewShot(const QString& path);
  void fitFewShot(const QStringList& classes, const QList<QList<quint64>>& examples);
  void saveFewShot(const QString& path);

 Q_SIGNALS:
  void modelLoaded(const msnlens::ModelInfo& info);
  void modelFailed(const QString& message);
  // The comparison model and the few-shot classes shipped with it (info.path empty: closed).
  void compareLoaded(const msnlens::ModelInfo& info);
  void compareFailed(const QString& message);
  void imageDecoded(quint64 id, const QImage& image, const QString& name);
  void imageFailed(quint64 id, const QString& message);
  void baselineReady(const msnlens::ViewSummaryPtr& summary);
  void viewReady(const msnlens::ShownViewPtr& view);
  void maskSuggested(quint64 id, const msnlens::PatchMask& mask);
  void sweepProgress(int done, int total);
  // A long map (occlusion) under way; a newer view request stops it.
  void mapProgress(int done, int total);
  void sweepFinished(const msnlens::SweepResult& result);
  void faithfulnessReady(const msnlens::FaithfulnessResult& result);
  void causesProgress(int done, int total);
  void causesFinished(const msnlens::CausesResult& result);
  void knockoutReady(const msnlens::KnockoutResult& result);
  // The classes now ranked (in predictor.few_shot()), from `source` (a file, or N examples).
  void fewShotReady(const msnlens::Predictor& predictor, const QString& source);
  void failed(const QString& message);
  void busyChanged(bool busy);

 private:
  struct Pending {
    ViewRequest request;
    std::chrono::steady_clock::time_point asked;
  };

  void processPending();
  void runView(const Pending& pending);
  // A cancellable job numbered `ticket`: `work(result, next_step)` fills result, calling next_step()
  // between steps (false: stop); `finished` is emitted once, also when skipped or cancelled.
  template <class Result, class Work>
  void runTicketed(Result result, const std::atomic<int>& cancelled_upto, int ticket, const QString& what,
                   void (InferenceWorker::*finished)(const Result&), Work work);
  void runSweep(quint64 id, const SweepRequest& request, const MapSpec& guide, int ticket);
  void runFaithfulness();
  void runCauses(quint64 id, const PatchMask& mask, const ExplainTarget& target, int ticket);
  QString targetLabel(const ExplainTarget& target) const;
  void storeImage(quint64 id, RgbImage rgb, const QString& name);
  void emitFewShot();

  std::unique_ptr<Workbench> bench_, compare_;
  bool fused_cpu_ = true;
  std::map<quint64, RgbImage> images_;  // for a comparison model loaded later
  QString model_path_;
  std::mutex pending_mutex_;
  std::optional<Pending> pending_;
  bool scheduled_ = false;
  std::atomic<int> sweeps_requested_{0}, sweeps_cancelled_{0};
  std::optional<FaithfulnessResult> pending_faithfulness_;  // under pending_mutex_
  std::atomic<int> causes_requested_{0}, causes_cancelled_{0};
};

}  // namespace msnlens
