#pragma once
// The MSN Lens window: the image canvas with heat map and mask and the thumbnail strip on the
// left; the model, the predictions and one panel per tab on the right. The window builds the
// widgets and wires them to the image list (ImageListModel: each image with its mask and latest
// results), the InferenceWorker (on its own thread) and the ViewController, which keeps the view
// current: what to ask of the engine, and what to draw of its answers.

#include <QMainWindow>
#include <QThread>

#include <optional>
#include <vector>

#include "ui/figure_export.h"
#include "ui/view_controller.h"

class QJsonObject;
class QLabel;
class QMimeData;

namespace msnlens {

class EngineMenu;
class FaithfulnessStrip;
class ErrorBanner;
class FileMenu;
class ImageCanvas;
class ImageListModel;
class ImageStrip;
class InferenceWorker;
class ModelBox;
class PanelTabs;
class PredictionsPanel;
class StatusLine;
struct ImageState;

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
  ShownViewPtr compareShown() const;
  QList<quint64> addImageFiles(const QStringList& paths);  // their ids
  // Files as a drop brings them (and a file manager's "Open with"): checkpoints and model
  // folders load as the model, everything else opens as an image.
  void openFiles(const QStringList& paths);

  // What the command-line driver (app/gui) and the tests read.
  ImageCanvas* canvas() const { return canvas_; }
  PanelTabs* tabs() const { return tabs_; }
  const ModelInfo& modelInfo() const { return info_; }
  const LinearHead& fewShot() const { return views_->predictor().few_shot(); }
  QString errorText() const;
  ViewSummaryPtr baseline() const;      // the current image, unmasked
  ViewSummaryPtr maskedResult() const;  // and under its mask, once that has run
  ViewMapsPtr shownMaps() const;        // what the canvas and grids draw
  bool viewCurrent() const;             // they answer the current settings (no request outstanding)
  bool allBaselines() const;            // every image's unmasked result is in (thumbnail captions)
  bool sweepRunning() const;
  bool faithfulnessSettled() const { return views_->faithfulnessSettled(); }  // the strip is current
  // What the window asks of the worker for the current state (nothing without an image).
  std::optional<ViewRequest> desiredView() const;
  // Each mask edit timed until its overlay was painted, and the worker's share of that.
  const std::vector<double>& clickToRepaintMs() const { return views_->clickToRepaintMs(); }
  const std::vector<double>& editToResultMs() const { return views_->editToResultMs(); }
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
  void causesFinished();
  // The worker could not load a model or an image, or compute something (its message).
  void failed(const QString& message);

  // Requests to the worker, queued onto its thread.
  void loadModelRequested(const QString& path, const QString& device, const QString& precision, bool demo);
  void loadCompareRequested(const QString& path, const QString& device, const QString& precision);
  void imageFileAdded(quint64 id, const QString& path);
  void imageDataAdded(quint64 id, const QByteArray& encoded, const QString& name);
  void imageAdded(quint64 id, const QImage& image, const QString& name);

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


  // Worker results
  void onModelLoaded(const ModelInfo& info);
  void onModelFailed(const QString& message);
  void onImageDecoded(quint64 id, const QImage& image);
  void onImageFailed(quint64 id, const QString& message);

  QThread thread_;
  InferenceWorker* worker_ = nullptr;
  ViewController* views_ = nullptr;
  ModelInfo info_;

  ImageCanvas* canvas_ = nullptr;
  ImageListModel* images_ = nullptr;
  ImageStrip* strip_ = nullptr;
  FaithfulnessStrip* faithfulness_ = nullptr;
  ModelBox* model_ = nullptr;
  PredictionsPanel* predictions_ = nullptr;
  PanelTabs* tabs_ = nullptr;
  ErrorBanner* error_ = nullptr;
  EngineMenu* engine_ = nullptr;
  StatusLine* status_ = nullptr;
  FileMenu* file_ = nullptr;
};

}  // namespace msnlens
