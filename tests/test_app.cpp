// The desktop app driven like a user would: synthetic drops of a model and images, mouse
// clicks on patches, layer and head changes, a sweep, corrupt files. Offscreen, real widgets,
// real worker thread and engine.

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QListView>
#include <QMimeData>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QXmlStreamReader>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "analysis/masking_response.h"
#include "engine/precision_choice.h"
#include "engine/workbench.h"
#include "imaging/image_file.h"
#include "core/support.h"
#include "ui/attention_grid.h"
#include "ui/attention_panel.h"
#include "ui/causes_panel.h"
#include "ui/class_list.h"
#include "ui/classes_panel.h"
#include "ui/figure_export.h"
#include "ui/heatmap.h"
#include "ui/image_canvas.h"
#include "ui/lens_panel.h"
#include "ui/main_window.h"
#include "ui/panel_tabs.h"
#include "ui/sweep_panel.h"

using namespace msnlens;
using namespace msntest;

namespace {

constexpr int kTimeoutMs = 60000;

QString qs(const std::string& s) { return QString::fromStdString(s); }
QString data(const std::string& relative) { return qs(data_path(relative).string()); }

// A drag entering, then the drop (Qt delivers drops only to a widget that accepted the enter).
void drop(QWidget* target, const QList<QUrl>& urls) {
  QMimeData mime;
  mime.setUrls(urls);
  QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &enter);
  QDropEvent event(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &event);
  QVERIFY(event.isAccepted());
}

QImage canvasPixels(MainWindow& w) { return w.canvas()->grab().toImage(); }

// Runs one of the converters the exported figures are opened with; "" when it succeeded.
QString convert(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  if (!p.waitForStarted()) return program + " did not start (scripts/install-deps.sh installs it): " + p.errorString();
  if (!p.waitForFinished(kTimeoutMs) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
    return program + " failed: " + QString::fromLocal8Bit(p.readAllStandardError());
  return {};
}

// Where the centre of a patch of `figure` lands in a rendering of the whole figure at any size.
QPoint patchPixel(const Figure& figure, int patch, const QImage& rendering) {
  const QPointF centre = figure_patch_rect(figure, patch).center();
  const QSize size = figure_size(figure);
  return QPointF(centre.x() * rendering.width() / size.width(), centre.y() * rendering.height() / size.height()).toPoint();
}

// Every patch `maps` has a value for shows the canvas's colour for it at its centre (the map
// drawn opaque) in `rendering` of `figure`; "" when they all do.
QString heatColoursAt(const Figure& figure, const ViewMaps& maps, Colormap colormap, const QImage& rendering, const char* what) {
  const int rows = figure.heat.height(), cols = figure.heat.width();
  const MapDisplay shown = map_display(maps);
  const QImage expected = heatmap_image(shown.values, cols, rows, colormap, shown.channels);
  int checked = 0;
  for (int p = 0; p < rows * cols; ++p) {
    const QColor want = expected.pixelColor(p % cols, p / cols);
    if (want.alpha() == 0) continue;  // no value: the photo shows
    const QColor got = rendering.pixelColor(patchPixel(figure, p, rendering));
    if (std::abs(got.red() - want.red()) > 8 || std::abs(got.green() - want.green()) > 8 || std::abs(got.blue() - want.blue()) > 8)
      return QString("%1: patch %2 is %3, its heat colour %4").arg(what).arg(p).arg(got.name(), want.name());
    ++checked;
  }
  return checked > 0 ? QString() : QString("%1: no patch with a value").arg(what);
}

// Distinct colours of an image: a blank or uniform rasterisation has one.
int distinctColours(const QImage& image) {
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2) colours.insert(image.pixel(x, y));
  return static_cast<int>(colours.size());
}

// The window's widget with this objectName: tests never look widgets up by their text.
template <class Widget>
Widget* named(const MainWindow& w, const char* name) {
  auto* widget = w.findChild<Widget*>(QString::fromLatin1(name));
  if (!widget) qFatal("no %s named %s", Widget::staticMetaObject.className(), name);
  return widget;
}

}  // namespace

class AppTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void init();
  void cleanup() { window_.reset(); }
  void dropped_model_and_images_show_predictions();
  void files_from_the_command_line_open_as_drops_do();
  void clicking_patches_runs_the_masked_view();
  void layer_and_head_change_the_heat_map();
  void explanations_show_under_show_and_target();
  void a_second_model_answers_beside_the_first();
  void sweep_leaves_the_ui_responsive();
  void sweep_of_an_image_left_is_not_drawn_on_the_next();
  void faithfulness_strip_and_causes_follow_the_view();
  void corrupt_files_keep_the_previous_state();
  void masking_modes_follow_the_checkpoint();
  void prototypes_without_classifier();
  void few_shot_classes_from_examples();
  void depth_lens_ends_at_the_output();
  void figure_and_map_export_open_in_other_tools();
  void randomized_interaction_ends_in_a_fresh_state();
  void engine_menu_switches_cpu_kernels();
  void saved_precisions_this_cpu_cannot_honour_fall_back();

 private:
  // Drops tiny224-cls and chelsea.png and waits for the first result.
  void openDefault();
  std::unique_ptr<MainWindow> window_;
  QTemporaryDir dir_;
};

void AppTest::initTestCase() {
  QCoreApplication::setOrganizationName("msnlens-tests");
  QCoreApplication::setApplicationName("test_app");
  QSettings().clear();
}

void AppTest::init() {
  window_ = std::make_unique<MainWindow>();
  window_->setDevice("cpu", "fp32");
  window_->resize(1280, 800);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
}

void AppTest::openDefault() {
  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  drop(window_.get(), {QUrl::fromLocalFile(data("models/tiny224-cls"))});
  QVERIFY2(ready.wait(kTimeoutMs), qPrintable(window_->errorText()));
  drop(window_.get(), {QUrl::fromLocalFile(data("images/chelsea.png")), QUrl::fromLocalFile(data("images/coffee.png"))});
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() != nullptr, kTimeoutMs);
}

