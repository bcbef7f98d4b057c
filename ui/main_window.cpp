#include "ui/main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QTabBar>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

#include "analysis/attention_maps.h"
#include "common/error.h"
#include "common/npy_file.h"
#include "ui/attention_panel.h"
#include "ui/busy_indicator.h"
#include "ui/classes_panel.h"
#include "ui/compare_panel.h"
#include "ui/dropped_data.h"
#include "ui/error_banner.h"
#include "ui/heads_panel.h"
#include "ui/heatmap.h"
#include "ui/image_canvas.h"
#include "ui/image_list_model.h"
#include "ui/image_strip.h"
#include "ui/inference_worker.h"
#include "ui/lens_panel.h"
#include "ui/masking_panel.h"
#include "ui/model_box.h"
#include "ui/panel_tabs.h"
#include "ui/predictions_panel.h"
#include "ui/recent_menu.h"
#include "ui/sweep_panel.h"

namespace msnlens {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MSN Lens"));
  setAcceptDrops(true);
  buildUi();
  buildMenus();
  restoreSettings();
  connectWorker();
  thread_.setObjectName("inference");
  thread_.start();
}

MainWindow::~MainWindow() {
  worker_->cancelSweep();
  thread_.quit();
  thread_.wait();
}

void MainWindow::buildUi() {
  canvas_ = new ImageCanvas;
  canvas_->setObjectName("imageCanvas");
  connect(canvas_, &ImageCanvas::maskEdited, this, &MainWindow::applyMask);
  connect(canvas_, &ImageCanvas::queryPatchPicked, this, [this] { refreshView(); });

  error_ = new ErrorBanner;
  error_->setObjectName("errorBanner");

  images_ = new ImageListModel(this);
  strip_ = new ImageStrip(images_);
  strip_->setObjectName("imageStrip");
  connect(strip_, &ImageStrip::imageSelected, this, &MainWindow::selectImage);

  auto* left = new QWidget;
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  left_layout->addWidget(error_);
  left_layout->addWidget(canvas_, 1);
  left_layout->addWidget(strip_);

  // Right: model, predictions, tabs.
  model_ = new ModelBox;
  model_->setObjectName("modelBox");

  predictions_ = new PredictionsPanel;
  predictions_->setObjectName("predictionsPanel");
  connect(predictions_, &PredictionsPanel::sourceChanged, this, [this] {
    images_->updateCaptions(predictor_, predictions_->source());
    refreshView();
  });

  tabs_ = new PanelTabs;
  tabs_->setObjectName("tabs");
  connect(tabs_, &QTabWidget::currentChanged, this, [this] { refreshView(); });  // what the new tab shows
  AttentionPanel* attention = tabs_->attention();
  connect(attention, &AttentionPanel::mapChanged, this, &MainWindow::refreshView);
  connect(attention, &AttentionPanel::clsQueryRequested, this, &MainWindow::useClsQuery);
  connect(attention, &AttentionPanel::opacityChanged, canvas_, &ImageCanvas::setOverlayOpacity);
  connect(attention, &AttentionPanel::gridToggled, canvas_, &ImageCanvas::setShowGrid);
  connect(tabs_->heads(), &HeadsPanel::headPicked, attention, &AttentionPanel::selectHead);
  // The comparison canvas edits the same mask and query.
  ImageCanvas* compare_canvas = tabs_->compare()->canvas();
  connect(compare_canvas, &ImageCanvas::maskEdited, this, &MainWindow::applyMask);
  connect(compare_canvas, &ImageCanvas::queryPatchPicked, this, [this](int patch) {
    canvas_->setQueryPatch(patch);
    refreshView();
  });
  connect(tabs_->compare(), &ComparePanel::loadRequested, this, [this] {
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open a model folder to compare with"));
    if (!path.isEmpty()) loadCompareModel(path);
  });
  connect(tabs_->compare(), &ComparePanel::closeRequested, this, [this] { loadCompareModel({}); });

  connect(tabs_->masking(), &MaskingPanel::actionRequested, this, &MainWindow::runMaskAction);
  connect(tabs_->masking(), &MaskingPanel::modeChanged, this, [this] {
    if (ImageState* s = current(); s && s->mask.any()) applyMask(s->mask);
  });
  connect(tabs_->sweep(), &SweepPanel::runRequested, this, [this](const SweepRequest& request) {
    const ImageState* s = current();
    if (!s || !s->baseline) return;
    tabs_->sweep()->setRunning(true);
    worker_->requestSweep(current_id_, request, mapSpec());
  });
  connect(tabs_->sweep(), &SweepPanel::cancelRequested, this, [this] { worker_->cancelSweep(); });
  ClassesPanel* classes = tabs_->classes();
  connect(classes, &ClassesPanel::addCurrentImageRequested, this, [this, classes](int row) {
    if (current()) classes->addExamples(row, {current_id_});
  });
  connect(classes, &ClassesPanel::filesDropped, this,
          [this, classes](int row, const QStringList& paths) { classes->addExamples(row, addImageFiles(paths)); });

  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  right_layout->addWidget(model_);
  right_layout->addWidget(predictions_);
  right_layout->addWidget(tabs_, 1);
  right->setMinimumWidth(std::max(400, tabs_->tabBar()->sizeHint().width() + 8));  // every tab's title shows

  auto* splitter = new QSplitter;
  splitter->setObjectName("mainSplitter");
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 2);
  setCentralWidget(splitter);

  status_device_ = new QLabel;
  status_latency_ = new QLabel;
  busy_ = new BusyIndicator;
  statusBar()->addPermanentWidget(busy_);
  statusBar()->addPermanentWidget(status_latency_);
  statusBar()->addPermanentWidget(status_device_);
  resize(1280, 800);
}

