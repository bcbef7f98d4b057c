#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabBar>
#include <QVBoxLayout>

#include "ui/attention_panel.h"
#include "ui/classes_panel.h"
#include "ui/compare_panel.h"
#include "ui/dropped_data.h"
#include "ui/engine_menu.h"
#include "ui/error_banner.h"
#include "ui/file_menu.h"
#include "ui/image_canvas.h"
#include "ui/image_list_model.h"
#include "ui/image_strip.h"
#include "ui/inference_worker.h"
#include "ui/masking_panel.h"
#include "ui/model_box.h"
#include "ui/panel_tabs.h"
#include "ui/predictions_panel.h"
#include "ui/status_line.h"
#include "ui/sweep_panel.h"
#include "ui/causes_panel.h"
#include "ui/faithfulness_strip.h"
#include "ui/view_export.h"

namespace msnlens {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MSN Lens"));
  setAcceptDrops(true);
  worker_ = new InferenceWorker;
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
  faithfulness_ = new FaithfulnessStrip;
  faithfulness_->setObjectName("faithfulnessStrip");
  left_layout->addWidget(faithfulness_);
  left_layout->addWidget(strip_);

  // Right: model, predictions, tabs.
  model_ = new ModelBox;
  model_->setObjectName("modelBox");

  predictions_ = new PredictionsPanel;
  predictions_->setObjectName("predictionsPanel");

  tabs_ = new PanelTabs;
  tabs_->setObjectName("tabs");
  connect(tabs_->compare(), &ComparePanel::loadChosen, this, &MainWindow::loadCompareModel);
  connect(tabs_->compare(), &ComparePanel::closeRequested, this, [this] { loadCompareModel({}); });

