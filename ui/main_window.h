#pragma once
// The MSN Lens window: the image canvas with heat map and mask and the thumbnail strip on the
// left; the model, the predictions and one panel per tab on the right. The window wires the
// panels, the image list (ImageListModel: each image with its mask and latest results) and
// InferenceWorker (on its own thread): it asks the worker for what the visible panel needs and
// hands the plain results to the panels, which draw them.

#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>

#include <optional>
#include <tuple>
#include <vector>

#include "analysis/predictions.h"
#include "imaging/colormap.h"
#include "ui/figure_export.h"
#include "ui/view_types.h"

class QActionGroup;
class QJsonObject;
class QLabel;
class QMimeData;

namespace msnlens {

class BusyIndicator;
class ErrorBanner;
class ImageCanvas;
class ImageListModel;
class ImageStrip;
class InferenceWorker;
class ModelBox;
class PanelTabs;
class PredictionsPanel;
class RecentMenu;
struct ImageState;
enum class MaskAction;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // device: auto | cpu | cuda; precision: auto | fp32 | bf16 | fp16 (also kept in settings).
  void setDevice(const QString& device, const QString& precision);
  // The fused oneDNN encoder (default) or the LibTorch layers, for the next model loaded.
  void setFusedCpu(bool fused);
  // Shows this map on the canvas (the Attention tab's Show choice).
  void showMethod(MapSpec::Source source);
  // `demo`: a bundled test checkpoint, which the title says.
  void loadModel(const QString& path, bool demo = false);
  // A second model shown beside the first on the Compare tab (empty path: close it).
  void loadCompareModel(const QString& path);
  // Its answer for the current view (null without a comparison model or before it arrives).
  std::shared_ptr<const CompareResult> compareShown() const;
  QList<quint64> addImageFiles(const QStringList& paths);  // their ids
  // Files as a drop brings them (and a file manager's "Open with"): checkpoints and model
  // folders load as the model, everything else opens as an image.
  void openFiles(const QStringList& paths);

  // What the command-line driver (app/gui) and the tests read.
  ImageCanvas* canvas() const { return canvas_; }
  PanelTabs* tabs() const { return tabs_; }
  const ModelInfo& modelInfo() const { return info_; }
  const LinearHead& fewShot() const { return predictor_.few_shot(); }
  QString errorText() const;
  ViewSummaryPtr baseline() const;      // the current image, unmasked
  ViewSummaryPtr maskedResult() const;  // and under its mask, once that has run
  ViewMapsPtr shownMaps() const;        // what the canvas and grids draw
  bool viewCurrent() const;             // they answer the current settings (no request outstanding)
  bool allBaselines() const;            // every image's unmasked result is in (thumbnail captions)
  bool sweepRunning() const;
  // What the window asks of the worker for the current state (nothing without an image).
  std::optional<ViewRequest> desiredView() const;
  // Each mask edit timed until its overlay was painted, and the worker's share of that.
  const std::vector<double>& clickToRepaintMs() const { return click_latencies_; }
  const std::vector<double>& editToResultMs() const { return result_latencies_; }
  QJsonObject report() const;
  // The canvas's view as a figure (nullopt before its first map).
  std::optional<Figure> figure() const;
  // File ▸ Export without the dialog: the figure as .png, .svg or .pdf, and the raw map shown
  // (ViewMaps::map: [grid rows, grid cols], PCA [grid rows, grid cols, 3]; NaN where the model
  // saw no token) as .npy or .csv, as the extension says. False, with the error shown, when
  // nothing was written.
  bool exportFigure(const QString& path);
  bool exportMapData(const QString& path);

 Q_SIGNALS:
  void modelReady();
  void viewUpdated();    // the canvas shows a new result or heat map
  void baselineReady();  // an image's unmasked result arrived
  void sweepFinished();
  // The worker could not load a model or an image, or compute something (its message).
  void failed(const QString& message);

  // Requests to the worker, queued onto its thread.
  void loadModelRequested(const QString& path, const QString& device, const QString& precision, bool demo);
  void loadCompareRequested(const QString& path, const QString& device, const QString& precision);
  void fusedCpuRequested(bool fused);
  void imageFileAdded(quint64 id, const QString& path);
  void imageDataAdded(quint64 id, const QByteArray& encoded, const QString& name);
  void imageAdded(quint64 id, const QImage& image, const QString& name);
  void baselineRequested(quint64 id);
  void maskByMapRequested(quint64 id, const msnlens::MapSpec& map, double ratio, bool most);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildUi();
  void connectWorker();
  void buildMenus();
  void restoreSettings();
  void saveSettings() const;
  void handleMimeData(const QMimeData* mime);
  void selectImage(quint64 id);
  ImageState* current();
  const ImageState* current() const;
  void showError(const QString& message);

  void applyMask(const PatchMask& mask);
  void runMaskAction(MaskAction action);
  void useClsQuery();

  MapSpec mapSpec() const;
  bool mapsCurrent(const ImageState& s) const;  // the image's maps answer desiredView()
  void refreshView();
  void requestMissingView();  // asks the worker for desiredView() unless it is shown or asked for
  void refreshResponse();
  void finishClickMeasure();
  void exportFigureDialog();
  void exportMapDataDialog();
  void exportReport();

  // Worker results
  void onModelLoaded(const ModelInfo& info);
  void onModelFailed(const QString& message);
  void onImageDecoded(quint64 id, const QImage& image);
  void onImageFailed(quint64 id, const QString& message);
  void onBaseline(const ViewSummaryPtr& summary);
  void onViewReady(const ViewResult& result);
  void onSweepFinished(const SweepResult& result);
  void onFewShot(const LinearHead& head, const QString& source);

  QThread thread_;
  InferenceWorker* worker_ = nullptr;
  ModelInfo info_;
  Predictor predictor_;  // the model's labels and prototypes, and the few-shot classes
  QString few_shot_source_;
  QString device_ = "auto", precision_ = "auto";
  bool fused_cpu_ = true;  // Engine > Fused CPU kernels
  quint64 current_id_ = 0;

  std::optional<ViewRequest> sent_;  // the last request sent to the worker
  std::tuple<ViewMapsPtr, MapSpec, Colormap, qint64> drawn_{};  // what the canvas and grids show
  Predictor compare_predictor_;  // ranks the comparison model's predictions

  // A mask edit is timed from the click until its overlay is painted.
  QElapsedTimer click_timer_;
  bool click_pending_ = false;
  std::vector<double> click_latencies_, result_latencies_;

  ImageCanvas* canvas_ = nullptr;
  ImageListModel* images_ = nullptr;
  ImageStrip* strip_ = nullptr;
  ModelBox* model_ = nullptr;
  PredictionsPanel* predictions_ = nullptr;
  PanelTabs* tabs_ = nullptr;
  ErrorBanner* error_ = nullptr;
  QLabel *status_device_ = nullptr, *status_latency_ = nullptr;
  QAction* fused_action_ = nullptr;
  QActionGroup* precision_actions_ = nullptr;
  BusyIndicator* busy_ = nullptr;
  RecentMenu* recent_ = nullptr;
};

}  // namespace msnlens