void AppTest::dropped_model_and_images_show_predictions() {
  openDefault();
  QCOMPARE(window_->modelInfo().layers, 2);
  QCOMPARE(window_->modelInfo().heads, 3);
  QVERIFY(window_->modelInfo().has_classifier);
  QVERIFY(window_->errorText().isEmpty());
  const ViewSummaryPtr base = window_->baseline();
  QCOMPARE(base->class_probs.size(), std::size_t{5});
  QCOMPARE(base->token_patch.size(), std::size_t{196});
  QTRY_VERIFY_WITH_TIMEOUT(window_->shownMaps() != nullptr, kTimeoutMs);
  QCOMPARE(window_->shownMaps()->map.size(), std::size_t{196});
  // The report lists the predictions shown, strongest first.
  const QJsonObject report = window_->report();
  QCOMPARE(report["image"].toString(), QString("chelsea.png"));
  QVERIFY(report["predictions"].toArray().first().toString().startsWith("tabby cat"));
}

void AppTest::files_from_the_command_line_open_as_drops_do() {
  // What a file manager passes (msnlens FILE...): the model folder loads, the image opens.
  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  window_->openFiles({data("images/coffee.png"), data("models/tiny224-cls")});
  QVERIFY2(ready.wait(kTimeoutMs), qPrintable(window_->errorText()));
  QCOMPARE(window_->modelInfo().labels.size(), std::size_t{5});
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() != nullptr, kTimeoutMs);
  QCOMPARE(window_->report()["image"].toString(), QString("coffee.png"));
  QVERIFY(window_->errorText().isEmpty());
}

void AppTest::clicking_patches_runs_the_masked_view() {
  openDefault();
  ImageCanvas* canvas = window_->canvas();
  const QImage before = canvasPixels(*window_);
  QSignalSpy updated(window_.get(), &MainWindow::viewUpdated);
  QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, canvas->patchCenter(20));
  QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, canvas->patchCenter(100));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() && window_->maskedResult()->mask.count() == 2, kTimeoutMs);
  const ViewSummaryPtr masked = window_->maskedResult();
  QVERIFY(masked->mask.masked(20) && masked->mask.masked(100));
  // Token dropping: the model saw 194 patch tokens plus CLS, and the map has no value where it saw none.
  QCOMPARE(masked->token_patch.size(), std::size_t{196 - 2});
  QCOMPARE(std::count(masked->token_patch.begin(), masked->token_patch.end(), 20), 0);
  QTRY_VERIFY_WITH_TIMEOUT(window_->shownMaps()->masked && window_->shownMaps()->mask == masked->mask, kTimeoutMs);
  QVERIFY(std::isnan(window_->shownMaps()->map[20]) && !std::isnan(window_->shownMaps()->map[21]));
  QVERIFY(masked->cls != window_->baseline()->cls);
  QVERIFY(canvasPixels(*window_) != before);
  // Clicking a masked patch again unmasks it.
  QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, canvas->patchCenter(20));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult()->mask.count() == 1, kTimeoutMs);
  QVERIFY(!window_->clickToRepaintMs().empty());
}

void AppTest::layer_and_head_change_the_heat_map() {
  openDefault();
  // Each change asks the worker for that map; the canvas shows it once it is current.
  auto shown = [&] {
    [&] { QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent(), kTimeoutMs); }();
    return canvasPixels(*window_);
  };
  const QImage last_layer = shown();
  auto* layers = named<QSlider>(*window_, "layerSlider");
  auto* heads = named<QComboBox>(*window_, "headCombo");
  layers->setValue(0);
  const QImage first_layer = shown();
  QVERIFY(first_layer != last_layer);
  heads->setCurrentIndex(heads->findData(1, AttentionPanel::HeadRole));  // "Head 2"
  const QImage head2 = shown();
  QVERIFY(head2 != first_layer);
  // Clicking a cell of the overview selects that layer and head.
  window_->tabs()->showTab(PanelTabs::Tab::Heads);
  auto* overview = named<AttentionGrid>(*window_, "overviewGrid");
  QTRY_VERIFY(overview->isVisible());
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->overview.size() == 6, kTimeoutMs);
  QTest::mouseClick(overview, Qt::LeftButton, Qt::NoModifier, overview->cellRect(1, 2).center());
  QCOMPARE(layers->value(), 1);
  QCOMPARE(heads->currentText(), QString("Head 3"));
  QVERIFY(shown() != head2);
  // A query patch (right-click) shows that patch's attention instead of the CLS token's.
  const QImage cls_query = shown();
  QTest::mouseClick(window_->canvas(), Qt::RightButton, Qt::NoModifier, window_->canvas()->patchCenter(50));
  QCOMPARE(window_->canvas()->queryPatch(), 50);
  QVERIFY(shown() != cls_query);
}