  connect(tabs_->sweep(), &SweepPanel::runRequested, this, [this](const SweepRequest& request) {
    const ImageState* s = current();
    if (!s || !s->baseline) return;
    tabs_->sweep()->setRunning(true);
    worker_->requestSweep(views_->currentId(), request, views_->mapSpec());
  });
  connect(tabs_->sweep(), &SweepPanel::cancelRequested, this, [this] { worker_->cancelSweep(); });
  ClassesPanel* classes = tabs_->classes();
  connect(classes, &ClassesPanel::addCurrentImageRequested, this, [this, classes](int row) {
    if (current()) classes->addExamples(row, {views_->currentId()});
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

  status_ = new StatusLine;
  statusBar()->addPermanentWidget(status_);
  resize(1280, 800);

  views_ = new ViewController(worker_, {canvas_, tabs_, predictions_, images_, faithfulness_}, this);
  connect(views_, &ViewController::viewUpdated, this, &MainWindow::viewUpdated);
  connect(views_, &ViewController::latencyChanged, status_, &StatusLine::setLatency);
}

void MainWindow::connectWorker() {
  worker_->setFusedCpu(engine_->fused());  // the saved choice, before the worker has a thread of its own
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  // Requests, queued onto the worker's thread (views and sweeps are asked for directly: see
  // InferenceWorker::requestView).
  connect(this, &MainWindow::loadModelRequested, worker_, &InferenceWorker::loadModel);
  connect(this, &MainWindow::loadCompareRequested, worker_, &InferenceWorker::loadCompareModel);
  connect(engine_, &EngineMenu::fusedChanged, worker_, &InferenceWorker::setFusedCpu);
  connect(worker_, &InferenceWorker::compareLoaded, this, [this](const ModelInfo& info) {
    tabs_->compare()->setModel(info, info.predictor);
    images_->forgetComparisons();
    views_->forgetDrawn();  // the current view again, now with the comparison
    views_->refresh();
  });
  connect(worker_, &InferenceWorker::compareFailed, this, [this](const QString& message) {
    showError(tr("Could not load the comparison model: %1").arg(message));
  });
  connect(this, &MainWindow::imageFileAdded, worker_, &InferenceWorker::addImageFile);
  connect(this, &MainWindow::imageDataAdded, worker_, &InferenceWorker::addImageData);
  connect(this, &MainWindow::imageAdded, worker_, &InferenceWorker::addImage);
  connect(views_, &ViewController::baselineRequested, worker_, &InferenceWorker::requestBaseline);
  connect(views_, &ViewController::maskByMapRequested, worker_, &InferenceWorker::maskByMap);
  connect(tabs_->classes(), &ClassesPanel::fitRequested, worker_, &InferenceWorker::fitFewShot);
  connect(tabs_->classes(), &ClassesPanel::loadRequested, worker_, &InferenceWorker::loadFewShot);
  connect(tabs_->classes(), &ClassesPanel::saveRequested, worker_, &InferenceWorker::saveFewShot);
  // Results, queued back onto this thread.
  connect(worker_, &InferenceWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(worker_, &InferenceWorker::modelFailed, this, &MainWindow::onModelFailed);
  connect(worker_, &InferenceWorker::imageDecoded, this, &MainWindow::onImageDecoded);
  connect(worker_, &InferenceWorker::imageFailed, this, &MainWindow::onImageFailed);
  connect(worker_, &InferenceWorker::baselineReady, this, [this](const ViewSummaryPtr& summary) {
    if (views_->acceptBaseline(summary)) Q_EMIT baselineReady();
  });
  connect(worker_, &InferenceWorker::viewReady, views_, &ViewController::accept);
  connect(worker_, &InferenceWorker::maskSuggested, this, [this](quint64 id, const PatchMask& mask) {
    if (id == views_->currentId()) views_->editMask(mask);
  });
  connect(worker_, &InferenceWorker::sweepProgress, tabs_->sweep(), &SweepPanel::setProgress);
  connect(worker_, &InferenceWorker::mapProgress, this, [this](int done, int total) {
    statusBar()->showMessage(done < total ? tr("Occlusion: %1 of %2 patches (change the view to stop)").arg(done).arg(total)
                                          : QString(), 4000);
  });
  connect(worker_, &InferenceWorker::sweepFinished, this, [this](const SweepResult& result) {
    views_->acceptSweep(result);
    Q_EMIT sweepFinished();
  });
  connect(worker_, &InferenceWorker::faithfulnessReady, views_, &ViewController::acceptFaithfulness);
  connect(worker_, &InferenceWorker::causesProgress, tabs_->causes(), &CausesPanel::setProgress);
  connect(worker_, &InferenceWorker::causesFinished, this, [this](const CausesResult& result) {
    views_->acceptCauses(result);
    Q_EMIT causesFinished();
  });
  connect(worker_, &InferenceWorker::knockoutReady, views_, &ViewController::acceptKnockout);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::showError);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::failed);
  connect(worker_, &InferenceWorker::fewShotReady, this, [this](const Predictor& predictor, const QString& source) {
    tabs_->classes()->showClasses(predictor.few_shot(), source);
    views_->setClasses(predictor, source);
  });
  connect(worker_, &InferenceWorker::busyChanged, status_, &StatusLine::setBusy);
}

void MainWindow::buildMenus() {
  file_ = new FileMenu(this);
  menuBar()->addMenu(file_);
  connect(file_, &FileMenu::imagesChosen, this, &MainWindow::addImageFiles);
  connect(file_, &FileMenu::modelChosen, this, [this](const QString& path) { loadModel(path); });
  connect(file_, &FileMenu::pasteRequested, this, [this] { handleMimeData(QApplication::clipboard()->mimeData()); });
  connect(file_, &FileMenu::figureExportChosen, this, &MainWindow::exportFigure);
  connect(file_, &FileMenu::mapDataExportChosen, this, &MainWindow::exportMapData);
  connect(file_, &FileMenu::reportExportChosen, this, [this](const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(report()).toJson()) < 0) showError(tr("Could not write %1").arg(path));
  });
  connect(file_, &FileMenu::quitRequested, this, &QWidget::close);

  menuBar()->addMenu(tr("&Mask"))->addActions(tabs_->masking()->menuActions());

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addActions(tabs_->attention()->menuActions());
  view->addAction(tr("Fit image"), QKeySequence(Qt::Key_0), canvas_, &ImageCanvas::resetView);
  view->addSeparator();
  for (int i = 0; i < tabs_->count(); ++i)
    view->addAction(tabs_->tabText(i), QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
  view->addAction(tr("Previous image"), QKeySequence(Qt::Key_PageUp), this, [this] { strip_->step(-1); });
  view->addAction(tr("Next image"), QKeySequence(Qt::Key_PageDown), this, [this] { strip_->step(1); });

  engine_ = new EngineMenu(this);
  menuBar()->addMenu(engine_);
  connect(engine_, &EngineMenu::reloadRequested, this, [this] {
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
  engine_->restoreSettings(s);
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
  engine_->saveSettings(s);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

void MainWindow::setDevice(const QString& device, const QString& precision) { engine_->setDevice(device, precision); }
void MainWindow::setFusedCpu(bool fused) { engine_->setFused(fused); }

void MainWindow::loadModel(const QString& path, bool demo) {
  error_->dismiss();
  model_->showLoading(path);
  Q_EMIT loadModelRequested(path, engine_->device(), engine_->precision(), demo);
}

QList<quint64> MainWindow::addImageFiles(const QStringList& paths) {
  QList<quint64> ids;
  for (const QString& path : paths) {
    ids << images_->add(QFileInfo(path).fileName());
    Q_EMIT imageFileAdded(ids.back(), path);
    file_->addRecent(QFileInfo(path).absoluteFilePath());
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

void MainWindow::onModelLoaded(const ModelInfo& info) {
  info_ = info;
  error_->dismiss();
  model_->showModel(info);
  status_->showModel(info);
  engine_->showModel(info);
  views_->setModel(info);  // the worker sends the model's classes next
  file_->addRecent(info.path);
  if (tabs_->classes()->hasExamples()) tabs_->classes()->refit();  // the user's classes, on the new model's features
  Q_EMIT modelReady();
  views_->refresh();
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
  if (id == views_->currentId()) selectImage(id);
  else if (!current() || current()->image.isNull()) strip_->selectImage(id);
  if (!info_.path.isEmpty()) views_->askBaseline(id);
}

void MainWindow::onImageFailed(quint64 id, const QString& message) {
  showError(tr("Could not open the image: %1").arg(message));
  images_->remove(id);
  Q_EMIT failed(message);
}

void MainWindow::showError(const QString& message) {
  error_->showMessage(message);
  statusBar()->showMessage(message, 8000);
}

QString MainWindow::errorText() const { return error_->message(); }

ImageState* MainWindow::current() { return views_->current(); }
const ImageState* MainWindow::current() const { return views_->current(); }

ViewSummaryPtr MainWindow::baseline() const { return current() ? current()->baseline : nullptr; }
ViewSummaryPtr MainWindow::maskedResult() const { return current() ? current()->masked : nullptr; }
ViewMapsPtr MainWindow::shownMaps() const { return current() && current()->view ? current()->view->maps : nullptr; }
bool MainWindow::viewCurrent() const { return current() && views_->answered(*current()); }

bool MainWindow::allBaselines() const { return images_->allHaveBaselines(); }
bool MainWindow::sweepRunning() const { return tabs_->sweep()->running(); }

void MainWindow::selectImage(quint64 id) {
  if (const ImageState* s = images_->find(id)) {
    file_->setExportBase(QFileInfo(s->name).completeBaseName());
    views_->select(id);
  }
}

void MainWindow::loadCompareModel(const QString& path) {
  Q_EMIT loadCompareRequested(path.isEmpty() ? QString() : QFileInfo(path).absoluteFilePath(), engine_->device(), engine_->precision());
}

ShownViewPtr MainWindow::compareShown() const {
  const ImageState* s = current();
  return s && s->view && tabs_->compare()->hasModel() ? s->view->compare : nullptr;
}

void MainWindow::showMethod(MapSpec::Source source) { tabs_->attention()->setSource(source); }

std::optional<ViewRequest> MainWindow::desiredView() const { return views_->desiredView(); }

QJsonObject MainWindow::report() const {
  return view_report({&info_, current(), tabs_->masking()->mode(), tabs_->attention()->describe(views_->mapSpec()),
                      predictions_->rowsText(), predictions_->sourceText()});
}

std::optional<Figure> MainWindow::figure() const {
  return view_figure({current(), views_->drawn().get(), canvas_->overlay(), canvas_->mask(), tabs_->attention()->opacity(),
                      tabs_->attention()->showGrid(), views_->drawnColormap(), info_.grid_rows, info_.grid_cols,
                      views_->faithfulnessCaption()});
}

bool MainWindow::exportFigure(const QString& path) {
  const std::optional<Figure> f = figure();
  const QString error = f ? save_figure(*f, path) : tr("no heat map shown yet");
  if (!error.isEmpty()) showError(tr("Could not export the figure: %1").arg(error));
  return error.isEmpty();
}

bool MainWindow::exportMapData(const QString& path) {
  // The map of the figure: the one drawn.
  const QString error = figure() ? write_map_data(*views_->drawn()->maps, info_.grid_rows, info_.grid_cols, path) : tr("no heat map shown yet");
  if (!error.isEmpty()) showError(tr("Could not export the map: %1").arg(error));
  return error.isEmpty();
}

}  // namespace msnlens
