#include "ui/view_controller.h"

#include <QTimer>

#include "ui/attention_panel.h"
#include "ui/causes_panel.h"
#include "ui/compare_panel.h"
#include "ui/faithfulness_strip.h"
#include "ui/heads_panel.h"
#include "ui/heatmap.h"
#include "ui/image_canvas.h"
#include "ui/image_list_model.h"
#include "ui/inference_worker.h"
#include "ui/lens_panel.h"
#include "ui/masking_panel.h"
#include "ui/panel_tabs.h"
#include "ui/predictions_panel.h"
#include "ui/sweep_panel.h"

namespace msnlens {

ViewController::ViewController(InferenceWorker* worker, const Widgets& widgets, QObject* parent)
    : QObject(parent), worker_(worker), w_(widgets), faithfulness_timer_(new QTimer(this)) {
  // Whatever changes what the view shows asks for it again.
  connect(w_.canvas, &ImageCanvas::maskEdited, this, &ViewController::editMask);
  connect(w_.canvas, &ImageCanvas::queryPatchPicked, this, &ViewController::refresh);
  connect(w_.predictions, &PredictionsPanel::sourceChanged, this, [this] {
    w_.images->updateCaptions(predictor_, w_.predictions->source());
    refresh();
  });
  connect(w_.tabs, &QTabWidget::currentChanged, this, &ViewController::refresh);  // what the new tab shows
  AttentionPanel* attention = w_.tabs->attention();
  connect(attention, &AttentionPanel::mapChanged, this, &ViewController::refresh);
  connect(attention, &AttentionPanel::clsQueryRequested, this, [this] {
    w_.canvas->setQueryPatch(-1);
    refresh();
  });
  connect(attention, &AttentionPanel::opacityChanged, w_.canvas, &ImageCanvas::setOverlayOpacity);
  connect(attention, &AttentionPanel::gridToggled, w_.canvas, &ImageCanvas::setShowGrid);
  // The comparison canvas edits the same mask and query.
  ImageCanvas* compare_canvas = w_.tabs->compare()->canvas();
  connect(compare_canvas, &ImageCanvas::maskEdited, this, &ViewController::editMask);
  connect(compare_canvas, &ImageCanvas::queryPatchPicked, this, [this](int patch) {
    w_.canvas->setQueryPatch(patch);
    refresh();
  });
  connect(w_.tabs->masking(), &MaskingPanel::actionRequested, this, &ViewController::maskAction);
  connect(w_.tabs->masking(), &MaskingPanel::modeChanged, this, [this] {
    if (const ImageState* s = current(); s && s->mask.any()) editMask(s->mask);
  });
  // Curves are measured once the view has been still this long: a user clicking through
  // patches never waits for them.
  faithfulness_timer_->setSingleShot(true);
  faithfulness_timer_->setInterval(250);
  connect(faithfulness_timer_, &QTimer::timeout, this, &ViewController::askFaithfulness);
  connect(w_.faithfulness, &FaithfulnessStrip::measuringToggled, this, &ViewController::refreshFaithfulness);
  CausesPanel* causes = w_.tabs->causes();
  connect(causes, &CausesPanel::runRequested, this, [this, causes] {
    const ImageState* s = current();
    if (!s || !s->baseline) return;
    causes->setRunning(true);
    worker_->requestCauses(current_id_, s->mask, {w_.predictions->source(), -1});
  });
  connect(causes, &CausesPanel::cancelRequested, worker_, &InferenceWorker::cancelCauses, Qt::DirectConnection);
  connect(causes, &CausesPanel::knockoutRequested, this, [this](KnockoutRequest request) {
    const ImageState* s = current();
    if (!s) return;
    for (int p = 0; p < s->mask.size(); ++p)
      if (s->mask.masked(p)) request.patches.push_back(p);
    QMetaObject::invokeMethod(worker_, [w = worker_, id = current_id_, request, target = ExplainTarget{w_.predictions->source(), -1}] {
      w->knockout(id, request, target);
    });
  });
}

void ViewController::setModel(const ModelInfo& info) {
  info_ = info;
  predictor_ = info.predictor;  // the worker sends the classes loaded with it next
  few_shot_source_.clear();
  sent_.reset();
  w_.predictions->forgetChoice();
  w_.predictions->setSources(predictor_, few_shot_source_);
  w_.tabs->attention()->setTargets(predictor_);
  w_.tabs->attention()->setModel(info.layers, info.heads, info.grid_cols);
  w_.tabs->masking()->setMaskTokenAvailable(info.has_mask_token);
  w_.tabs->sweep()->setResult({});
  w_.tabs->causes()->setModel(info.layers);
  faithfulness_.reset();
  w_.images->resetResults(info.grid_rows, info.grid_cols);
  if (const ImageState* s = current()) {
    w_.canvas->setMask(s->mask);
    Q_EMIT baselineRequested(current_id_);
  }
  for (const ImageState& image : w_.images->images())
    if (image.id != current_id_) Q_EMIT baselineRequested(image.id);
}

void ViewController::setClasses(const Predictor& predictor, const QString& source) {
  predictor_ = predictor;
  few_shot_source_ = source;
  w_.predictions->setSources(predictor_, few_shot_source_);
  w_.tabs->attention()->setTargets(predictor_);
  w_.images->updateCaptions(predictor_, w_.predictions->source());
  refresh();
}

void ViewController::select(quint64 id) {
  const ImageState* s = w_.images->find(id);
  if (!s) return;
  current_id_ = id;
  w_.canvas->setImage(s->image);
  w_.canvas->setMask(s->mask);
  w_.canvas->setQueryPatch(-1);
  if (w_.tabs->sweep()->running()) worker_->cancelSweep();  // its curves would be of the other image
  w_.tabs->sweep()->setResult({});
  if (w_.tabs->causes()->running()) worker_->cancelCauses();
  w_.tabs->causes()->setResult({}, {}, w_.tabs->attention()->colormap());
  refresh();
}

void ViewController::acceptSweep(const SweepResult& result) {
  w_.tabs->sweep()->setRunning(false);
  // A sweep can finish after the user moved to another image (a batch was under way when the
  // cancel came): its curves are not this image's.
  if (result.image_id == current_id_) w_.tabs->sweep()->setResult(result);
}

void ViewController::forgetDrawn() {
  sent_.reset();
  drawn_ = {};
}

ImageState* ViewController::current() { return w_.images->find(current_id_); }
const ImageState* ViewController::current() const { return w_.images->find(current_id_); }

MapSpec ViewController::mapSpec() const {
  return w_.tabs->attention()->mapSpec(w_.canvas->queryPatch(), w_.predictions->source());
}

std::optional<ViewRequest> ViewController::desiredView() const {
  const ImageState* s = current();
  if (!s || s->image.isNull() || info_.path.isEmpty()) return std::nullopt;
  ViewRequest r;
  r.image_id = current_id_;
  r.mask = s->mask;
  r.mode = w_.tabs->masking()->mode();
  r.show_masked = w_.tabs->attention()->showMasked();
  r.maps = w_.tabs->mapsWanted(mapSpec());
  r.ranking = w_.predictions->source();
  return r;
}

bool ViewController::answered(const ImageState& s) const {
  const std::optional<ViewRequest> want = desiredView();
  return want && s.view && answers(*s.view, *want) && (!w_.tabs->compare()->hasModel() || s.view->compare);
}

void ViewController::refresh() {
  const ImageState* s = current();
  const MapSpec spec = mapSpec();
  const Colormap colormap = w_.tabs->attention()->colormap();
  const ShownViewPtr view = s ? s->view : nullptr;
  w_.tabs->attention()->showSpec(spec, view ? QString::fromStdString(view->target_label) : QString());
  if (s) askUnlessAnswered(*s);
  // Redrawn only when the view or how it is drawn changed: a click asks for a new answer first,
  // and repainting the old one meanwhile would take a core from the forward pass.
  const auto drawn = std::make_tuple(view, spec, colormap, s ? s->image.cacheKey() : 0);
  if (drawn != drawn_) {
    drawn_ = drawn;
    const int rows = info_.grid_rows, cols = info_.grid_cols;
    // The latest view of this image, until the one asked for arrives.
    w_.canvas->setOverlay(view && view->maps ? heatmap_image(view->display.values, cols, rows, colormap, view->display.channels) : QImage());
    w_.tabs->attention()->showMaps(view ? s->image : QImage(), view, spec, rows, cols);
    w_.tabs->heads()->showMaps(view ? view->maps : nullptr, spec, colormap, rows, cols);
    w_.tabs->compare()->showResult(s ? s->image : QImage(), view ? view->compare.get() : nullptr, s ? s->mask : PatchMask(),
                                   w_.canvas->queryPatch(), colormap, w_.tabs->attention()->opacity(), w_.tabs->attention()->showGrid());
  }
  const ViewSummary* unmasked = s ? s->baseline.get() : nullptr;
  w_.predictions->showScores(predictor_, unmasked, s && s->mask.any() ? s->masked.get() : nullptr,
                             !info_.path.isEmpty() && !info_.has_classifier);
  w_.tabs->sweep()->setAvailable(unmasked != nullptr);
  w_.tabs->causes()->setAvailable(unmasked != nullptr && predictor_.preferred() != PredictionSource::None);
  w_.tabs->lens()->showLens(view ? view->maps.get() : nullptr, predictor_, w_.predictions->source(), w_.predictions->sourceText());
  refreshResponse();
  refreshFaithfulness();
  if (s && click_pending_ && answered(*s)) finishClickMeasure();
  Q_EMIT viewUpdated();
}

void ViewController::refreshResponse() {
  const ImageState* s = current();
  const ShownView* v = s ? s->view.get() : nullptr;
  const bool responds = s && v && v->response && v->masked && v->request.mask == s->mask &&
                        v->request.mode == w_.tabs->masking()->mode() && v->request.ranking == w_.predictions->source();
  if (!responds) {
    w_.tabs->masking()->showPending(s && s->mask.any());
    return;
  }
  w_.tabs->masking()->showResponse(*v->masked, *v->response, v->request.ranking);
}

void ViewController::editMask(const PatchMask& mask) {
  ImageState* s = current();
  if (!s || info_.path.isEmpty() || mask.size() != info_.grid_rows * info_.grid_cols) return;
  s->mask = mask;
  w_.canvas->setMask(mask);
  click_timer_.start();
  click_pending_ = true;
  if (!mask.any()) {  // the unmasked result is at hand
    s->masked.reset();
    refresh();
    return;
  }
  // The previous masked result shows until the new one arrives; nothing else is redrawn
  // meanwhile, so the UI thread leaves both cores to the forward pass.
  askUnlessAnswered(*s);
  refreshResponse();
}

void ViewController::askUnlessAnswered(const ImageState& s) {
  if (answered(s)) return;
  if (const std::optional<ViewRequest> want = desiredView(); want && want != sent_) {
    sent_ = want;
    worker_->requestView(*want);  // answered through accept(), which refreshes again
  }
}

std::optional<FaithfulnessResult> ViewController::faithfulnessWanted() const {
  const ImageState* s = current();
  if (!s || !w_.faithfulness->measuring() || info_.path.isEmpty() || predictor_.preferred() == PredictionSource::None) return std::nullopt;
  const MapSpec spec = mapSpec();
  if (map_channels(spec.source) != 1 || w_.tabs->masking()->mode() != MaskMode::DropTokens) return std::nullopt;
  return FaithfulnessResult{current_id_, s->mask, spec, {}};
}

void ViewController::refreshFaithfulness() {
  const std::optional<FaithfulnessResult> want = faithfulnessWanted();
  const bool shown = want && faithfulness_ && faithfulness_->of(want->image_id, want->mask, want->map);
  if (shown) {
    w_.faithfulness->showResult(faithfulness_);
    return;
  }
  const ImageState* s = current();
  if (!w_.faithfulness->measuring()) return;
  if (!want) {
    w_.faithfulness->showPending(predictor_.preferred() == PredictionSource::None
                                     ? tr("Not measured: this model ranks nothing (no classifier, few-shot classes or prototypes)")
                                     : tr("Not measured for this map and mask: the curves rank patches by one value per patch "
                                          "and drop them as MSN does (mask mode: drop tokens)"));
    return;
  }
  w_.faithfulness->showPending(tr("measuring…"));
  if (s && answered(*s)) faithfulness_timer_->start();
}

void ViewController::askFaithfulness() {
  const ImageState* s = current();
  const std::optional<FaithfulnessResult> want = faithfulnessWanted();
  if (!want || !s || !answered(*s)) return;
  if (faithfulness_sent_ && faithfulness_sent_->of(want->image_id, want->mask, want->map)) return;  // on its way
  faithfulness_sent_ = want;
  worker_->requestFaithfulness(want->image_id, want->mask, want->map);
}

void ViewController::acceptFaithfulness(const FaithfulnessResult& result) {
  faithfulness_ = std::make_shared<const FaithfulnessResult>(result);
  refreshFaithfulness();
  Q_EMIT viewUpdated();
}

QString ViewController::faithfulnessCaption() const {
  const ShownView* v = drawn().get();
  if (!faithfulness_ || !v || !faithfulness_->of(v->request.image_id, v->request.mask, v->request.maps.map)) return {};
  return w_.faithfulness->caption();
}

void ViewController::acceptCauses(const CausesResult& result) {
  w_.tabs->causes()->setRunning(false);
  const ImageState* s = current();
  if (s && result.image_id == current_id_ && !result.cancelled) w_.tabs->causes()->setResult(result, s->image, w_.tabs->attention()->colormap());
  Q_EMIT viewUpdated();
}

void ViewController::acceptKnockout(const KnockoutResult& result) {
  if (result.image_id == current_id_) w_.tabs->causes()->setKnockout(result);
  Q_EMIT viewUpdated();
}

void ViewController::maskAction(MaskAction action) {
  const ImageState* s = current();
  if (!s) return;
  const MaskingPanel* panel = w_.tabs->masking();
  const int rows = s->mask.rows(), cols = s->mask.cols();
  switch (action) {
    case MaskAction::Random: editMask(PatchMask::random(rows, cols, panel->ratio(), panel->seed())); break;
    case MaskAction::Focal: editMask(PatchMask::focal(rows, cols, panel->ratio(), panel->seed())); break;
    case MaskAction::Invert: {
      PatchMask inverted = s->mask;
      inverted.invert();
      editMask(inverted);
      break;
    }
    case MaskAction::Clear: editMask(PatchMask(rows, cols)); break;
    case MaskAction::MostAttended:
    case MaskAction::LeastAttended:  // the worker answers with maskSuggested
      if (!info_.path.isEmpty()) Q_EMIT maskByMapRequested(current_id_, mapSpec(), panel->ratio(), action == MaskAction::MostAttended);
      break;
  }
}

bool ViewController::acceptBaseline(const ViewSummaryPtr& summary) {
  ImageState* image = w_.images->find(summary->image_id);
  if (!image || image->baseline == summary) return false;
  image->baseline = summary;
  w_.images->updateCaptions(predictor_, w_.predictions->source());
  if (summary->image_id == current_id_) refresh();
  return true;
}

void ViewController::accept(const ShownViewPtr& view) {
  ImageState* state = w_.images->find(view->request.image_id);
  if (!state || !view->unmasked) return;
  const bool new_baseline = state->baseline != view->unmasked;
  state->baseline = view->unmasked;
  if (view->masked && view->masked->mask == state->mask) state->masked = view->masked;  // else superseded by a newer edit
  state->view = view;
  if (new_baseline) w_.images->updateCaptions(predictor_, w_.predictions->source());
  if (view->request.image_id != current_id_) return;
  latency_text_ = view->masked ? tr("masked %1 ms").arg(view->latency_ms, 0, 'f', 0)
                               : tr("unmasked %1 ms").arg(view->unmasked->latency_ms, 0, 'f', 0);
  Q_EMIT latencyChanged(latency_text_);
  if (click_pending_ && answered(*state)) result_latencies_.push_back(view->latency_ms);
  refresh();
}

void ViewController::finishClickMeasure() {
  w_.canvas->repaint();  // the measure ends when the new overlay is on screen
  click_latencies_.push_back(static_cast<double>(click_timer_.nsecsElapsed()) / 1e6);
  click_pending_ = false;
  Q_EMIT latencyChanged(latency_text_ + tr(" · click to repaint %1 ms").arg(click_latencies_.back(), 0, 'f', 0));
}

}  // namespace msnlens