void AppTest::explanations_show_under_show_and_target() {
  openDefault();
  auto* source = named<QComboBox>(*window_, "mapSourceCombo");
  auto* target = named<QComboBox>(*window_, "targetCombo");
  auto show = [&](MapSpec::Source s) {
    source->setCurrentIndex(source->findData(static_cast<int>(s)));
    [&] { QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->request.map.source == s, kTimeoutMs); }();
    return canvasPixels(*window_);
  };
  // Class maps explain the top prediction (tabby cat, label 0) until another target is picked.
  const QImage top = show(MapSpec::Source::Chefer);
  QCOMPARE(window_->shownMaps()->target, (ExplainTarget{PredictionSource::Classifier, 0}));
  QVERIFY(target->isEnabled());
  QVERIFY(target->itemText(0).contains("tabby cat"));
  QCOMPARE(target->count(), 6);  // top prediction + 5 labels
  target->setCurrentIndex(target->findText("espresso"));
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->target.index == 1, kTimeoutMs);
  QVERIFY(canvasPixels(*window_) != top);
  // Occlusion covers every patch; PCA has three components per patch; token norms flag outliers
  // (or say none stand out) under the controls.
  show(MapSpec::Source::Occlusion);
  QCOMPARE(std::count_if(window_->shownMaps()->map.begin(), window_->shownMaps()->map.end(), [](float v) { return std::isfinite(v); }), 196);
  show(MapSpec::Source::Pca);
  QCOMPARE(window_->shownMaps()->map.size(), std::size_t{196 * 3});
  QVERIFY(!target->isEnabled());
  const std::vector<float> own_fit = window_->shownMaps()->map;
  named<QCheckBox>(*window_, "pcaAllCheck")->setChecked(true);  // fitted on chelsea and coffee together
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->request.map.pca_all_images, kTimeoutMs);
  QVERIFY(window_->shownMaps()->map != own_fit);
  show(MapSpec::Source::TokenNorm);
  QTRY_VERIFY(named<QLabel>(*window_, "mapNote")->text().contains("modified z-score"));
  // The Heads tab adds each head's attention distance.
  window_->tabs()->showTab(PanelTabs::Tab::Heads);
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->distance.size() == 6, kTimeoutMs);
  for (const float d : window_->shownMaps()->distance) QVERIFY(d > 0.0f && d < 224.0f * 1.5f);
  QVERIFY(window_->report()["view"].toObject()["method"].toString() == "token-norms");
}

void AppTest::a_second_model_answers_beside_the_first() {
  openDefault();
  window_->tabs()->showTab(PanelTabs::Tab::Compare);
  window_->loadCompareModel(data("models/tiny224-base-bin"));
  QTRY_VERIFY_WITH_TIMEOUT(window_->compareShown() && window_->compareShown()->maps && window_->viewCurrent(), kTimeoutMs);
  QCOMPARE(window_->compareShown()->maps->map.size(), std::size_t{196});
  QVERIFY(window_->compareShown()->note.empty());
  // Another model's weights: another map for the same image.
  QVERIFY(window_->compareShown()->maps->map != window_->shownMaps()->map);
  QVERIFY(named<QLabel>(*window_, "compareResponse")->text().contains("ranks nothing"));  // a backbone
  // A click on its canvas masks the shared image; both models answer the masked view.
  ImageCanvas* theirs = named<ImageCanvas>(*window_, "compareCanvas");
  QTest::mouseClick(theirs, Qt::LeftButton, Qt::NoModifier, theirs->patchCenter(20));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() && window_->maskedResult()->mask.masked(20), kTimeoutMs);
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->compareShown()->masked &&
                               window_->compareShown()->masked->mask == window_->maskedResult()->mask, kTimeoutMs);
  QVERIFY(named<QLabel>(*window_, "compareResponse")->text().contains("CLS cosine"));
  // Class maps on it explain its own top prediction; without one it says why.
  named<QComboBox>(*window_, "mapSourceCombo")->setCurrentIndex(named<QComboBox>(*window_, "mapSourceCombo")->findData(static_cast<int>(MapSpec::Source::Chefer)));
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->compareShown()->note.find("pick a classifier label") != std::string::npos, kTimeoutMs);
  window_->loadCompareModel({});
  QTRY_VERIFY_WITH_TIMEOUT(!window_->compareShown(), kTimeoutMs);
}

void AppTest::sweep_leaves_the_ui_responsive() {
  openDefault();
  window_->tabs()->showTab(PanelTabs::Tab::Sweep);
  SweepPanel* sweep = window_->tabs()->sweep();
  auto* seeds = named<QSpinBox>(*window_, "sweepSeedsSpin");
  seeds->setValue(24);  // long enough to watch the event loop while it runs
  // A timer on the UI thread counts how often the event loop turns during the sweep.
  int ticks = 0;
  QTimer timer;
  QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(5);
  bool masked_during_sweep = false;
  QObject::connect(window_.get(), &MainWindow::viewUpdated, [&] {
    if (window_->maskedResult() && sweep->result().points.empty()) masked_during_sweep = true;
  });
  auto* run = named<QPushButton>(*window_, "sweepRunButton");
  QTest::mouseClick(run, Qt::LeftButton);
  // An interactive edit while the sweep runs is served between its batches.
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(30));
  QTRY_VERIFY_WITH_TIMEOUT(!sweep->result().points.empty(), kTimeoutMs);
  QVERIFY2(ticks >= 3, qPrintable(QString("event loop turned %1 times during the sweep").arg(ticks)));
  QVERIFY(masked_during_sweep);
  const auto& points = sweep->result().points;
  QCOMPARE(points.size(), std::size_t{40});  // 4 strategies x 10 ratios
  QCOMPARE(points.front().ratio, 0.0);
  QVERIFY(std::abs(points.front().cosine_mean - 1.0) < 1e-5);  // nothing masked: the unmasked embedding
}

void AppTest::sweep_of_an_image_left_is_not_drawn_on_the_next() {
  openDefault();  // chelsea.png, then coffee.png in the strip
  window_->tabs()->showTab(PanelTabs::Tab::Sweep);
  SweepPanel* sweep = window_->tabs()->sweep();
  named<QSpinBox>(*window_, "sweepSeedsSpin")->setValue(24);
  QTest::mouseClick(named<QPushButton>(*window_, "sweepRunButton"), Qt::LeftButton);
  QVERIFY(window_->sweepRunning());
  // The user moves to the other image while chelsea's sweep runs.
  auto* strip = named<QListView>(*window_, "imageStrip");
  QTest::mouseClick(strip->viewport(), Qt::LeftButton, Qt::NoModifier, strip->visualRect(strip->model()->index(1, 0)).center());
  QTRY_VERIFY_WITH_TIMEOUT(window_->report()["image"].toString() == "coffee.png", kTimeoutMs);
  QTRY_VERIFY_WITH_TIMEOUT(!window_->sweepRunning(), kTimeoutMs);
  QVERIFY2(sweep->result().points.empty(), "chelsea's sweep is drawn as coffee's");
  // A sweep of coffee itself is drawn.
  named<QSpinBox>(*window_, "sweepSeedsSpin")->setValue(1);
  QTest::mouseClick(named<QPushButton>(*window_, "sweepRunButton"), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!window_->sweepRunning() && !sweep->result().points.empty(), kTimeoutMs);
}

