#pragma once
// The MSN Lens window: the image canvas with heat map and mask on the left, the model, the
// predictions and the tabs on the right, a thumbnail strip for several images. The window
// asks InferenceWorker (its own thread) for what the visible views need and draws the plain
// results; it computes nothing itself.

#include <QElapsedTimer>
#include <QJsonObject>
#include <QMainWindow>
#include <QThread>
#include <QTimer>

#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "analysis/predictions.h"
#include "imaging/colormap.h"
#include "ui/view_types.h"

class QActionGroup;
class QCheckBox;
class QComboBox;
class QLabel;
class QListView;
class QMimeData;
class QMenu;
class QProgressBar;
class QSlider;
class QSpinBox;
class QTabWidget;

namespace msnlens {

class AttentionGrid;
class ClassList;
class DepthLensView;
struct Ranking;
class ImageCanvas;
class ImageListModel;
class InferenceWorker;
class PredictionsView;
class SweepView;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // device: auto | cpu | cuda; precision: auto | fp32 | bf16 | fp16 (also kept in settings).
  void loadModel(const QString& path, bool demo = false);
  void addImageFiles(const QStringList& paths);
  void setDevice(const QString& device, const QString& precision);

  // --screenshot: once the view's first result is on screen, grab the window into `path` and
  // quit (status 0, or 1 with a message on stderr when something failed first). Views:
  // attention, heads, masking (after a random mask), sweep (after a sweep), classes.
  void requestScreenshot(const QString& path, const QString& view);
  // --benchmark-clicks: toggle `clicks` patches one after another, time each toggle until the
  // overlay is repainted, print p50 / p95 and quit.
  void requestClickBenchmark(int clicks);

  // For tests and the report.
  ImageCanvas* canvas() const { return canvas_; }
  AttentionGrid* overviewGrid() const { return overview_grid_; }
  SweepView* sweepView() const { return sweep_view_; }
  QTabWidget* tabs() const { return tabs_; }
  ClassList* classList() const { return classes_; }
  const LinearHead& fewShot() const { return predictor_.few_shot(); }
  // Adds a few-shot class and returns its row (tests and the Classes tab).
  int addClass(const QString& name);
  QSlider* layerSlider() const { return layer_slider_; }
  QComboBox* headCombo() const { return head_combo_; }
  QString errorText() const;
  const ModelInfo& modelInfo() const { return info_; }
  ViewSummaryPtr baseline() const;
  ViewSummaryPtr maskedResult() const;
  ViewMapsPtr shownMaps() const;  // what the canvas and grids draw
  bool viewCurrent() const;       // they answer the current settings (no request outstanding)
  bool sweepRunning() const { return sweep_running_; }
  // What the window asks of the worker for the current state (nothing without an image).
  std::optional<ViewRequest> desiredView() const;
  std::vector<double> clickToRepaintMs() const { return click_latencies_; }
  QJsonObject report() const;

 Q_SIGNALS:
  void modelReady();
  void viewUpdated();  // the canvas shows a new result or heat map

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  struct ImageState {
    QString name;
    QImage image;
    ViewSummaryPtr baseline, masked;  // masked: for `mask`, once it has run
    ViewMapsPtr maps;                 // the latest maps of this image
    PatchMask mask;
  };

  void buildUi();
  void buildMenus();
  void restoreSettings();
  void saveSettings() const;
  void handleMimeData(const QMimeData* mime);
  void addImageData(const QByteArray& encoded, const QString& name);
  void addImage(const QImage& image, const QString& name);
  quint64 newImage(const QString& name);
  void selectImage(quint64 id);
  ImageState* current();
  const ImageState* current() const;
  void showError(const QString& message);
  void clearError();
  void addRecent(const QString& path);
  void rebuildRecentMenu();

  // Masking
  void applyMask(const PatchMask& mask);
  void maskRandom();
  void maskFocal();
  void maskInvert();
  void maskClear();
  void maskByAttention(bool most);
  double maskRatio() const;

