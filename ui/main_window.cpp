#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QInputDialog>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QMenuBar>
#include <QMimeData>
#include <QMouseEvent>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "analysis/attention_maps.h"
#include "analysis/masking_response.h"
#include "ui/attention_grid.h"
#include "ui/class_list.h"
#include "ui/image_canvas.h"
#include "ui/image_list_model.h"
#include "ui/inference_worker.h"
#include "ui/predictions_view.h"
#include "ui/depth_lens_view.h"
#include "ui/heatmap.h"
#include "ui/sweep_view.h"

namespace msnlens {
namespace {

// Files that are checkpoints rather than images.
bool is_model_path(const QString& path) {
  const QFileInfo info(path);
  if (info.isDir()) return true;
  const QString name = info.fileName().toLower();
  for (const char* ext : {".safetensors", ".bin", ".pth", ".pth.tar", ".pt", ".ckpt", ".tar"})
    if (name.endsWith(QLatin1String(ext))) return true;
  return name.endsWith(".index.json");
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1)];
}

std::vector<std::string> predictor_labels(const ModelInfo& info) {
  std::vector<std::string> labels;
  for (const QString& label : info.labels) labels.push_back(label.toStdString());
  return labels;
}

QLabel* wrapped(const QString& text = {}) {
  auto* l = new QLabel(text);
  l->setWordWrap(true);
  l->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return l;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  qRegisterMetaType<ModelInfo>();
  qRegisterMetaType<ViewSummaryPtr>();
  qRegisterMetaType<ViewResult>();
  qRegisterMetaType<MapSpec>();
  qRegisterMetaType<SweepResult>();
  qRegisterMetaType<PatchMask>();
  qRegisterMetaType<MaskMode>();
  qRegisterMetaType<SweepRequest>();
  qRegisterMetaType<LinearHead>();
  setWindowTitle(tr("MSN Lens"));
  setAcceptDrops(true);
  buildUi();
  buildMenus();
  restoreSettings();

  worker_ = new InferenceWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(worker_, &InferenceWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(worker_, &InferenceWorker::modelFailed, this, &MainWindow::onModelFailed);
  connect(worker_, &InferenceWorker::imageDecoded, this, &MainWindow::onImageDecoded);
  connect(worker_, &InferenceWorker::imageFailed, this, &MainWindow::onImageFailed);
  connect(worker_, &InferenceWorker::baselineReady, this, &MainWindow::onBaseline);
  connect(worker_, &InferenceWorker::viewReady, this, &MainWindow::onViewReady);
  connect(worker_, &InferenceWorker::maskSuggested, this, [this](quint64 id, const PatchMask& mask) {
    if (id == current_id_) applyMask(mask);
  });
  connect(worker_, &InferenceWorker::sweepProgress, sweep_view_, &SweepView::setProgress);
  connect(worker_, &InferenceWorker::sweepFinished, this, &MainWindow::onSweepFinished);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::showError);
  connect(worker_, &InferenceWorker::fewShotReady, this, &MainWindow::onFewShot);
  connect(worker_, &InferenceWorker::busyChanged, this, &MainWindow::onBusy);
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
  connect(canvas_, &ImageCanvas::maskEdited, this, [this](const PatchMask& m) { applyMask(m); });
  connect(canvas_, &ImageCanvas::queryPatchPicked, this, [this](int) { refreshView(); });

  error_ = wrapped();
  error_->setStyleSheet("QLabel { background: #5c1f1f; color: #ffdede; padding: 6px; border-radius: 4px; }");
  error_->hide();

  image_model_ = new ImageListModel(this);
  image_list_ = new QListView;
  image_list_->setObjectName("imageStrip");
  image_list_->setModel(image_model_);
  image_list_->setViewMode(QListView::IconMode);
  image_list_->setFlow(QListView::LeftToRight);
  image_list_->setWrapping(false);
  image_list_->setMovement(QListView::Static);
  image_list_->setIconSize(QSize(64, 64));
  // Fixed tiles: the top-1 line first, then the file name, each elided to the tile.
  image_list_->setGridSize(QSize(112, 110));
  image_list_->setFixedHeight(128);
  image_list_->setTextElideMode(Qt::ElideMiddle);
  image_list_->setWordWrap(false);
  connect(image_list_->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& index) {
    if (index.isValid()) selectImage(image_model_->idAt(index.row()));
  });

  auto* left = new QWidget;
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  left_layout->addWidget(error_);
  left_layout->addWidget(canvas_, 1);
  left_layout->addWidget(image_list_);

  // Right: model, predictions, tabs.
  model_title_ = wrapped(tr("No model loaded"));
  QFont title_font = model_title_->font();
  title_font.setBold(true);
  title_font.setPointSizeF(title_font.pointSizeF() * 1.1);
  model_title_->setFont(title_font);
  model_details_ = wrapped(tr("Drop a model folder or checkpoint file (File ▸ Open Model)."));
  auto* model_box = new QGroupBox(tr("Model"));
  auto* model_layout = new QVBoxLayout(model_box);
  model_layout->addWidget(model_title_);
  model_layout->addWidget(model_details_);

  predictions_ = new PredictionsView;
  topk_spin_ = new QSpinBox;
  topk_spin_->setRange(1, 20);
  topk_spin_->setValue(5);
  topk_spin_->setPrefix(tr("top "));
  connect(topk_spin_, &QSpinBox::valueChanged, predictions_, &PredictionsView::setTopK);
  prediction_combo_ = new QComboBox;
  prediction_combo_->setToolTip(tr("What to rank: the checkpoint's classifier, your few-shot classes, or MSN prototypes"));
  connect(prediction_combo_, &QComboBox::currentIndexChanged, this, [this] {
    refreshCaptions();
    refreshView();
  });
  connect(prediction_combo_, &QComboBox::activated, this, [this] { prediction_chosen_ = true; });
  auto* predictions_box = new QGroupBox(tr("Predictions"));
  auto* predictions_layout = new QVBoxLayout(predictions_box);
  auto* predictions_row = new QHBoxLayout;
  predictions_row->addWidget(prediction_combo_, 1);
  predictions_row->addWidget(topk_spin_);
  predictions_layout->addLayout(predictions_row);
  predictions_layout->addWidget(predictions_);

  // Attention tab.
  source_combo_ = new QComboBox;
  source_combo_->addItems({tr("Attention"), tr("Attention rollout")});
  layer_slider_ = new QSlider(Qt::Horizontal);
  layer_slider_->setRange(0, 0);
  layer_label_ = new QLabel;
  head_combo_ = new QComboBox;
  discard_slider_ = new QSlider(Qt::Horizontal);
  discard_slider_->setRange(0, 99);
  discard_slider_->setValue(90);
  discard_slider_->setToolTip(tr("Rollout: fraction of the weakest attention entries discarded per layer"));
  query_label_ = new QLabel(tr("CLS token"));
  auto* cls_button = new QPushButton(tr("Use CLS"));
  shown_combo_ = new QComboBox;
  shown_combo_->addItems({tr("Masked view (when masked)"), tr("Unmasked image")});
  colormap_combo_ = new QComboBox;
  for (const auto& [name, map] : colormaps()) colormap_combo_->addItem(QString::fromStdString(name), static_cast<int>(map));
  opacity_slider_ = new QSlider(Qt::Horizontal);
  opacity_slider_->setRange(0, 100);
  opacity_slider_->setValue(60);
  grid_check_ = new QCheckBox(tr("Patch grid"));
  grid_check_->setChecked(true);
  auto* layer_row = new QHBoxLayout;
  layer_row->addWidget(layer_slider_, 1);
  layer_row->addWidget(layer_label_);
  auto* query_row = new QHBoxLayout;
  query_row->addWidget(query_label_, 1);
  query_row->addWidget(cls_button);
  auto* form = new QFormLayout;
  form->addRow(tr("Show"), source_combo_);
  form->addRow(tr("Layer"), layer_row);
  form->addRow(tr("Heads"), head_combo_);
  form->addRow(tr("Rollout discard"), discard_slider_);
  form->addRow(tr("Query"), query_row);
  form->addRow(tr("Result"), shown_combo_);
  form->addRow(tr("Colormap"), colormap_combo_);
  form->addRow(tr("Opacity"), opacity_slider_);
  form->addRow(QString(), grid_check_);
  heads_grid_ = new AttentionGrid(AttentionGrid::Mode::Heads);
  attention_tab_ = new QWidget;
  auto* attention_layout = new QVBoxLayout(attention_tab_);
  attention_layout->addLayout(form);
  attention_layout->addWidget(new QLabel(tr("Heads of this layer (click to show one):")));
  attention_layout->addWidget(heads_grid_, 1);

  // Heads overview tab.
  overview_grid_ = new AttentionGrid(AttentionGrid::Mode::Overview);
  heads_tab_ = new QWidget;
  auto* heads_layout = new QVBoxLayout(heads_tab_);
  heads_layout->addWidget(wrapped(tr("Every layer (rows) and head (columns) for the current query; click one to show it.")));
  heads_layout->addWidget(overview_grid_, 1);

  // Masking tab.
  mode_combo_ = new QComboBox;
  for (const MaskMode m : {MaskMode::DropTokens, MaskMode::MaskToken, MaskMode::FillGray, MaskMode::FillBlur})
    mode_combo_->addItem(mask_mode_name(m), static_cast<int>(m));
  ratio_spin_ = new QSpinBox;
  ratio_spin_->setRange(1, 99);
  ratio_spin_->setValue(50);
  ratio_spin_->setSuffix("%");
  seed_spin_ = new QSpinBox;
  seed_spin_->setRange(0, 1000000);
  auto button = [](const QString& text, const QString& tip) {
    auto* b = new QPushButton(text);
    b->setToolTip(tip);
    return b;
  };
  auto* random_b = button(tr("Random"), tr("Mask the ratio of patches at random (R)"));
  auto* focal_b = button(tr("Focal"), tr("Keep one block, mask the rest (F)"));
  auto* invert_b = button(tr("Invert"), tr("Masked ↔ visible (I)"));
  auto* clear_b = button(tr("Clear"), tr("Unmask everything (C)"));
  auto* most_b = button(tr("Most attended"), tr("Mask the ratio of patches the current map weighs most (A)"));
  auto* least_b = button(tr("Least attended"), tr("Mask the ratio of patches the current map weighs least (L)"));
  connect(random_b, &QPushButton::clicked, this, &MainWindow::maskRandom);
  connect(focal_b, &QPushButton::clicked, this, &MainWindow::maskFocal);
  connect(invert_b, &QPushButton::clicked, this, &MainWindow::maskInvert);
  connect(clear_b, &QPushButton::clicked, this, &MainWindow::maskClear);
  connect(most_b, &QPushButton::clicked, this, [this] { maskByAttention(true); });
  connect(least_b, &QPushButton::clicked, this, [this] { maskByAttention(false); });
  auto* mask_form = new QFormLayout;
  mask_form->addRow(tr("Mode"), mode_combo_);
  auto* ratio_row = new QHBoxLayout;
  ratio_row->addWidget(ratio_spin_);
  ratio_row->addWidget(new QLabel(tr("seed")));
  ratio_row->addWidget(seed_spin_);
  mask_form->addRow(tr("Ratio"), ratio_row);
  auto* buttons = new QGridLayout;
  buttons->addWidget(random_b, 0, 0);
  buttons->addWidget(focal_b, 0, 1);
  buttons->addWidget(invert_b, 0, 2);
  buttons->addWidget(most_b, 1, 0);
  buttons->addWidget(least_b, 1, 1);
  buttons->addWidget(clear_b, 1, 2);
  response_ = wrapped(tr("Click or drag on the image to mask patches; right-click picks a query patch."));
  auto* response_box = new QGroupBox(tr("Response to masking"));
  auto* response_layout = new QVBoxLayout(response_box);
  response_layout->addWidget(response_);
  auto* masking_tab = new QWidget;
  auto* masking_layout = new QVBoxLayout(masking_tab);
  masking_layout->addLayout(mask_form);
  masking_layout->addLayout(buttons);
  masking_layout->addWidget(response_box);
  masking_layout->addStretch(1);
  connect(mode_combo_, &QComboBox::currentIndexChanged, this, [this] {
    if (ImageState* s = current(); s && s->mask.any()) applyMask(s->mask);
  });

  sweep_view_ = new SweepView;
  connect(sweep_view_, &SweepView::runRequested, this, [this] {
    const ImageState* s = current();
    if (!s || !s->baseline) return;
    SweepRequest request;
    request.seeds = sweep_view_->seeds();
    sweep_running_ = true;
    sweep_view_->setRunning(true);
    worker_->requestSweep(current_id_, request, mapSpec());
  });
  connect(sweep_view_, &SweepView::cancelRequested, this, [this] { worker_->cancelSweep(); });

  // Few-shot classes tab.
  classes_ = new ClassList;
  classes_status_ = wrapped(tr("Name classes and drag a few example thumbnails (or image files) onto each: MSN's "
                               "low-shot protocol fits a logistic regression on the CLS embeddings."));
  auto* add_class = button(tr("Add class…"), tr("A new few-shot class"));
  auto* rename_class = button(tr("Rename…"), tr("Rename the selected class"));
  auto* remove_class = button(tr("Remove"), tr("Remove the selected class"));
  auto* add_current = button(tr("Add current image"), tr("The image on the canvas becomes an example of the selected class"));
  auto* save_classes = button(tr("Save…"), tr("Save the fitted classes (.fewshot)"));
  auto* load_classes = button(tr("Load…"), tr("Load classes saved before (.fewshot)"));
  connect(add_class, &QPushButton::clicked, this, [this] {
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Add class"), tr("Class name:"), QLineEdit::Normal, {}, &ok);
    if (ok && !name.trimmed().isEmpty()) addClass(name.trimmed());
  });
  connect(rename_class, &QPushButton::clicked, this, [this] {
    const int row = classes_->currentRow();
    if (row < 0) return;
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename class"), tr("Class name:"), QLineEdit::Normal, classes_->className(row), &ok);
    if (ok) classes_->renameClass(row, name);
  });
  connect(remove_class, &QPushButton::clicked, this, [this] {
    if (classes_->currentRow() >= 0) classes_->removeClass(classes_->currentRow());
  });
  connect(add_current, &QPushButton::clicked, this, [this] {
    if (current() && classes_->currentRow() >= 0) classes_->addExamples(classes_->currentRow(), {current_id_});
  });
  connect(save_classes, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save classes"), "classes.fewshot", tr("Few-shot classes (*.fewshot)"));
    if (!path.isEmpty()) QMetaObject::invokeMethod(worker_, [w = worker_, path] { w->saveFewShot(path); }, Qt::QueuedConnection);
  });
  connect(load_classes, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load classes"), {}, tr("Few-shot classes (*.fewshot)"));
    if (path.isEmpty()) return;
    classes_->clearClasses();
    QMetaObject::invokeMethod(worker_, [w = worker_, path] { w->loadFewShot(path); }, Qt::QueuedConnection);
  });
  connect(classes_, &ClassList::examplesChanged, this, &MainWindow::refitClasses);
  connect(classes_, &ClassList::filesDropped, this, [this](int row, const QStringList& paths) {
    const quint64 first = next_id_;
    addImageFiles(paths);
    QList<quint64> ids;
    for (quint64 id = first; id < next_id_; ++id) ids << id;
    classes_->addExamples(row, ids);
  });
  auto* class_buttons = new QGridLayout;
  class_buttons->addWidget(add_class, 0, 0);
  class_buttons->addWidget(rename_class, 0, 1);
  class_buttons->addWidget(remove_class, 0, 2);
  class_buttons->addWidget(add_current, 1, 0);
  class_buttons->addWidget(save_classes, 1, 1);
  class_buttons->addWidget(load_classes, 1, 2);
  auto* classes_tab = new QWidget;
  auto* classes_layout = new QVBoxLayout(classes_tab);
  classes_layout->addWidget(classes_status_);
  classes_layout->addLayout(class_buttons);
  classes_layout->addWidget(classes_, 1);
  image_list_->setDragEnabled(true);
  image_list_->setDragDropMode(QAbstractItemView::DragOnly);

  tabs_ = new QTabWidget;
  tabs_->setUsesScrollButtons(false);  // every tab visible: the panel widens to fit them
  tabs_->addTab(attention_tab_, tr("Attention"));
  tabs_->addTab(heads_tab_, tr("Heads"));
  tabs_->addTab(masking_tab, tr("Masking"));
  tabs_->addTab(sweep_view_, tr("Sweep"));
  tabs_->addTab(classes_tab, tr("Classes"));
  lens_view_ = new DepthLensView;
  tabs_->addTab(lens_view_, tr("Lens"));
  connect(tabs_, &QTabWidget::currentChanged, this, [this] { refreshView(); });  // what the new tab shows

  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  right_layout->addWidget(model_box);
  right_layout->addWidget(predictions_box);
  right_layout->addWidget(tabs_, 1);
  right->setMinimumWidth(400);

  auto* splitter = new QSplitter;
  splitter->setObjectName("mainSplitter");
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 2);
  setCentralWidget(splitter);

  status_device_ = new QLabel;
  status_latency_ = new QLabel;
  busy_ = new QProgressBar;
  busy_->setRange(0, 0);
  busy_->setMaximumWidth(120);
  busy_->setMaximumHeight(14);
  busy_->hide();
  statusBar()->addPermanentWidget(busy_);
  busy_delay_.setSingleShot(true);
  busy_delay_.setInterval(250);
  connect(&busy_delay_, &QTimer::timeout, this, [this] { busy_->setVisible(busy_count_ > 0); });
  statusBar()->addPermanentWidget(status_latency_);
  statusBar()->addPermanentWidget(status_device_);

  for (QObject* control : std::initializer_list<QObject*>{source_combo_, head_combo_, colormap_combo_, shown_combo_})
    connect(qobject_cast<QComboBox*>(control), &QComboBox::currentIndexChanged, this, [this] { refreshView(); });
  connect(layer_slider_, &QSlider::valueChanged, this, [this] { refreshView(); });
  connect(discard_slider_, &QSlider::valueChanged, this, [this] { refreshView(); });
  connect(opacity_slider_, &QSlider::valueChanged, this, [this](int v) { canvas_->setOverlayOpacity(v / 100.0); });
  connect(grid_check_, &QCheckBox::toggled, canvas_, &ImageCanvas::setShowGrid);
  connect(cls_button, &QPushButton::clicked, this, [this] {
    canvas_->setQueryPatch(-1);
    refreshView();
  });
  auto pick = [this](int layer, int head) {
    layer_slider_->setValue(layer);
    head_combo_->setCurrentIndex(3 + head);
    source_combo_->setCurrentIndex(0);
  };
  connect(heads_grid_, &AttentionGrid::headPicked, this, pick);
  connect(overview_grid_, &AttentionGrid::headPicked, this, pick);
  resize(1280, 800);
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
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  file->addAction(tr("&Paste Image"), QKeySequence::Paste, this, [this] { handleMimeData(QApplication::clipboard()->mimeData()); });
  file->addSeparator();
  file->addAction(tr("&Export Overlay PNG…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportOverlay);
  file->addAction(tr("Export &Report JSON…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, &MainWindow::exportReport);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* mask = menuBar()->addMenu(tr("&Mask"));
  mask->addAction(tr("&Random"), QKeySequence(Qt::Key_R), this, &MainWindow::maskRandom);
  mask->addAction(tr("&Focal"), QKeySequence(Qt::Key_F), this, &MainWindow::maskFocal);
  mask->addAction(tr("Most &attended"), QKeySequence(Qt::Key_A), this, [this] { maskByAttention(true); });
  mask->addAction(tr("&Least attended"), QKeySequence(Qt::Key_L), this, [this] { maskByAttention(false); });
  mask->addAction(tr("&Invert"), QKeySequence(Qt::Key_I), this, &MainWindow::maskInvert);
  mask->addAction(tr("&Clear"), QKeySequence(Qt::Key_C), this, &MainWindow::maskClear);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(tr("Previous layer"), QKeySequence(Qt::Key_BracketLeft), this, [this] { layer_slider_->setValue(layer_slider_->value() - 1); });
  view->addAction(tr("Next layer"), QKeySequence(Qt::Key_BracketRight), this, [this] { layer_slider_->setValue(layer_slider_->value() + 1); });
  view->addAction(tr("Next head"), QKeySequence(Qt::Key_H), this, [this] {
    if (head_combo_->count() > 0) head_combo_->setCurrentIndex((head_combo_->currentIndex() + 1) % head_combo_->count());
  });
  view->addAction(tr("Query: CLS"), QKeySequence(Qt::Key_Q), this, [this] {
    canvas_->setQueryPatch(-1);
    refreshView();
  });
  view->addAction(tr("Fit image"), QKeySequence(Qt::Key_0), canvas_, &ImageCanvas::resetView);
  view->addSeparator();
  for (int i = 0; i < tabs_->count(); ++i)
    view->addAction(tabs_->tabText(i), QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
  view->addAction(tr("Previous image"), QKeySequence(Qt::Key_PageUp), this, [this] {
    const int row = image_model_->rowOf(current_id_);
    if (row > 0) image_list_->setCurrentIndex(image_model_->index(row - 1));
  });
  view->addAction(tr("Next image"), QKeySequence(Qt::Key_PageDown), this, [this] {
    const int row = image_model_->rowOf(current_id_);
    if (row >= 0 && row + 1 < image_model_->rowCount()) image_list_->setCurrentIndex(image_model_->index(row + 1));
  });

  QMenu* engine = menuBar()->addMenu(tr("&Engine"));
  auto* precisions = new QActionGroup(this);
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
}

void MainWindow::restoreSettings() {
  const QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  if (auto* splitter = findChild<QSplitter*>("mainSplitter")) splitter->restoreState(s.value("window/splitter").toByteArray());
  colormap_combo_->setCurrentIndex(std::max(0, colormap_combo_->findData(s.value("view/colormap", static_cast<int>(Colormap::Inferno)).toInt())));
  opacity_slider_->setValue(s.value("view/opacity", 60).toInt());
  grid_check_->setChecked(s.value("view/grid", true).toBool());
  mode_combo_->setCurrentIndex(std::max(0, mode_combo_->findData(s.value("mask/mode", 0).toInt())));
  ratio_spin_->setValue(s.value("mask/ratio", 50).toInt());
  topk_spin_->setValue(s.value("view/topk", 5).toInt());
  device_ = s.value("engine/device", "auto").toString();
  precision_ = s.value("engine/precision", "auto").toString();
  canvas_->setOverlayOpacity(opacity_slider_->value() / 100.0);
  canvas_->setShowGrid(grid_check_->isChecked());
  rebuildRecentMenu();
}

void MainWindow::saveSettings() const {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  if (auto* splitter = findChild<QSplitter*>("mainSplitter")) s.setValue("window/splitter", splitter->saveState());
  s.setValue("view/colormap", colormap_combo_->currentData());
  s.setValue("view/opacity", opacity_slider_->value());
  s.setValue("view/grid", grid_check_->isChecked());
  s.setValue("view/topk", topk_spin_->value());
  s.setValue("mask/mode", mode_combo_->currentData());
  s.setValue("mask/ratio", ratio_spin_->value());
  s.setValue("engine/device", device_);
  s.setValue("engine/precision", precision_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

void MainWindow::setDevice(const QString& device, const QString& precision) {
  device_ = device;
  precision_ = precision;
}

void MainWindow::addRecent(const QString& path) {
  QSettings s;
  QStringList recent = s.value("recent").toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > 10) recent.removeLast();
  s.setValue("recent", recent);
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  recent_menu_->clear();
  const QStringList recent = QSettings().value("recent").toStringList();
  for (const QString& path : recent)
    recent_menu_->addAction(path, this, [this, path] {
      if (is_model_path(path)) loadModel(path);
      else addImageFiles({path});
    });
  recent_menu_->setEnabled(!recent.isEmpty());
}

// ---- loading ------------------------------------------------------------------------------

void MainWindow::loadModel(const QString& path, bool demo) {
  clearError();
  load_timer_.start();
  model_details_->setText(tr("Loading %1…").arg(path));
  const QString device = device_, precision = precision_;
  QMetaObject::invokeMethod(worker_, [w = worker_, path, device, precision, demo] { w->loadModel(path, device, precision, demo); },
                            Qt::QueuedConnection);
}

quint64 MainWindow::newImage(const QString& name) {
  const quint64 id = next_id_++;
  images_[id].name = name;
  image_model_->add(id, name);
  return id;
}

void MainWindow::addImageFiles(const QStringList& paths) {
  for (const QString& path : paths) {
    const quint64 id = newImage(QFileInfo(path).fileName());
    QMetaObject::invokeMethod(worker_, [w = worker_, id, path] { w->addImageFile(id, path); }, Qt::QueuedConnection);
    addRecent(QFileInfo(path).absoluteFilePath());
  }
}

void MainWindow::addImageData(const QByteArray& encoded, const QString& name) {
  const quint64 id = newImage(name);
  QMetaObject::invokeMethod(worker_, [w = worker_, id, encoded, name] { w->addImageData(id, encoded, name); }, Qt::QueuedConnection);
}

void MainWindow::addImage(const QImage& image, const QString& name) {
  const quint64 id = newImage(name);
  QMetaObject::invokeMethod(worker_, [w = worker_, id, image, name] { w->addImage(id, image, name); }, Qt::QueuedConnection);
}

void MainWindow::handleMimeData(const QMimeData* mime) {
  if (!mime) return;
  QStringList images;
  for (const QUrl& url : mime->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (is_model_path(path)) loadModel(path);
    else images << path;
  }
  if (!images.isEmpty()) {
    addImageFiles(images);
    return;
  }
  if (!mime->urls().isEmpty()) return;
  // Image data from another application: the encoded bytes when offered (so our decoder and
  // its checks apply), else the decoded image Qt hands over.
  for (const QString& format : mime->formats()) {
    if (format.startsWith("image/") && !mime->data(format).isEmpty()) {
      addImageData(mime->data(format), tr("pasted %1").arg(format.mid(6)));
      return;
    }
  }
  if (mime->hasImage()) addImage(qvariant_cast<QImage>(mime->imageData()), tr("pasted image"));
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
  predictor_ = Predictor(predictor_labels(info_), info_.num_prototypes);  // the worker sends the model's classes next
  few_shot_source_.clear();
  clearError();
  model_title_->setText(info.title);
  QStringList lines = {info.format, info.architecture,
                       tr("%1 · %2 · loaded in %3 ms").arg(info.device, info.precision).arg(info.load_ms, 0, 'f', 0),
                       tr("classifier: %1 · prototypes: %2 · mask token: %3")
                           .arg(info.has_classifier ? tr("yes (%1 labels)").arg(info.labels.size()) : tr("no"))
                           .arg(info.has_prototypes ? tr("yes (%1)").arg(info.num_prototypes) : tr("no"))
                           .arg(info.has_mask_token ? tr("yes") : tr("no"))};
  model_details_->setText(lines.join("\n"));
  status_device_->setText(tr("%1 · %2").arg(info.device, info.precision));
  prediction_chosen_ = false;  // a new model: its best source again, until the user picks one
  updatePredictionSources();
  // The mask-token mode needs a mask token.
  if (auto* model = qobject_cast<QStandardItemModel*>(mode_combo_->model()))
    model->item(1)->setEnabled(info.has_mask_token);
  if (!info.has_mask_token && mode_combo_->currentIndex() == 1) mode_combo_->setCurrentIndex(0);
  updateAttentionControls();
  sent_.reset();
  first_result_pending_ = true;
  for (auto& [id, state] : images_) {
    state.baseline.reset();
    state.masked.reset();
    state.maps.reset();
    state.mask = PatchMask(info.grid_rows, info.grid_cols);
  }
  if (const ImageState* s = current()) canvas_->setMask(s->mask);
  for (const auto& [id, state] : images_)  // the current image first, then the rest for the strip
    if (id == current_id_) QMetaObject::invokeMethod(worker_, [w = worker_, id = id] { w->requestBaseline(id); }, Qt::QueuedConnection);
  for (const auto& [id, state] : images_)
    if (id != current_id_) QMetaObject::invokeMethod(worker_, [w = worker_, id = id] { w->requestBaseline(id); }, Qt::QueuedConnection);
  sweep_view_->setResult({});
  addRecent(info.path);
  if (userClassesHaveExamples()) refitClasses();  // the user's classes, on the new model's features
  Q_EMIT modelReady();
  refreshView();
}

void MainWindow::onModelFailed(const QString& message) {
  showError(tr("Could not load the model: %1").arg(message));
  model_details_->setText(info_.path.isEmpty() ? tr("No model loaded.") : tr("Still using %1.").arg(info_.title));
}

void MainWindow::onImageDecoded(quint64 id, const QImage& image, const QString&) {
  auto it = images_.find(id);
  if (it == images_.end()) return;
  it->second.image = image;
  it->second.mask = PatchMask(info_.grid_rows, info_.grid_cols);
  image_model_->setThumbnail(id, image);
  // The list makes its first row current as soon as it exists, before the pixels arrive.
  if (id == current_id_) selectImage(id);
  else if (!current() || current()->image.isNull()) image_list_->setCurrentIndex(image_model_->index(image_model_->rowOf(id)));
  if (!info_.path.isEmpty())
    QMetaObject::invokeMethod(worker_, [w = worker_, id] { w->requestBaseline(id); }, Qt::QueuedConnection);
}

void MainWindow::onImageFailed(quint64 id, const QString& message) {
  showError(tr("Could not open the image: %1").arg(message));
  images_.erase(id);
  image_model_->remove(id);
  if (!screenshot_path_.isEmpty()) {
    std::fprintf(stderr, "msnlens: %s\n", qPrintable(message));
    QApplication::exit(1);
  }
}

void MainWindow::onBaseline(const ViewSummaryPtr& summary) {
  auto it = images_.find(summary->image_id);
  if (it == images_.end() || it->second.baseline == summary) return;
  it->second.baseline = summary;
  refreshCaptions();
  if (summary->image_id == current_id_) refreshView();
  maybeFinishScreenshot();
}

void MainWindow::onViewReady(const ViewResult& result) {
  auto it = images_.find(result.unmasked->image_id);
  if (it == images_.end()) return;
  ImageState& state = it->second;
  const bool new_baseline = state.baseline != result.unmasked;
  state.baseline = result.unmasked;
  if (result.masked && result.masked->mask == state.mask) state.masked = result.masked;  // else superseded by a newer edit
  state.maps = result.maps;
  if (new_baseline) refreshCaptions();
  if (result.unmasked->image_id != current_id_) return;
  if (result.masked) status_latency_->setText(tr("masked %1 ms").arg(result.latency_ms, 0, 'f', 0));
  else status_latency_->setText(tr("unmasked %1 ms").arg(result.unmasked->latency_ms, 0, 'f', 0));
  if (click_pending_ && mapsCurrent(state)) result_latencies_.push_back(result.latency_ms);
  refreshView();
}

void MainWindow::finishClickMeasure() {
  if (!click_pending_) return;
  canvas_->repaint();  // the measure ends when the new overlay is on screen
  click_latencies_.push_back(static_cast<double>(click_timer_.nsecsElapsed()) / 1e6);
  click_pending_ = false;
  status_latency_->setText(status_latency_->text().section(QStringLiteral(" · "), 0, 0) +
                           tr(" · click to repaint %1 ms").arg(click_latencies_.back(), 0, 'f', 0));
  maybeFinishScreenshot();
}

void MainWindow::onSweepFinished(const SweepResult& result) {
  sweep_running_ = false;
  sweep_view_->setRunning(false);
  sweep_view_->setResult(result);
  maybeFinishScreenshot();
}

void MainWindow::onBusy(bool busy) {
  busy_count_ += busy ? 1 : -1;
  // Shown only for work that lasts: an animated bar flashing for every 20 ms mask edit is noise,
  // and its repaints take a core from the very inference it announces.
  if (busy_count_ > 0 && !busy_->isVisible()) busy_delay_.start();
  if (busy_count_ == 0) {
    busy_delay_.stop();
    busy_->hide();
  }
}

void MainWindow::showError(const QString& message) {
  error_->setText(message);
  error_->show();
  statusBar()->showMessage(message, 8000);
}

void MainWindow::clearError() {
  error_->clear();
  error_->hide();
}

QString MainWindow::errorText() const { return error_->isVisible() ? error_->text() : QString(); }

// ---- images and masks ---------------------------------------------------------------------

MainWindow::ImageState* MainWindow::current() {
  const auto it = images_.find(current_id_);
  return it == images_.end() ? nullptr : &it->second;
}

const MainWindow::ImageState* MainWindow::current() const {
  const auto it = images_.find(current_id_);
  return it == images_.end() ? nullptr : &it->second;
}

ViewSummaryPtr MainWindow::baseline() const { return current() ? current()->baseline : nullptr; }
ViewSummaryPtr MainWindow::maskedResult() const { return current() ? current()->masked : nullptr; }
ViewMapsPtr MainWindow::shownMaps() const { return current() ? current()->maps : nullptr; }
bool MainWindow::viewCurrent() const { return current() && mapsCurrent(*current()); }

void MainWindow::selectImage(quint64 id) {
  if (!images_.count(id)) return;
  current_id_ = id;
  ImageState& s = images_[id];
  canvas_->setImage(s.image);
  canvas_->setMask(s.mask);
  canvas_->setQueryPatch(-1);
  sweep_view_->setResult({});
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

double MainWindow::maskRatio() const { return ratio_spin_->value() / 100.0; }

void MainWindow::maskRandom() {
  if (const ImageState* s = current())
    applyMask(PatchMask::random(s->mask.rows(), s->mask.cols(), maskRatio(), static_cast<std::uint64_t>(seed_spin_->value())));
}

void MainWindow::maskInvert() {
  if (const ImageState* s = current()) {
    PatchMask m = s->mask;
    m.invert();
    applyMask(m);
  }
}

void MainWindow::maskClear() {
  if (const ImageState* s = current()) applyMask(PatchMask(s->mask.rows(), s->mask.cols()));
}

void MainWindow::maskFocal() {
  if (const ImageState* s = current())
    applyMask(PatchMask::focal(s->mask.rows(), s->mask.cols(), maskRatio(), static_cast<std::uint64_t>(seed_spin_->value())));
}

void MainWindow::maskByAttention(bool most) {
  if (!current() || info_.path.isEmpty()) return;
  const MapSpec spec = mapSpec();
  const double ratio = maskRatio();
  QMetaObject::invokeMethod(worker_, [w = worker_, id = current_id_, spec, ratio, most] { w->maskByMap(id, spec, ratio, most); },
                            Qt::QueuedConnection);
}

// ---- views --------------------------------------------------------------------------------

void MainWindow::updateAttentionControls() {
  const QSignalBlocker b1(layer_slider_), b2(head_combo_);
  layer_slider_->setRange(0, std::max(0, info_.layers - 1));
  layer_slider_->setValue(std::max(0, info_.layers - 1));
  head_combo_->clear();
  head_combo_->addItems({tr("Mean of heads"), tr("Max over heads"), tr("Min over heads")});
  for (int h = 0; h < info_.heads; ++h) head_combo_->addItem(tr("Head %1").arg(h + 1));
}

MapSpec MainWindow::mapSpec() const {
  MapSpec s;
  s.source = source_combo_->currentIndex() == 1 ? MapSpec::Source::Rollout : MapSpec::Source::Attention;
  s.layer = layer_slider_->value();
  const int h = head_combo_->currentIndex();
  s.fusion = h <= 0 ? HeadFusion::Mean : h == 1 ? HeadFusion::Max : h == 2 ? HeadFusion::Min : HeadFusion::Single;
  s.head = std::max(0, h - 3);
  s.query_patch = canvas_->queryPatch();
  s.discard_ratio = static_cast<float>(discard_slider_->value()) / 100.0f;
  return s;
}

Colormap MainWindow::colormap() const { return static_cast<Colormap>(colormap_combo_->currentData().toInt()); }

std::optional<ViewRequest> MainWindow::desiredView() const {
  const ImageState* s = current();
  if (!s || s->image.isNull() || info_.path.isEmpty()) return std::nullopt;
  ViewRequest r;
  r.image_id = current_id_;
  r.mask = s->mask;
  r.mode = static_cast<MaskMode>(mode_combo_->currentData().toInt());
  r.show_masked = shown_combo_->currentIndex() == 0;
  r.maps.map = mapSpec();
  // Only what the visible tab draws: the overview alone recomputes every layer's attention.
  r.maps.heads = tabs_->currentWidget() == attention_tab_;
  r.maps.overview = tabs_->currentWidget() == heads_tab_;
  r.maps.lens = tabs_->currentWidget() == lens_view_;
  return r;
}

bool MainWindow::mapsCurrent(const ImageState& s) const {
  const std::optional<ViewRequest> want = desiredView();
  const ViewMaps* m = s.maps.get();
  if (!want || !m || m->image_id != want->image_id || !(m->request == want->maps)) return false;
  const bool masked = want->show_masked && want->mask.any();
  return masked ? (m->masked && m->mask == want->mask && m->mode == want->mode) : !m->masked;
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
  layer_label_->setText(tr("%1 / %2").arg(layer_slider_->value() + 1).arg(std::max(1, info_.layers)));
  layer_slider_->setEnabled(spec.source == MapSpec::Source::Attention);
  discard_slider_->setEnabled(spec.source == MapSpec::Source::Rollout);
  query_label_->setText(spec.query_patch < 0 ? tr("CLS token") : tr("patch %1 (row %2, column %3)")
                                                                      .arg(spec.query_patch).arg(spec.query_patch / std::max(1, info_.grid_cols) + 1)
                                                                      .arg(spec.query_patch % std::max(1, info_.grid_cols) + 1));
  requestMissingView();
  const ViewMaps* maps = s ? s->maps.get() : nullptr;
  // Redrawn only when the maps or how they are drawn changed: a click asks for a new result
  // first, and repainting the old one meanwhile would take a core from the forward pass.
  const auto drawn = std::make_tuple(s ? s->maps : nullptr, spec, colormap(), s ? s->image.cacheKey() : 0);
  if (drawn != drawn_) {
    drawn_ = drawn;
    if (!maps) {
      canvas_->setOverlay({});
      heads_grid_->setData({}, nullptr, spec, colormap(), info_.grid_rows, info_.grid_cols);
      overview_grid_->setData({}, nullptr, spec, colormap(), info_.grid_rows, info_.grid_cols);
    } else {
      // The latest maps of this image, until those asked for arrive.
      canvas_->setOverlay(heatmap_image(display_map(maps->map, maps->request.map.query_patch), info_.grid_cols, info_.grid_rows, colormap()));
      heads_grid_->setData(s->image, s->maps, spec, colormap(), info_.grid_rows, info_.grid_cols);
      overview_grid_->setData({}, s->maps, spec, colormap(), info_.grid_rows, info_.grid_cols);
    }
  }
  predictions_->setRanking(ranking());
  sweep_view_->setAvailable(s && s->baseline != nullptr && !sweep_running_);
  refreshLens(maps);
  refreshResponse();
  if (s && click_pending_ && mapsCurrent(*s)) finishClickMeasure();
  Q_EMIT viewUpdated();
  maybeFinishScreenshot();
}

void MainWindow::refreshLens(const ViewMaps* maps) {
  std::vector<LensRow> rows;
  if (maps) {
    const PredictionSource source = predictionSource();
    for (const Readout& layer : maps->lens) {
      LensRow row;
      if (const auto top = predictor_.top1(layer, source)) row.label = QString::fromStdString(top->label), row.score = top->score;
      row.cosine = cosine_similarity(layer.cls, maps->lens.back().cls);  // the last layer's read-out is the output
      rows.push_back(row);
    }
  }
  const QString view = maps && maps->masked ? tr("the masked view") : tr("the unmasked image");
  lens_view_->setRows(maps && !maps->lens.empty()
                          ? tr("What the CLS token would predict after each layer of %1, read out through the final "
                               "LayerNorm and %2.").arg(view, prediction_combo_->currentText())
                          : tr("No result yet."),
                      rows);
}

void MainWindow::refreshResponse() {
  const ImageState* s = current();
  if (!s || !s->baseline || !s->mask.any() || !s->masked) {
    response_->setText(s && s->mask.any() ? tr("Running the masked view…")
                                          : tr("Click or drag on the image to mask patches; right-click picks a query patch."));
    return;
  }
  const ViewSummary& m = *s->masked;
  const PredictionSource source = predictionSource();
  const MaskingResponse r = masking_response(*s->baseline, m, predictor_, source);
  QStringList lines;
  lines << tr("<b>%1 of %2 patches masked</b> (%3%), %4")
               .arg(m.mask.count()).arg(m.mask.size()).arg(100.0 * m.mask.ratio(), 0, 'f', 0).arg(mask_mode_name(m.mode));
  lines << tr("CLS embedding cosine similarity to unmasked: <b>%1</b>").arg(r.cls_cosine, 0, 'f', 4);
  if (r.top1_before && r.top1_after && source != PredictionSource::Prototypes) {
    const QString before = QString::fromStdString(r.top1_before->label), after = QString::fromStdString(r.top1_after->label);
    lines << (r.top1_before->index == r.top1_after->index ? tr("Top-1 unchanged: %1").arg(before)
                                                          : tr("Top-1 changed: %1 → <b>%2</b>").arg(before, after));
  }
  if (r.prototype_kl)
    lines << tr("Prototype KL(unmasked ‖ masked): <b>%1</b> nats; top prototype %2 → %3")
                 .arg(*r.prototype_kl, 0, 'f', 4).arg(r.prototype_before).arg(r.prototype_after);
  lines << tr("Latency, edit to result: %1 ms").arg(m.latency_ms, 0, 'f', 0);
  response_->setText(lines.join("<br>"));
}

// ---- predictions and few-shot classes -----------------------------------------------------

void MainWindow::updatePredictionSources() {
  const QSignalBlocker block(prediction_combo_);
  const QVariant previous = prediction_combo_->currentData();
  prediction_combo_->clear();
  for (const PredictionSource source : predictor_.sources()) {
    switch (source) {
      case PredictionSource::Classifier: prediction_combo_->addItem(tr("Classifier: %1 labels").arg(info_.labels.size()), static_cast<int>(source)); break;
      case PredictionSource::FewShot:
        prediction_combo_->addItem(tr("Few-shot classes (%1, %2)").arg(predictor_.few_shot().classes.size()).arg(few_shot_source_), static_cast<int>(source));
        break;
      case PredictionSource::Prototypes: prediction_combo_->addItem(tr("MSN prototypes (%1)").arg(info_.num_prototypes), static_cast<int>(source)); break;
      case PredictionSource::None: prediction_combo_->addItem(tr("No classifier"), static_cast<int>(source)); break;
    }
  }
  // Keep the user's choice; otherwise the predictor's preference (few-shot classes before
  // prototypes when there is no classifier).
  const int keep = prediction_chosen_ ? prediction_combo_->findData(previous) : -1;
  prediction_combo_->setCurrentIndex(keep >= 0 ? keep : prediction_combo_->findData(static_cast<int>(predictor_.preferred())));
}

PredictionSource MainWindow::predictionSource() const {
  return static_cast<PredictionSource>(prediction_combo_->currentData().toInt());
}

QString MainWindow::scoreLabel(int i) const {
  const PredictionSource source = predictionSource();
  if (source == PredictionSource::Prototypes) return tr("prototype %1").arg(i);
  return QString::fromStdString(predictor_.label(source, i));
}

Ranking MainWindow::ranking() const {
  Ranking r;
  const ImageState* s = current();
  const int k = predictions_->topK();
  const PredictionSource source = predictionSource();
  switch (source) {
    case PredictionSource::Classifier: r.heading = tr("Top-%1 classes").arg(k); break;
    case PredictionSource::FewShot: r.heading = tr("Few-shot classes (%1)").arg(QString::fromStdString(predictor_.few_shot().kind)); break;
    case PredictionSource::Prototypes: r.heading = tr("MSN prototype assignment"); break;
    case PredictionSource::None: r.heading = tr("No classifier in this checkpoint"); break;
  }
  if (!info_.path.isEmpty() && !info_.has_classifier)
    r.note = source == PredictionSource::None
                 ? tr("Released ViT-MSN backbones carry no trained head, so no class labels are shown. Define few-shot "
                      "classes in the Classes tab; attention and the CLS representation respond to masking regardless.")
                 : tr("This checkpoint has no trained classifier; these are %1, not labels from a head.")
                       .arg(source == PredictionSource::FewShot ? tr("your few-shot classes") : tr("MSN's prototypes"));
  if (!s || !s->baseline) return r;
  for (int i = 0; i < predictor_.size(source); ++i) r.labels << scoreLabel(i);
  r.before = predictor_.scores(*s->baseline, source);
  if (s->masked && s->mask.any()) {
    r.after = predictor_.scores(*s->masked, source);
    r.masked = s->masked->mask.count();
    r.patches = s->masked->mask.size();
  }
  return r;
}

void MainWindow::refreshCaptions() {
  // Thumbnail captions: each image's unmasked top-1 under the current source.
  for (const auto& [id, state] : images_) {
    if (!state.baseline) continue;
    const auto top = predictor_.top1(*state.baseline, predictionSource());
    image_model_->setCaption(id, top ? QStringLiteral("%1 %2%").arg(scoreLabel(top->index)).arg(100.0 * top->score, 0, 'f', 0) : QString());
  }
}

int MainWindow::addClass(const QString& name) { return classes_->addClass(name); }

bool MainWindow::userClassesHaveExamples() const {
  for (int row = 0; row < classes_->count(); ++row)
    if (!classes_->examples(row).isEmpty()) return true;
  return false;
}

void MainWindow::refitClasses() {
  QStringList names;
  QList<QList<quint64>> examples;
  for (int row = 0; row < classes_->count(); ++row) {
    names << classes_->className(row);
    examples << classes_->examples(row);
  }
  classes_status_->setText(tr("Fitting %1 classes…").arg(names.size()));
  QMetaObject::invokeMethod(worker_, [w = worker_, names, examples] { w->fitFewShot(names, examples); }, Qt::QueuedConnection);
}

void MainWindow::onFewShot(const LinearHead& head, const QString& source) {
  predictor_ = Predictor(predictor_labels(info_), info_.num_prototypes, head);
  few_shot_source_ = source;
  classes_status_->setText(head.empty() ? tr("No few-shot classes yet: add classes and drag example images onto them.")
                                        : tr("%1 classes from %2 (%3).").arg(head.classes.size()).arg(source, QString::fromStdString(head.kind)));
  if (!userClassesHaveExamples()) {  // classes from a file: list them (their examples live in the file)
    const QSignalBlocker block(classes_);
    classes_->clear();
    for (const std::string& name : head.classes) classes_->addClass(QString::fromStdString(name), source);
  }
  updatePredictionSources();
  refreshCaptions();
  refreshView();
}

// ---- export, screenshots, benchmark -------------------------------------------------------

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
                          {"mode", mask_mode_name(static_cast<MaskMode>(mode_combo_->currentData().toInt()))}};
  const MapSpec h = mapSpec();
  r["view"] = QJsonObject{{"source", source_combo_->currentText()}, {"layer", h.layer + 1}, {"heads", head_combo_->currentText()},
                          {"query_patch", h.query_patch}, {"rollout_discard", h.discard_ratio}, {"colormap", colormap_combo_->currentText()}};
  r["predictions"] = QJsonArray::fromStringList(predictions_->rowsText());
  r["prediction_source"] = prediction_combo_->currentText();
  if (s->baseline && s->masked && s->mask.any()) {
    const MaskingResponse m = masking_response(*s->baseline, *s->masked, predictor_, predictionSource());
    QJsonObject response{{"cls_cosine", m.cls_cosine}, {"latency_ms", s->masked->latency_ms}};
    if (m.prototype_kl) response["prototype_kl"] = *m.prototype_kl;
    r["response"] = response;
  }
  return r;
}

void MainWindow::exportOverlay() {
  if (!current()) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export overlay"), current()->name + "-overlay.png", tr("PNG (*.png)"));
  if (!path.isEmpty() && !canvas_->renderComposite().save(path)) showError(tr("Could not write %1").arg(path));
}

void MainWindow::exportReport() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export report"), "msnlens-report.json", tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(report()).toJson()) < 0) showError(tr("Could not write %1").arg(path));
}

void MainWindow::requestScreenshot(const QString& path, const QString& view) {
  screenshot_path_ = path;
  screenshot_view_ = view;
  const QStringList tabs = {"attention", "heads", "masking", "sweep", "classes", "lens"};
  tabs_->setCurrentIndex(std::max(0, static_cast<int>(tabs.indexOf(view))));
  connect(worker_, &InferenceWorker::modelFailed, this, [](const QString& message) {
    std::fprintf(stderr, "msnlens: %s\n", qPrintable(message));
    QApplication::exit(1);
  });
  connect(worker_, &InferenceWorker::failed, this, [](const QString& message) {
    std::fprintf(stderr, "msnlens: %s\n", qPrintable(message));
    QApplication::exit(1);
  });
}

void MainWindow::maybeFinishScreenshot() {
  const ImageState* s = current();
  if (!s || !s->baseline || !mapsCurrent(*s)) return;
  if (first_result_pending_) {
    first_result_ms_ = static_cast<double>(load_timer_.nsecsElapsed()) / 1e6;
    first_result_pending_ = false;
  }
  if (benchmark_clicks_ > 0 && !click_pending_) {
    if (static_cast<int>(click_latencies_.size()) >= benchmark_clicks_) {
      std::printf("click-to-repaint over %zu toggles: p50 %.1f ms, p95 %.1f ms; of which edit-to-result in the worker "
                  "p50 %.1f ms, p95 %.1f ms; model load to first result %.0f ms (%s, %s)\n",
                  click_latencies_.size(), percentile(click_latencies_, 0.5), percentile(click_latencies_, 0.95),
                  percentile(result_latencies_, 0.5), percentile(result_latencies_, 0.95), first_result_ms_,
                  qPrintable(info_.device), qPrintable(info_.precision));
      benchmark_clicks_ = 0;
      QTimer::singleShot(0, qApp, [] { QApplication::exit(0); });
      return;
    }
    // Next toggle through the real mouse path, once the event loop is idle again.
    if (click_scheduled_) return;
    click_scheduled_ = true;
    const int patch = static_cast<int>((click_latencies_.size() * 37 + 11) % static_cast<std::size_t>(std::max(1, s->mask.size())));
    QTimer::singleShot(0, this, [this, patch] {
      click_scheduled_ = false;
      const QPoint at = canvas_->patchCenter(patch);
      QMouseEvent press(QEvent::MouseButtonPress, at, canvas_->mapToGlobal(at), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
      QMouseEvent release(QEvent::MouseButtonRelease, at, canvas_->mapToGlobal(at), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
      QApplication::sendEvent(canvas_, &press);
      QApplication::sendEvent(canvas_, &release);
    });
    return;
  }
  if (screenshot_path_.isEmpty()) return;
  // Every thumbnail shows its top-1 before the window is grabbed.
  for (const auto& [id, state] : images_)
    if (!state.baseline) return;
  if (screenshot_view_ == "masking" && !screenshot_mask_applied_) {
    screenshot_mask_applied_ = true;
    QTimer::singleShot(0, this, &MainWindow::maskRandom);
    return;
  }
  if (screenshot_view_ == "masking" && !(s->masked && s->mask.any())) return;
  if (screenshot_view_ == "sweep") {
    if (!screenshot_sweep_started_) {
      screenshot_sweep_started_ = true;
      QTimer::singleShot(0, sweep_view_, &SweepView::runRequested);
      return;
    }
    if (sweep_running_ || sweep_view_->result().points.empty()) return;
  }
  const QString path = screenshot_path_;
  screenshot_path_.clear();
  // Let pending paints land, then grab the whole window as a user sees it.
  QTimer::singleShot(50, this, [this, path] {
    const bool ok = grab().save(path);
    if (!ok) std::fprintf(stderr, "msnlens: cannot write screenshot %s\n", qPrintable(path));
    QApplication::exit(ok ? 0 : 1);
  });
}

void MainWindow::requestClickBenchmark(int clicks) { benchmark_clicks_ = clicks; }

}  // namespace msnlens