void AppTest::faithfulness_strip_and_causes_follow_the_view() {
  openDefault();
  // The strip measures the map shown once the view settles, and figures carry its line.
  auto* text = named<QLabel>(*window_, "faithfulnessText");
  QTRY_VERIFY_WITH_TIMEOUT(window_->faithfulnessSettled() && text->text().contains("deletion AUC"), kTimeoutMs);
  const QString attention = text->text();
  QTRY_VERIFY_WITH_TIMEOUT(window_->figure() && window_->figure()->title.contains(attention), kTimeoutMs);
  window_->showMethod(MapSpec::Source::Chefer);
  QTRY_VERIFY_WITH_TIMEOUT(window_->faithfulnessSettled() && text->text().contains("deletion AUC"), kTimeoutMs);
  QVERIFY2(text->text() != attention, "another map, other curves");
  // Causes of a masked view: every head ablated, the mask patched back layer by layer.
  for (const int patch : {20, 21, 34, 35}) QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(patch));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() != nullptr && window_->viewCurrent(), kTimeoutMs);
  window_->tabs()->showTab(PanelTabs::Tab::Causes);
  CausesPanel* causes = window_->tabs()->causes();
  QTest::mouseClick(named<QPushButton>(*window_, "causesRunButton"), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!causes->running() && causes->result().heads && causes->result().patching, kTimeoutMs);
  QCOMPARE(causes->result().heads->delta.size(), std::size_t{2 * 3});
  QVERIFY(std::isnan(causes->result().patching->restoration[196 + 20]));  // dropped: no restoration
  QVERIFY(named<QLabel>(*window_, "patchingCaption")->text().contains("restored"));
  // A click on an ablated head shows that head's attention on the canvas.
  AblationGrid* grid = causes->ablationGrid();
  QTest::mouseClick(grid, Qt::LeftButton, Qt::NoModifier, grid->cellRect(1, 2).center());
  const std::optional<ViewRequest> want = window_->desiredView();
  QVERIFY(want.has_value());
  QCOMPARE(want->maps.map.source, MapSpec::Source::Attention);
  QCOMPARE(want->maps.map.layer, 1);
  QCOMPARE(want->maps.map.head, 2);
  // Knockout of the brushed patches, from every query.
  named<QComboBox>(*window_, "knockoutScope")->setCurrentIndex(1);
  QTest::mouseClick(named<QPushButton>(*window_, "knockoutButton"), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(named<QLabel>(*window_, "knockoutCaption")->text().contains("4 patches hidden from every query"), kTimeoutMs);
}

void AppTest::corrupt_files_keep_the_previous_state() {
  openDefault();
  const ViewSummaryPtr before = window_->baseline();
  const ModelInfo info = window_->modelInfo();
  // A corrupt image: an error naming it; the current image and its result stay.
  const QString broken = dir_.filePath("broken.png");
  write_file(broken.toStdString(), read_file(data_path("images/coffee.png")).substr(0, 2000));
  drop(window_.get(), {QUrl::fromLocalFile(broken)});
  QTRY_VERIFY_WITH_TIMEOUT(window_->errorText().contains("broken.png"), kTimeoutMs);
  QCOMPARE(window_->baseline(), before);
  // A corrupt checkpoint: an error; the previous model keeps working.
  const QString bad_model = dir_.filePath("bad.safetensors");
  write_file(bad_model.toStdString(), std::string("\x10\0\0\0\0\0\0\0{\"a\": 1}", 16));
  drop(window_.get(), {QUrl::fromLocalFile(bad_model)});
  QTRY_VERIFY_WITH_TIMEOUT(window_->errorText().contains("Could not load the model"), kTimeoutMs);
  QVERIFY(window_->errorText().contains("bad.safetensors"));
  QCOMPARE(window_->modelInfo().path, info.path);
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(7));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() && window_->maskedResult()->mask.masked(7), kTimeoutMs);
}

void AppTest::masking_modes_follow_the_checkpoint() {
  openDefault();
  auto* mode = named<QComboBox>(*window_, "maskModeCombo");
  auto* items = qobject_cast<QStandardItemModel*>(mode->model());
  const int token = mode->findData(static_cast<int>(MaskMode::MaskToken));
  QVERIFY(!items->item(token)->isEnabled());  // tiny224-cls has no mask token
  mode->setCurrentIndex(mode->findData(static_cast<int>(MaskMode::FillGray)));
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(60));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() && window_->maskedResult()->mode == MaskMode::FillGray, kTimeoutMs);
  QCOMPARE(window_->maskedResult()->token_patch.size(), std::size_t{196});  // every token kept, pixels changed

  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  drop(window_.get(), {QUrl::fromLocalFile(data("models/tiny64-masktoken"))});
  QVERIFY(ready.wait(kTimeoutMs));
  QVERIFY(items->item(token)->isEnabled());
  mode->setCurrentIndex(token);
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() && window_->baseline()->token_patch.size() == 64, kTimeoutMs);
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(9));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() && window_->maskedResult()->mode == MaskMode::MaskToken, kTimeoutMs);
  QCOMPARE(window_->maskedResult()->token_patch.size(), std::size_t{64});
}