  // Views
  void refreshView();
  void requestMissingView();  // asks the worker for desiredView() unless it is shown or asked for
  void refreshResponse();
  void updateAttentionControls();
  MapSpec mapSpec() const;
  Colormap colormap() const;
  bool mapsCurrent(const ImageState& s) const;  // the image's maps answer desiredView()
  // What the predictions panel ranks: classifier labels, few-shot classes or prototypes.
  PredictionSource predictionSource() const;
  void updatePredictionSources();
  QString scoreLabel(int index) const;
  void refreshLens(const ViewMaps* maps);
  Ranking ranking() const;
  void refreshCaptions();
  void refitClasses();
  bool userClassesHaveExamples() const;
  void maybeFinishScreenshot();
  void finishClickMeasure();
  void exportOverlay();
  void exportReport();

  // Worker results
  void onModelLoaded(const ModelInfo& info);
  void onModelFailed(const QString& message);
  void onImageDecoded(quint64 id, const QImage& image, const QString& name);
  void onImageFailed(quint64 id, const QString& message);
  void onBaseline(const ViewSummaryPtr& summary);
  void onViewReady(const ViewResult& result);
  void onSweepFinished(const SweepResult& result);
  void onBusy(bool busy);
  void onFewShot(const LinearHead& head, const QString& source);

  QThread thread_;
  InferenceWorker* worker_ = nullptr;
  ModelInfo info_;
  Predictor predictor_;  // the model's labels and prototypes, and the few-shot classes
  QString few_shot_source_;
  bool prediction_chosen_ = false;  // the user picked a prediction source in the combo
  QString device_ = "auto", precision_ = "auto";
  std::map<quint64, ImageState> images_;
  quint64 current_id_ = 0, next_id_ = 1;
  int busy_count_ = 0;
  bool sweep_running_ = false;

  std::optional<ViewRequest> sent_;  // the last request sent to the worker
  std::tuple<ViewMapsPtr, MapSpec, Colormap, qint64> drawn_{};  // what the canvas and grids show

  // Screenshot / click benchmark requests from the command line.
  QString screenshot_path_, screenshot_view_;
  bool screenshot_mask_applied_ = false, screenshot_sweep_started_ = false;
  int benchmark_clicks_ = 0;
  QElapsedTimer click_timer_, load_timer_;
  double first_result_ms_ = -1;  // model load asked to its first view on screen
  bool first_result_pending_ = false;
  bool click_pending_ = false, click_scheduled_ = false;
  std::vector<double> click_latencies_, result_latencies_;

  // Widgets
  ImageCanvas* canvas_ = nullptr;
  PredictionsView* predictions_ = nullptr;
  AttentionGrid* heads_grid_ = nullptr;
  AttentionGrid* overview_grid_ = nullptr;
  SweepView* sweep_view_ = nullptr;
  DepthLensView* lens_view_ = nullptr;
  ImageListModel* image_model_ = nullptr;
  QListView* image_list_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QWidget *attention_tab_ = nullptr, *heads_tab_ = nullptr;
  QLabel *model_title_ = nullptr, *model_details_ = nullptr, *error_ = nullptr, *response_ = nullptr;
  QLabel *status_device_ = nullptr, *status_latency_ = nullptr, *query_label_ = nullptr, *layer_label_ = nullptr;
  QProgressBar* busy_ = nullptr;
  QTimer busy_delay_;  // the busy bar appears only after this
  QSlider *layer_slider_ = nullptr, *opacity_slider_ = nullptr, *discard_slider_ = nullptr;
  QComboBox *head_combo_ = nullptr, *source_combo_ = nullptr, *colormap_combo_ = nullptr, *mode_combo_ = nullptr,
            *shown_combo_ = nullptr;
  QCheckBox* grid_check_ = nullptr;
  QSpinBox *ratio_spin_ = nullptr, *seed_spin_ = nullptr, *topk_spin_ = nullptr;
  QComboBox* prediction_combo_ = nullptr;
  ClassList* classes_ = nullptr;
  QLabel* classes_status_ = nullptr;
  QMenu* recent_menu_ = nullptr;
};

}  // namespace msnlens