void MainWindow::connectWorker() {
  worker_ = new InferenceWorker;
  worker_->setFusedCpu(fused_cpu_);  // the saved choice, before the worker has a thread of its own
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  // Requests, queued onto the worker's thread (views and sweeps are asked for directly: see
  // InferenceWorker::requestView).
  connect(this, &MainWindow::loadModelRequested, worker_, &InferenceWorker::loadModel);
  connect(this, &MainWindow::loadCompareRequested, worker_, &InferenceWorker::loadCompareModel);
  connect(this, &MainWindow::fusedCpuRequested, worker_, &InferenceWorker::setFusedCpu);
  connect(worker_, &InferenceWorker::compareLoaded, this, [this](const ModelInfo& info, const LinearHead& few_shot) {
    compare_predictor_ = Predictor(info.labels, info.num_prototypes, few_shot);
    tabs_->compare()->setModel(info, compare_predictor_);
    images_->forgetComparisons();
    sent_.reset();  // the current view again, now with the comparison
    drawn_ = {};
    refreshView();
  });
  connect(worker_, &InferenceWorker::compareFailed, this, [this](const QString& message) {
    showError(tr("Could not load the comparison model: %1").arg(message));
  });
  connect(this, &MainWindow::imageFileAdded, worker_, &InferenceWorker::addImageFile);
  connect(this, &MainWindow::imageDataAdded, worker_, &InferenceWorker::addImageData);
  connect(this, &MainWindow::imageAdded, worker_, &InferenceWorker::addImage);
  connect(this, &MainWindow::baselineRequested, worker_, &InferenceWorker::requestBaseline);
  connect(this, &MainWindow::maskByMapRequested, worker_, &InferenceWorker::maskByMap);
  connect(tabs_->classes(), &ClassesPanel::fitRequested, worker_, &InferenceWorker::fitFewShot);
  connect(tabs_->classes(), &ClassesPanel::loadRequested, worker_, &InferenceWorker::loadFewShot);
  connect(tabs_->classes(), &ClassesPanel::saveRequested, worker_, &InferenceWorker::saveFewShot);
  // Results, queued back onto this thread.
  connect(worker_, &InferenceWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(worker_, &InferenceWorker::modelFailed, this, &MainWindow::onModelFailed);
  connect(worker_, &InferenceWorker::imageDecoded, this, &MainWindow::onImageDecoded);
  connect(worker_, &InferenceWorker::imageFailed, this, &MainWindow::onImageFailed);
  connect(worker_, &InferenceWorker::baselineReady, this, &MainWindow::onBaseline);
  connect(worker_, &InferenceWorker::viewReady, this, &MainWindow::onViewReady);
  connect(worker_, &InferenceWorker::maskSuggested, this, [this](quint64 id, const PatchMask& mask) {
    if (id == current_id_) applyMask(mask);
  });
  connect(worker_, &InferenceWorker::sweepProgress, tabs_->sweep(), &SweepPanel::setProgress);
  connect(worker_, &InferenceWorker::mapProgress, this, [this](int done, int total) {
    statusBar()->showMessage(done < total ? tr("Occlusion: %1 of %2 patches (change the view to stop)").arg(done).arg(total)
                                          : QString(), 4000);
  });
  connect(worker_, &InferenceWorker::sweepFinished, this, &MainWindow::onSweepFinished);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::showError);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::failed);
  connect(worker_, &InferenceWorker::fewShotReady, this, &MainWindow::onFewShot);
  connect(worker_, &InferenceWorker::busyChanged, busy_, &BusyIndicator::setBusy);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &Images…"), QKeySequence::Open, this, [this] {
    const QStringList paths = QFileDialog::getOpenFileNames(this, tr("Open images"), {},
                                                            tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"));
    addImageFiles(paths);
  });
  file->addAction(tr("Open &Model File…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open checkpoint"), {},
                                                      tr("Checkpoints (*.safetensors *.bin *.pth *.tar *.pt *.ckpt *.json)"));
    if (!path.isEmpty()) loadModel(path);
  });
  file->addAction(tr("Open Model &Folder…"), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O), this, [this] {
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"));
    if (!path.isEmpty()) loadModel(path);
  });
  recent_ = new RecentMenu(tr("Open &Recent"), this);
  connect(recent_, &RecentMenu::opened, this, [this](const QString& path) {
    if (is_model_path(path)) loadModel(path);
    else addImageFiles({path});
  });
  file->addMenu(recent_);
  file->addAction(tr("&Paste Image"), QKeySequence::Paste, this, [this] { handleMimeData(QApplication::clipboard()->mimeData()); });
  file->addSeparator();
  file->addAction(tr("&Export Figure…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportFigureDialog);
  file->addAction(tr("Export &Map Data…"), this, &MainWindow::exportMapDataDialog);
  file->addAction(tr("Export &Report JSON…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, &MainWindow::exportReport);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  menuBar()->addMenu(tr("&Mask"))->addActions(tabs_->masking()->menuActions());

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addActions(tabs_->attention()->menuActions());
  view->addAction(tr("Fit image"), QKeySequence(Qt::Key_0), canvas_, &ImageCanvas::resetView);
  view->addSeparator();
  for (int i = 0; i < tabs_->count(); ++i)
    view->addAction(tabs_->tabText(i), QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
  view->addAction(tr("Previous image"), QKeySequence(Qt::Key_PageUp), this, [this] { strip_->step(-1); });
  view->addAction(tr("Next image"), QKeySequence(Qt::Key_PageDown), this, [this] { strip_->step(1); });

  QMenu* engine = menuBar()->addMenu(tr("&Engine"));
  auto* precisions = precision_actions_ = new QActionGroup(this);
  for (const QString& p : {QStringLiteral("auto"), QStringLiteral("fp32"), QStringLiteral("bf16"), QStringLiteral("fp16")}) {
    QAction* a = engine->addAction(p == "auto" ? tr("Precision: fastest within bounds") : tr("Precision: %1").arg(p));
    a->setCheckable(true);
    a->setData(p);
    precisions->addAction(a);
    connect(a, &QAction::triggered, this, [this, p] {
      precision_ = p;
      if (!info_.path.isEmpty()) loadModel(info_.path, info_.demo);
    });
    if (p == precision_) a->setChecked(true);
  }
  engine->addSeparator();
  fused_action_ = engine->addAction(tr("Fused oneDNN kernels on the CPU"));
  fused_action_->setCheckable(true);
  fused_action_->setChecked(fused_cpu_);
  fused_action_->setToolTip(tr("Off: the LibTorch reference layers (slower, for comparison)"));
  connect(fused_action_, &QAction::toggled, this, [this](bool on) {
    if (on == fused_cpu_) return;
    setFusedCpu(on);
    if (!info_.path.isEmpty()) loadModel(info_.path, info_.demo);
  });
}

void MainWindow::restoreSettings() {
  const QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  if (auto* splitter = findChild<QSplitter*>("mainSplitter")) splitter->restoreState(s.value("window/splitter").toByteArray());
  tabs_->attention()->restoreSettings(s);
  tabs_->masking()->restoreSettings(s);
  predictions_->restoreSettings(s);
  device_ = s.value("engine/device", "auto").toString();
  precision_ = s.value("engine/precision", "auto").toString();
  setFusedCpu(s.value("engine/fused_cpu", true).toBool());
  canvas_->setOverlayOpacity(tabs_->attention()->opacity());
  canvas_->setShowGrid(tabs_->attention()->showGrid());
}

void MainWindow::saveSettings() const {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  if (auto* splitter = findChild<QSplitter*>("mainSplitter")) s.setValue("window/splitter", splitter->saveState());
  tabs_->attention()->saveSettings(s);
  tabs_->masking()->saveSettings(s);
  predictions_->saveSettings(s);
  s.setValue("engine/device", device_);
  s.setValue("engine/precision", precision_);
  s.setValue("engine/fused_cpu", fused_cpu_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

void MainWindow::setDevice(const QString& device, const QString& precision) {
  device_ = device;
  precision_ = precision;
}

void MainWindow::setFusedCpu(bool fused) {
  fused_cpu_ = fused;
  if (fused_action_) fused_action_->setChecked(fused);
  Q_EMIT fusedCpuRequested(fused);  // queued before any load that follows
}

// ---- loading ------------------------------------------------------------------------------

void MainWindow::loadModel(const QString& path, bool demo) {
  error_->dismiss();
  model_->showLoading(path);
  Q_EMIT loadModelRequested(path, device_, precision_, demo);
}

QList<quint64> MainWindow::addImageFiles(const QStringList& paths) {
  QList<quint64> ids;
  for (const QString& path : paths) {
    ids << images_->add(QFileInfo(path).fileName());
    Q_EMIT imageFileAdded(ids.back(), path);
    recent_->add(QFileInfo(path).absoluteFilePath());
  }
  return ids;
}

void MainWindow::openFiles(const QStringList& paths) {
  QStringList images;
  for (const QString& path : paths) {
    if (is_model_path(path)) loadModel(QFileInfo(path).absoluteFilePath());
    else images << path;
  }
  addImageFiles(images);
}

void MainWindow::handleMimeData(const QMimeData* mime) {
  if (!mime) return;
  const DroppedData dropped = read_dropped(*mime);
  openFiles(dropped.files);
  if (!dropped.encoded.isEmpty()) {
    const QString name = tr("pasted %1").arg(dropped.format);
    Q_EMIT imageDataAdded(images_->add(name), dropped.encoded, name);
  } else if (dropped.image) {
    const QString name = tr("pasted image");
    Q_EMIT imageAdded(images_->add(name), *dropped.image, name);
  }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls() || event->mimeData()->hasImage()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  handleMimeData(event->mimeData());
  event->acceptProposedAction();
}

// ---- worker results -----------------------------------------------------------------------

void MainWindow::onModelLoaded(const ModelInfo& info) {
  info_ = info;
  predictor_ = Predictor(info_.labels, info_.num_prototypes);  // the worker sends the model's classes next
  few_shot_source_.clear();
  error_->dismiss();
  model_->showModel(info);
  status_device_->setText(tr("%1 · %2").arg(info.device, info.precision) + (info.precision_note.isEmpty() ? QString() : tr(" ⚠")));
  status_device_->setToolTip(tr("Encoder layers on %1").arg(info.kernels) +
                             (info.precision_note.isEmpty() ? QString() : "\n" + info.precision_note));
  // The Engine menu offers what this device honours; a saved choice it cannot honour shows as
  // the fallback that runs (the setting itself is kept, for machines that can).
  for (QAction* a : precision_actions_->actions()) {
    const QString p = a->data().toString();
    a->setVisible(p == "auto" || info.precisions.contains(p));
    a->setChecked(p == (info.precision_note.isEmpty() ? precision_ : QStringLiteral("auto")));
  }
  predictions_->forgetChoice();
  predictions_->setSources(predictor_, few_shot_source_);
  tabs_->attention()->setTargets(predictor_);
  tabs_->masking()->setMaskTokenAvailable(info.has_mask_token);
  tabs_->attention()->setModel(info.layers, info.heads, info.grid_cols);
  sent_.reset();
  images_->resetResults(info.grid_rows, info.grid_cols);
  if (const ImageState* s = current()) canvas_->setMask(s->mask);
  // The current image first, then the rest for the strip.
  if (current()) Q_EMIT baselineRequested(current_id_);
  for (const ImageState& image : images_->images())
    if (image.id != current_id_) Q_EMIT baselineRequested(image.id);
  tabs_->sweep()->setResult({});
  recent_->add(info.path);
  if (tabs_->classes()->hasExamples()) tabs_->classes()->refit();  // the user's classes, on the new model's features
  Q_EMIT modelReady();
  refreshView();
}

void MainWindow::onModelFailed(const QString& message) {
  showError(tr("Could not load the model: %1").arg(message));
  model_->showLoadFailed(info_);
  Q_EMIT failed(message);
}

void MainWindow::onImageDecoded(quint64 id, const QImage& image) {
  if (!images_->find(id)) return;
  images_->setImage(id, image, PatchMask(info_.grid_rows, info_.grid_cols));
  // The strip makes its first tile current as soon as it exists, before the pixels arrive.
  if (id == current_id_) selectImage(id);
  else if (!current() || current()->image.isNull()) strip_->selectImage(id);
  if (!info_.path.isEmpty()) Q_EMIT baselineRequested(id);
}

void MainWindow::onImageFailed(quint64 id, const QString& message) {
  showError(tr("Could not open the image: %1").arg(message));
  images_->remove(id);
  Q_EMIT failed(message);
}

void MainWindow::onBaseline(const ViewSummaryPtr& summary) {
  ImageState* image = images_->find(summary->image_id);
  if (!image || image->baseline == summary) return;
  image->baseline = summary;
  images_->updateCaptions(predictor_, predictions_->source());
  if (summary->image_id == current_id_) refreshView();
  Q_EMIT baselineReady();
}

void MainWindow::onViewReady(const ViewResult& result) {
  ImageState* found = images_->find(result.unmasked->image_id);
  if (!found) return;
  ImageState& state = *found;
  const bool new_baseline = state.baseline != result.unmasked;
  state.baseline = result.unmasked;
  if (result.masked && result.masked->mask == state.mask) state.masked = result.masked;  // else superseded by a newer edit
  state.maps = result.maps;
  state.compare = result.compare;
  if (new_baseline) images_->updateCaptions(predictor_, predictions_->source());
  if (result.unmasked->image_id != current_id_) return;
  if (result.masked) status_latency_->setText(tr("masked %1 ms").arg(result.latency_ms, 0, 'f', 0));
  else status_latency_->setText(tr("unmasked %1 ms").arg(result.unmasked->latency_ms, 0, 'f', 0));
  if (click_pending_ && mapsCurrent(state)) result_latencies_.push_back(result.latency_ms);
  refreshView();
}

void MainWindow::finishClickMeasure() {
  canvas_->repaint();  // the measure ends when the new overlay is on screen
  click_latencies_.push_back(static_cast<double>(click_timer_.nsecsElapsed()) / 1e6);
  click_pending_ = false;
  status_latency_->setText(status_latency_->text().section(QStringLiteral(" · "), 0, 0) +
                           tr(" · click to repaint %1 ms").arg(click_latencies_.back(), 0, 'f', 0));
}

void MainWindow::onSweepFinished(const SweepResult& result) {
  tabs_->sweep()->setRunning(false);
  // A sweep can finish after the user moved to another image (a batch was under way when the
  // cancel came): its curves are not this image's.
  if (result.image_id == current_id_) tabs_->sweep()->setResult(result);
  Q_EMIT sweepFinished();
}

void MainWindow::onFewShot(const LinearHead& head, const QString& source) {
  predictor_ = Predictor(info_.labels, info_.num_prototypes, head);
  few_shot_source_ = source;
  tabs_->classes()->showClasses(head, source);
  predictions_->setSources(predictor_, few_shot_source_);
  tabs_->attention()->setTargets(predictor_);
  images_->updateCaptions(predictor_, predictions_->source());
  refreshView();
}

void MainWindow::showError(const QString& message) {
  error_->showMessage(message);
  statusBar()->showMessage(message, 8000);
}

QString MainWindow::errorText() const { return error_->message(); }

// ---- images and masks ---------------------------------------------------------------------

ImageState* MainWindow::current() { return images_->find(current_id_); }
const ImageState* MainWindow::current() const { return images_->find(current_id_); }

ViewSummaryPtr MainWindow::baseline() const { return current() ? current()->baseline : nullptr; }
ViewSummaryPtr MainWindow::maskedResult() const { return current() ? current()->masked : nullptr; }
ViewMapsPtr MainWindow::shownMaps() const { return current() ? current()->maps : nullptr; }
bool MainWindow::viewCurrent() const { return current() && mapsCurrent(*current()); }

bool MainWindow::allBaselines() const { return images_->allHaveBaselines(); }
bool MainWindow::sweepRunning() const { return tabs_->sweep()->running(); }

void MainWindow::selectImage(quint64 id) {
  const ImageState* s = images_->find(id);
  if (!s) return;
  current_id_ = id;
  canvas_->setImage(s->image);
  canvas_->setMask(s->mask);
  canvas_->setQueryPatch(-1);
  if (tabs_->sweep()->running()) worker_->cancelSweep();  // its curves would be of the other image
  tabs_->sweep()->setResult({});
  refreshView();
}

void MainWindow::useClsQuery() {
  canvas_->setQueryPatch(-1);
  refreshView();
}

void MainWindow::applyMask(const PatchMask& mask) {
  ImageState* s = current();
  if (!s || info_.path.isEmpty() || mask.size() != info_.grid_rows * info_.grid_cols) return;
  s->mask = mask;
  canvas_->setMask(mask);
  click_timer_.start();
  click_pending_ = true;
  if (!mask.any()) {  // the unmasked result is at hand
    s->masked.reset();
    refreshView();
    return;
  }
  // The previous masked result shows until the new one arrives; nothing else is redrawn
  // meanwhile, so the UI thread leaves both cores to the forward pass.
  requestMissingView();
  refreshResponse();
}

void MainWindow::runMaskAction(MaskAction action) {
  const ImageState* s = current();
  if (!s) return;
  const int rows = s->mask.rows(), cols = s->mask.cols();
  switch (action) {
    case MaskAction::Random: applyMask(PatchMask::random(rows, cols, tabs_->masking()->ratio(), tabs_->masking()->seed())); break;
    case MaskAction::Focal: applyMask(PatchMask::focal(rows, cols, tabs_->masking()->ratio(), tabs_->masking()->seed())); break;
    case MaskAction::Invert: {
      PatchMask inverted = s->mask;
      inverted.invert();
      applyMask(inverted);
      break;
    }
    case MaskAction::Clear: applyMask(PatchMask(rows, cols)); break;
    case MaskAction::MostAttended:
    case MaskAction::LeastAttended:  // the worker answers with maskSuggested
      if (!info_.path.isEmpty())
        Q_EMIT maskByMapRequested(current_id_, mapSpec(), tabs_->masking()->ratio(), action == MaskAction::MostAttended);
      break;
  }
}

// ---- views --------------------------------------------------------------------------------

void MainWindow::loadCompareModel(const QString& path) {
  Q_EMIT loadCompareRequested(path.isEmpty() ? QString() : QFileInfo(path).absoluteFilePath(), device_, precision_);
}

std::shared_ptr<const CompareResult> MainWindow::compareShown() const {
  const ImageState* s = current();
  return s && tabs_->compare()->hasModel() ? s->compare : nullptr;
}

void MainWindow::showMethod(MapSpec::Source source) { tabs_->attention()->setSource(source); }

MapSpec MainWindow::mapSpec() const {
  return tabs_->attention()->mapSpec(canvas_->queryPatch(), predictions_->source());
}

std::optional<ViewRequest> MainWindow::desiredView() const {
  const ImageState* s = current();
  if (!s || s->image.isNull() || info_.path.isEmpty()) return std::nullopt;
  ViewRequest r;
  r.image_id = current_id_;
  r.mask = s->mask;
  r.mode = tabs_->masking()->mode();
  r.show_masked = tabs_->attention()->showMasked();
  r.maps = tabs_->mapsWanted(mapSpec());
  return r;
}

bool MainWindow::mapsCurrent(const ImageState& s) const {
  const std::optional<ViewRequest> want = desiredView();
  return want && s.maps && answers(*s.maps, *want) && (!tabs_->compare()->hasModel() || s.compare);
}

void MainWindow::requestMissingView() {
  // Results come back through onViewReady, which refreshes the view.
  const ImageState* s = current();
  if (!s || mapsCurrent(*s)) return;
  if (const std::optional<ViewRequest> want = desiredView(); want && want != sent_) {
    sent_ = want;
    worker_->requestView(*want);
  }
}

void MainWindow::refreshView() {
  const ImageState* s = current();
  const MapSpec spec = mapSpec();
  const Colormap colormap = tabs_->attention()->colormap();
  const ViewMapsPtr maps = s ? s->maps : nullptr;
  const ExplainTarget explained = maps ? maps->target : ExplainTarget{};
  tabs_->attention()->showSpec(spec, explained.source == PredictionSource::None
                                         ? QString()
                                         : QString::fromStdString(predictor_.label(explained.source, explained.index)));
  requestMissingView();
  // Redrawn only when the maps or how they are drawn changed: a click asks for a new result
  // first, and repainting the old one meanwhile would take a core from the forward pass.
  const auto drawn = std::make_tuple(maps, spec, colormap, s ? s->image.cacheKey() : 0);
  if (drawn != drawn_) {
    drawn_ = drawn;
    // The latest maps of this image, until those asked for arrive.
    canvas_->setOverlay(maps ? heatmap_image(display_values(*maps), info_.grid_cols, info_.grid_rows, colormap,
                                             map_channels(maps->request.map.source))
                             : QImage());
    tabs_->attention()->showMaps(maps ? s->image : QImage(), maps, spec, info_.grid_rows, info_.grid_cols);
    tabs_->heads()->showMaps(maps, spec, colormap, info_.grid_rows, info_.grid_cols);
    tabs_->compare()->showResult(s ? s->image : QImage(), s ? s->compare.get() : nullptr, s ? s->mask : PatchMask(),
                                 canvas_->queryPatch(), colormap, tabs_->attention()->opacity(), tabs_->attention()->showGrid());
  }
  const ViewSummary* unmasked = s ? s->baseline.get() : nullptr;
  predictions_->showScores(predictor_, unmasked, s && s->mask.any() ? s->masked.get() : nullptr,
                           !info_.path.isEmpty() && !info_.has_classifier);
  tabs_->sweep()->setAvailable(unmasked != nullptr);
  tabs_->lens()->showLens(maps.get(), predictor_, predictions_->source(), predictions_->sourceText());
  refreshResponse();
  if (s && click_pending_ && mapsCurrent(*s)) finishClickMeasure();
  Q_EMIT viewUpdated();
}

void MainWindow::refreshResponse() {
  const ImageState* s = current();
  if (!s || !s->baseline || !s->mask.any() || !s->masked) {
    tabs_->masking()->showPending(s && s->mask.any());
    return;
  }
  const PredictionSource source = predictions_->source();
  tabs_->masking()->showResponse(*s->masked, masking_response(*s->baseline, *s->masked, predictor_, source), source);
}

// ---- export -------------------------------------------------------------------------------

QJsonObject MainWindow::report() const {
  QJsonObject r;
  r["model"] = QJsonDocument::fromJson(info_.summary_json.toUtf8()).object();
  r["device"] = info_.device;
  r["precision"] = info_.precision;
  const ImageState* s = current();
  if (!s) return r;
  r["image"] = s->name;
  QJsonArray masked;
  for (int p = 0; p < s->mask.size(); ++p)
    if (s->mask.masked(p)) masked.append(p);
  r["mask"] = QJsonObject{{"rows", s->mask.rows()}, {"cols", s->mask.cols()}, {"masked_patches", masked},
                          {"mode", mask_mode_name(tabs_->masking()->mode())}};
  r["view"] = tabs_->attention()->describe(mapSpec());
  r["predictions"] = QJsonArray::fromStringList(predictions_->rowsText());
  r["prediction_source"] = predictions_->sourceText();
  if (s->baseline && s->masked && s->mask.any()) {
    const MaskingResponse m = masking_response(*s->baseline, *s->masked, predictor_, predictions_->source());
    QJsonObject response{{"cls_cosine", m.cls_cosine}, {"latency_ms", s->masked->latency_ms}};
    if (m.prototype_kl) response["prototype_kl"] = *m.prototype_kl;
    r["response"] = response;
  }
  return r;
}

std::optional<Figure> MainWindow::figure() const {
  // The maps the canvas's heat map was drawn from (maybe still those of the previous settings,
  // until the new ones arrive): title, colour bar and data describe them, so they always say
  // what the figure shows.
  const ImageState* s = current();
  const ViewMapsPtr& maps = std::get<0>(drawn_);
  const QImage& heat = canvas_->overlay();
  if (!s || s->image.isNull() || !maps || heat.size() != QSize(info_.grid_cols, info_.grid_rows)) return std::nullopt;
  const MapSpec& spec = maps->request.map;
  Figure f;
  f.image = s->image;
  f.heat = heat;
  f.mask = canvas_->mask();
  f.query_patch = uses_query(spec.source) ? spec.query_patch : -1;
  f.opacity = tabs_->attention()->opacity();
  f.grid = tabs_->attention()->showGrid();
  f.colormap = std::get<2>(drawn_);
  f.range = colour_bar_range(*maps);
  const QString target = maps->target.source == PredictionSource::None ? QString()
                                                                       : QString::fromStdString(predictor_.label(maps->target.source, maps->target.index));
  f.title = figure_title(s->name, *maps, info_.grid_cols, target);
  return f;
}

bool MainWindow::exportFigure(const QString& path) {
  const std::optional<Figure> f = figure();
  const QString error = f ? save_figure(*f, path) : tr("no heat map shown yet");
  if (!error.isEmpty()) showError(tr("Could not export the figure: %1").arg(error));
  return error.isEmpty();
}

bool MainWindow::exportMapData(const QString& path) {
  const ViewMapsPtr& maps = std::get<0>(drawn_);  // those of the figure
  const QString format = QFileInfo(path).suffix().toLower();
  QString error;
  if (!figure()) {
    error = tr("no heat map shown yet");
  } else if (format != "npy" && format != "csv") {
    error = tr("%1: unknown map format (.npy or .csv)").arg(path);
  } else {
    std::vector<std::size_t> shape = {static_cast<std::size_t>(info_.grid_rows), static_cast<std::size_t>(info_.grid_cols)};
    if (const int channels = map_channels(maps->request.map.source); channels > 1) shape.push_back(static_cast<std::size_t>(channels));
    try {
      if (format == "npy") write_npy(path.toStdString(), maps->map, shape);
      else write_csv(path.toStdString(), maps->map, shape);
    } catch (const Error& e) {
      error = QString::fromStdString(e.what());
    }
  }
  if (!error.isEmpty()) showError(tr("Could not export the map: %1").arg(error));
  return error.isEmpty();
}

namespace {

// The path with the chosen filter's extension when the user typed none ("PNG image (*.png)").
QString with_suffix(const QString& path, const QString& filter) {
  if (path.isEmpty() || !QFileInfo(path).suffix().isEmpty()) return path;
  const qsizetype star = filter.indexOf("*.");
  return star < 0 ? path : path + filter.mid(star + 1, filter.indexOf(')', star) - star - 1);
}

}  // namespace

void MainWindow::exportFigureDialog() {
  if (!current()) return;
  QString filter;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export figure"), QFileInfo(current()->name).completeBaseName() + "-figure.pdf",
                                                    tr("PDF, vector (*.pdf);;SVG, vector (*.svg);;PNG image (*.png)"), &filter);
  if (!path.isEmpty()) exportFigure(with_suffix(path, filter));
}

void MainWindow::exportMapDataDialog() {
  if (!current()) return;
  QString filter;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export map data"), QFileInfo(current()->name).completeBaseName() + "-map.npy",
                                                    tr("NumPy array (*.npy);;CSV (*.csv)"), &filter);
  if (!path.isEmpty()) exportMapData(with_suffix(path, filter));
}

void MainWindow::exportReport() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export report"), "msnlens-report.json", tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(report()).toJson()) < 0) showError(tr("Could not write %1").arg(path));
}

}  // namespace msnlens