void AppTest::prototypes_without_classifier() {
  // The original MSN fixture needs its head count: given beside it, as users can.
  const QString model = dir_.filePath("vit_tiny96_msn.pth.tar");
  QFile::copy(data("models/tiny96-msn-original/vit_tiny96_msn.pth.tar"), model);
  write_file((model + ".config.json").toStdString(), R"({"num_attention_heads": 2})");
  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  drop(window_.get(), {QUrl::fromLocalFile(model), QUrl::fromLocalFile(data("images/horse.png"))});
  QVERIFY(ready.wait(kTimeoutMs));
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() != nullptr, kTimeoutMs);
  QVERIFY(!window_->modelInfo().has_classifier);
  QVERIFY(window_->modelInfo().has_prototypes);
  QCOMPARE(window_->baseline()->prototype_probs.size(), std::size_t{32});
  QVERIFY(window_->baseline()->class_probs.empty());
  const QJsonArray rows = window_->report()["predictions"].toArray();
  QVERIFY(rows.first().toString().startsWith("prototype "));
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(3));
  QTRY_VERIFY_WITH_TIMEOUT(window_->maskedResult() != nullptr, kTimeoutMs);
  QVERIFY(window_->report()["response"].toObject().contains("prototype_kl"));
}

void AppTest::few_shot_classes_from_examples() {
  openDefault();  // chelsea.png and coffee.png in the strip
  QTRY_VERIFY_WITH_TIMEOUT(window_->report()["image"].toString() == "chelsea.png", kTimeoutMs);
  window_->tabs()->showTab(PanelTabs::Tab::Classes);
  ClassesPanel* classes = window_->tabs()->classes();
  const int cat = classes->addClass("cat"), cup = classes->addClass("cup");
  auto* list = named<ClassList>(*window_, "classList");
  QTRY_VERIFY(list->isVisible() && !list->visualItemRect(list->item(cup)).isEmpty());
  // Thumbnails dragged from the strip onto the classes, as a user does.
  auto* strip = named<QListView>(*window_, "imageStrip");
  auto drag_to = [&](int image_row, int class_row) {
    std::unique_ptr<QMimeData> mime(strip->model()->mimeData({strip->model()->index(image_row, 0)}));
    const QPoint at = list->visualItemRect(list->item(class_row)).center();
    QDragEnterEvent enter(at, Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(list->viewport(), &enter);
    QDropEvent drop(at, Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(list->viewport(), &drop);
  };
  drag_to(0, cat);
  drag_to(1, cup);
  QCOMPARE(list->examples(cat).size(), 1);
  QTRY_VERIFY_WITH_TIMEOUT(window_->fewShot().classes.size() == 2, kTimeoutMs);
  QCOMPARE(window_->fewShot().kind, std::string("logistic regression"));
  // The predictions can rank the new classes; each example is its own class's top-1.
  auto* source = named<QComboBox>(*window_, "predictionSourceCombo");
  const int few = source->findData(static_cast<int>(PredictionSource::FewShot));
  QVERIFY(few >= 0);
  source->setCurrentIndex(few);
  const QJsonArray rows = window_->report()["predictions"].toArray();
  QVERIFY2(rows.first().toString().startsWith("cat"), qPrintable(rows.first().toString()));
}

// The lens reads every layer's CLS token out through the final LayerNorm and the heads: its last
// row is the model's own output, earlier rows differ, and the Lens tab lists one row per layer.
void AppTest::depth_lens_ends_at_the_output() {
  openDefault();
  const auto* lens = named<LensPanel>(*window_, "lensPanel");
  QVERIFY(lens != nullptr);
  window_->tabs()->showTab(PanelTabs::Tab::Lens);  // the lens is computed when shown
  QTRY_VERIFY_WITH_TIMEOUT(window_->shownMaps() && window_->shownMaps()->lens.size() == 2, kTimeoutMs);
  const ViewSummaryPtr base = window_->baseline();
  const ViewMapsPtr maps = window_->shownMaps();
  const std::vector<Readout>& rows = maps->lens;
  const Readout& last = rows.back();
  QVERIFY(cosine_similarity(last.cls, base->cls) > 0.99999);
  QCOMPARE(last.class_probs.size(), base->class_probs.size());
  for (std::size_t i = 0; i < last.class_probs.size(); ++i) QVERIFY(std::abs(last.class_probs[i] - base->class_probs[i]) < 1e-5f);
  QVERIFY(cosine_similarity(rows.front().cls, base->cls) < 0.999);
  const auto* table = named<QTableWidget>(*window_, "lensTable");
  QCOMPARE(table->rowCount(), 2);
  QCOMPARE(table->item(1, 1)->text(), QString("tabby cat"));
  QCOMPARE(table->item(1, 3)->text(), QString("1.000"));
}

// File ▸ Export: the figure as PNG, SVG and PDF, each opened by a real reader (Qt's PNG decoder,
// an XML parser, rsvg-convert, pdftoppm) and checked for the canvas's colour on every patch;
// the raw map as .npy and .csv, read back value by value; PCA's three channels likewise.
void AppTest::figure_and_map_export_open_in_other_tools() {
  openDefault();
  named<QSlider>(*window_, "opacitySlider")->setValue(100);  // patch centres show the colours themselves
  QTest::mouseClick(window_->canvas(), Qt::LeftButton, Qt::NoModifier, window_->canvas()->patchCenter(20));
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->masked, kTimeoutMs);
  const ViewMapsPtr maps = window_->shownMaps();
  const Colormap colormap = window_->tabs()->attention()->colormap();
  const std::optional<Figure> figure = window_->figure();
  QVERIFY(figure.has_value());
  QCOMPARE(figure->title, QString("chelsea.png \u00b7 attention, layer 2 of 2 \u00b7 mean of heads \u00b7 CLS query \u00b7 "
                                  "masked: 1 of 196 patches, drop tokens (MSN)"));
  QCOMPARE(figure->heat.size(), QSize(14, 14));
  const int finite = static_cast<int>(std::count_if(maps->map.begin(), maps->map.end(), [](float v) { return std::isfinite(v); }));
  QCOMPARE(finite, 195);  // patch 20's token was dropped
  QVERIFY(figure->range && figure->range->first < figure->range->second);
  const QTemporaryDir out;

  // PNG: twice the figure's size, the heat map on its patches.
  QVERIFY2(window_->exportFigure(out.filePath("figure.png")), qPrintable(window_->errorText()));
  const QImage png(out.filePath("figure.png"));
  QCOMPARE(png.size(), figure_size(*figure) * kFigurePngScale);
  QString mismatch = heatColoursAt(*figure, *maps, colormap, png, "PNG");
  QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));

  // SVG: XML with a rectangle per patch with a value, the photo, the title; rsvg-convert draws it.
  QVERIFY2(window_->exportFigure(out.filePath("figure.svg")), qPrintable(window_->errorText()));
  QFile svg(out.filePath("figure.svg"));
  QVERIFY(svg.open(QIODevice::ReadOnly));
  QXmlStreamReader xml(&svg);
  int rects = 0, images = 0;
  QString text;
  while (!xml.atEnd()) {
    if (xml.readNext() != QXmlStreamReader::StartElement) continue;
    if (xml.name() == QLatin1String("rect")) ++rects;
    if (xml.name() == QLatin1String("image")) ++images;
    if (xml.name() == QLatin1String("text")) text += xml.readElementText(QXmlStreamReader::IncludeChildElements);
  }
  QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
  QVERIFY2(rects >= finite, qPrintable(QString("%1 <rect> for %2 patches").arg(rects).arg(finite)));
  QVERIFY(images >= 1);
  QVERIFY2(text.contains("chelsea.png"), qPrintable(text));
  QString error = convert("rsvg-convert", {"--output", out.filePath("svg.png"), out.filePath("figure.svg")});
  QVERIFY2(error.isEmpty(), qPrintable(error));
  const QImage from_svg(out.filePath("svg.png"));
  QVERIFY(!from_svg.isNull());
  QVERIFY(std::abs(from_svg.width() * 1.0 / from_svg.height() - png.width() * 1.0 / png.height()) < 0.01);
  QVERIFY(distinctColours(from_svg) > 100);
  mismatch = heatColoursAt(*figure, *maps, colormap, from_svg, "SVG through rsvg-convert");
  QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));

  // PDF: one page the figure's size in points; pdftoppm draws it.
  auto pdf_pixels = [&](const QString& name) {
    [&] {
      QVERIFY2(window_->exportFigure(out.filePath(name + ".pdf")), qPrintable(window_->errorText()));
      QFile pdf(out.filePath(name + ".pdf"));
      QVERIFY(pdf.open(QIODevice::ReadOnly));
      QCOMPARE(pdf.read(5), QByteArray("%PDF-"));
      const QString failed = convert("pdftoppm", {"-png", "-r", "72", "-singlefile", out.filePath(name + ".pdf"), out.filePath(name)});
      QVERIFY2(failed.isEmpty(), qPrintable(failed));
    }();
    return QImage(out.filePath(name + ".png"));
  };
  const QImage from_pdf = pdf_pixels("figure");
  if (QTest::currentTestFailed()) return;
  QVERIFY(std::abs(from_pdf.width() - figure_size(*figure).width()) <= 1 && std::abs(from_pdf.height() - figure_size(*figure).height()) <= 1);
  QVERIFY(distinctColours(from_pdf) > 100);
  mismatch = heatColoursAt(*figure, *maps, colormap, from_pdf, "PDF through pdftoppm");
  QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));

  // The raw map shown, [14, 14], NaN where no token: .npy bit for bit, .csv value for value.
  auto check_data = [&](const std::vector<float>& map, const std::string& shape, int columns) {
    QVERIFY(window_->exportMapData(out.filePath("map.npy")));
    const std::string npy = read_file(out.filePath("map.npy").toStdString());
    QVERIFY(npy.rfind(std::string("\x93NUMPY\x01\x00", 8), 0) == 0);
    QVERIFY2(npy.find("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }") == 10, npy.substr(10, 70).c_str());
    QCOMPARE(npy.size(), 128 + 4 * map.size());
    QVERIFY(std::memcmp(npy.data() + 128, map.data(), 4 * map.size()) == 0);  // little-endian, as this machine
    QVERIFY(window_->exportMapData(out.filePath("map.csv")));
    const QStringList lines = QString::fromStdString(read_file(out.filePath("map.csv").toStdString())).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(static_cast<std::size_t>(lines.size() * columns), map.size());
    for (int line = 0; line < lines.size(); ++line) {
      const QStringList cells = lines[line].split(',');
      QCOMPARE(cells.size(), columns);
      for (int c = 0; c < columns; ++c) {
        const float want = map[static_cast<std::size_t>(line * columns + c)];
        if (std::isnan(want)) QCOMPARE(cells[c], QString("nan"));
        else QVERIFY2(cells[c].toFloat() == want, qPrintable(cells[c]));  // the shortest form that reads back exactly
      }
    }
  };
  check_data(maps->map, "(14, 14)", 14);
  if (QTest::currentTestFailed()) return;
  QCOMPARE(QString::fromStdString(read_file(out.filePath("map.csv").toStdString())).split('\n')[1].split(',')[6], QString("nan"));  // patch 20

  // PCA: three components per patch as red, green and blue; no colour bar; data [14, 14, 3].
  auto* source = named<QComboBox>(*window_, "mapSourceCombo");
  source->setCurrentIndex(source->findData(static_cast<int>(MapSpec::Source::Pca)));
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->request.map.source == MapSpec::Source::Pca, kTimeoutMs);
  const ViewMapsPtr pca = window_->shownMaps();
  const std::optional<Figure> pca_figure = window_->figure();
  QVERIFY(pca_figure && !pca_figure->range);
  QVERIFY2(pca_figure->title.contains("feature PCA, components 1-3 as RGB") && !pca_figure->title.contains("query"),
           qPrintable(pca_figure->title));
  mismatch = heatColoursAt(*pca_figure, *pca, colormap, pdf_pixels("pca"), "PCA PDF through pdftoppm");
  QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
  check_data(pca->map, "(14, 14, 3)", 3);
  if (QTest::currentTestFailed()) return;
  // A class map names what it explains: the top prediction.
  source->setCurrentIndex(source->findData(static_cast<int>(MapSpec::Source::Chefer)));
  QTRY_VERIFY_WITH_TIMEOUT(window_->viewCurrent() && window_->shownMaps()->request.map.source == MapSpec::Source::Chefer, kTimeoutMs);
  QVERIFY2(window_->figure()->title.contains("Chefer relevance for tabby cat"), qPrintable(window_->figure()->title));

  // Unknown formats write nothing, and say which file, as an unwritable path does.
  QVERIFY(!window_->exportFigure(out.filePath("no-such-folder/figure.pdf")));
  QVERIFY(window_->errorText().contains("no-such-folder/figure.pdf"));
  QVERIFY(!window_->exportFigure(out.filePath("figure.gif")));
  QVERIFY(window_->errorText().contains("figure.gif"));
  QVERIFY(!window_->exportMapData(out.filePath("map.txt")));
  QVERIFY(window_->errorText().contains("map.txt"));
  QVERIFY(!QFile::exists(out.filePath("figure.gif")) && !QFile::exists(out.filePath("map.txt")));
}

// Thousands of seeded random events as a restless user makes them (drops of models and
// images, patch clicks, mask buttons, mode / tab / layer / head / source / query changes,
// sweeps started, cancelled and overtaken by model swaps), served by the real worker thread
// without waiting for results. Once everything settles, what the window shows must equal a
// fresh computation of the same state by a separate Workbench.
void AppTest::randomized_interaction_ends_in_a_fresh_state() {
  std::mt19937 rng(20261127);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> models = {"models/tiny224-cls", "models/tiny64-masktoken", "models/tiny224-base-bin"};
  const std::vector<std::string> images = {"images/chelsea.png", "images/coffee.png", "images/horse.png", "images/camera.png"};
  std::map<QString, std::string> image_paths;
  for (const auto& i : images) image_paths[qs(data_path(i).filename().string())] = data_path(i).string();
  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  drop(window_.get(), {QUrl::fromLocalFile(qs(data_path(models[0]).string()))});
  QVERIFY(ready.wait(kTimeoutMs));
  drop(window_.get(), {QUrl::fromLocalFile(qs(data_path(images[0]).string())), QUrl::fromLocalFile(qs(data_path(images[1]).string()))});
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() != nullptr, kTimeoutMs);

  auto button = [&](const char* name) { return named<QPushButton>(*window_, name); };
  auto* mode = named<QComboBox>(*window_, "maskModeCombo");
  auto* source = named<QComboBox>(*window_, "mapSourceCombo");
  auto* shown = named<QComboBox>(*window_, "shownCombo");
  auto* strip = named<QListView>(*window_, "imageStrip");
  auto* layers = named<QSlider>(*window_, "layerSlider");
  auto* heads = named<QComboBox>(*window_, "headCombo");
  QVERIFY(mode && source && shown && strip);
  named<QSpinBox>(*window_, "sweepSeedsSpin")->setValue(1);  // short sweeps, many of them
  std::string model = models[0];
  const auto model_path = [&] { return qs(data_path(model).string()); };
  int swaps = 0, sweeps = 0, clicks = 0;
  constexpr int kEvents = 3000;
  for (int event = 0; event < kEvents; ++event) {
    ImageCanvas* canvas = window_->canvas();
    const int patches = std::max(1, window_->modelInfo().grid_rows * window_->modelInfo().grid_cols);
    switch (pick(16)) {
      case 0: case 1: case 2: case 3: case 4:
        QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, canvas->patchCenter(pick(patches)));
        ++clicks;
        break;
      case 5: {
        auto* items = qobject_cast<QStandardItemModel*>(mode->model());
        const int m = pick(mode->count());
        if (items->item(m)->isEnabled()) mode->setCurrentIndex(m);
        break;
      }
      case 6: window_->tabs()->setCurrentIndex(pick(window_->tabs()->count())); break;
      case 7: layers->setValue(pick(layers->maximum() + 1)); break;
      case 8: heads->setCurrentIndex(pick(std::max(1, heads->count()))); break;
      case 9: source->setCurrentIndex(pick(2)); shown->setCurrentIndex(pick(2)); break;
      case 10: QTest::mouseClick(canvas, Qt::RightButton, Qt::NoModifier, canvas->patchCenter(pick(patches))); break;
      case 11: strip->setCurrentIndex(strip->model()->index(pick(strip->model()->rowCount()), 0)); break;
      case 12: {
        const char* name = std::vector<const char*>{"maskRandomButton", "maskFocalButton", "maskInvertButton", "maskClearButton",
                                                    "maskMostAttendedButton", "maskLeastAttendedButton"}[static_cast<std::size_t>(pick(6))];
        QTest::mouseClick(button(name), Qt::LeftButton);
        break;
      }
      case 13:
        if (pick(4) == 0 && strip->model()->rowCount() < 6) drop(window_.get(), {QUrl::fromLocalFile(qs(data_path(images[static_cast<std::size_t>(pick(4))]).string()))});
        break;
      case 14:  // a sweep, sometimes cancelled, sometimes overtaken by another model
        window_->tabs()->showTab(PanelTabs::Tab::Sweep);
        if (QPushButton* run = button("sweepRunButton"); run->isEnabled()) {
          QTest::mouseClick(run, Qt::LeftButton);
          ++sweeps;
        }
        if (pick(2) == 0) QTest::mouseClick(button("sweepCancelButton"), Qt::LeftButton);
        if (pick(3) != 0) break;
        [[fallthrough]];
      case 15:
        if (pick(8) == 0) {
          model = models[static_cast<std::size_t>(pick(3))];
          drop(window_.get(), {QUrl::fromLocalFile(model_path())});
          ++swaps;
        }
        break;
    }
    QCoreApplication::processEvents();
    if (event % 100 == 99)
      QTRY_VERIFY2_WITH_TIMEOUT(window_->modelInfo().path == model_path(),
                                qPrintable(window_->modelInfo().path + " != " + model_path() + "; " + window_->errorText()), kTimeoutMs);
  }
  qInfo("%d events: %d patch clicks, %d sweeps, %d model swaps", kEvents, clicks, sweeps, swaps);
  QVERIFY2(swaps >= 10 && sweeps >= 20 && clicks >= 500, qPrintable(QString("%1 swaps, %2 sweeps, %3 clicks").arg(swaps).arg(sweeps).arg(clicks)));

  // Settled: the last model loaded, no sweep running, the view answering the settings.
  QTRY_VERIFY_WITH_TIMEOUT(window_->modelInfo().path == model_path() && !window_->sweepRunning() && window_->viewCurrent(), kTimeoutMs);
  QVERIFY2(window_->errorText().isEmpty(), qPrintable(window_->errorText()));
  const std::optional<ViewRequest> want = window_->desiredView();
  QVERIFY(want.has_value());
  Workbench fresh;
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp32";
  fresh.load_model(data_path(model).string(), options);
  fresh.add_image(1, read_image(image_paths.at(window_->report()["image"].toString())));
  const bool masked = want->show_masked && want->mask.any();
  const ViewMaps expected = fresh.maps(1, masked ? want->mask : PatchMask(), want->mode, want->maps);
  const ViewMapsPtr got = window_->shownMaps();
  auto same = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    const auto c = compare(at::tensor(a), at::tensor(b), what);
    QVERIFY2(c.ok, c.message.c_str());
  };
  same(got->map, expected.map, "map");
  QCOMPARE(got->head_maps.size(), expected.head_maps.size());
  for (std::size_t i = 0; i < got->head_maps.size(); ++i) same(got->head_maps[i], expected.head_maps[i], "head map");
  QCOMPARE(got->overview.size(), expected.overview.size());
  for (std::size_t i = 0; i < got->overview.size(); ++i) same(got->overview[i], expected.overview[i], "overview");
  QCOMPARE(got->lens.size(), expected.lens.size());
  for (std::size_t i = 0; i < got->lens.size(); ++i) same(got->lens[i].cls, expected.lens[i].cls, "lens");
  same(window_->baseline()->cls, fresh.view(1, {}, want->mode)->cls, "unmasked CLS");
  if (want->mask.any()) {
    QVERIFY(window_->maskedResult() && window_->maskedResult()->mask == want->mask);
    same(window_->maskedResult()->cls, fresh.view(1, want->mask, want->mode)->cls, "masked CLS");
  }
}

void AppTest::engine_menu_switches_cpu_kernels() {
  // Engine > Fused oneDNN kernels: off reloads the model on the LibTorch layers, with the same
  // predictions (float32 here: both paths match the fixtures to 1e-6).
  openDefault();
  const ViewSummaryPtr fused_view = window_->baseline();
  const std::vector<float> fused_probs = fused_view->class_probs;
#ifdef MSNLENS_WITH_ONEDNN
  QVERIFY2(window_->modelInfo().kernels.startsWith("oneDNN fused"), qPrintable(window_->modelInfo().kernels));
#endif
  QAction* action = nullptr;
  for (QAction* a : window_->findChildren<QAction*>())
    if (a->text() == "Fused oneDNN kernels on the CPU") action = a;
  QVERIFY(action != nullptr);
  QVERIFY(action->isChecked());
  QSignalSpy ready(window_.get(), &MainWindow::modelReady);
  action->trigger();
  QVERIFY2(ready.wait(kTimeoutMs), qPrintable(window_->errorText()));
  QVERIFY2(window_->modelInfo().kernels.startsWith("LibTorch (LibTorch kernels requested)"),
           qPrintable(window_->modelInfo().kernels));
  QTRY_VERIFY_WITH_TIMEOUT(window_->baseline() != nullptr && window_->baseline() != fused_view, kTimeoutMs);
  const std::vector<float> reference_probs = window_->baseline()->class_probs;
  QCOMPARE(reference_probs.size(), fused_probs.size());
  for (std::size_t i = 0; i < fused_probs.size(); ++i) QVERIFY(std::abs(reference_probs[i] - fused_probs[i]) < 1e-4f);
}

void AppTest::saved_precisions_this_cpu_cannot_honour_fall_back() {
  // fp16 (no CPU), then bf16 (none below avx512_core): saved choices that must not stop the app
  // from opening. It runs the fastest precision instead, says so, and its Engine menu offers only
  // what this CPU honours.
  auto precision_action = [&](const QString& p) -> QAction* {
    for (QAction* a : window_->findChildren<QAction*>())
      if (a->data().toString() == p) return a;
    return nullptr;
  };
  const std::string default_precision = to_string(msnlens::default_precision(at::kCPU));
  for (const Precision saved : {Precision::FP16, Precision::BF16}) {
    const std::string why = unavailable_on_this_cpu(saved);
    window_->setDevice("cpu", to_string(saved));
    QSignalSpy ready(window_.get(), &MainWindow::modelReady);
    drop(window_.get(), {QUrl::fromLocalFile(data("models/tiny224-cls"))});
    QVERIFY2(ready.wait(kTimeoutMs), qPrintable(window_->errorText()));
    const ModelInfo& info = window_->modelInfo();
    QVERIFY(window_->errorText().isEmpty());
    QAction* action = precision_action(to_string(saved));
    QVERIFY(action != nullptr);
    QCOMPARE(action->isVisible(), why.empty());
    QCOMPARE(info.precisions.contains(to_string(saved)), why.empty());
    if (why.empty()) {
      QCOMPARE(info.precision, QString(to_string(saved)));
      QVERIFY(info.precision_note.isEmpty());
      QVERIFY(action->isChecked());
      continue;
    }
    QCOMPARE(info.precision, qs(default_precision));
    QCOMPARE(info.precision_note, qs(why + "; using " + default_precision));
    QVERIFY2(named<QLabel>(*window_, "modelDetails")->text().contains("Note: " + qs(why)),
             qPrintable(named<QLabel>(*window_, "modelDetails")->text()));
    QVERIFY(precision_action("auto")->isChecked());
  }
}

QTEST_MAIN(AppTest)
#include "test_app.moc"
