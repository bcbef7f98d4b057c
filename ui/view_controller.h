#pragma once
// Keeps the window's view current. It knows what the current image and settings need of the
// engine (a ViewRequest), asks the worker for it only when the view shown does not answer it
// and it is not on its way already (the worker keeps just the newest request), hands the
// engine's answers to the canvas and panels, redrawing only when what they draw changed, and
// times each mask edit from the click until its overlay is painted. MainWindow builds the
// widgets and wires them to it; what a view means is decided in the core (ShownView).

#include <QElapsedTimer>
#include <QObject>

#include <memory>

#include <optional>
#include <tuple>
#include <vector>

#include "msnlens.h"
#include "ui/view_types.h"

class QTimer;

namespace msnlens {

class FaithfulnessStrip;
class ImageCanvas;
class ImageListModel;
class InferenceWorker;
class PanelTabs;
class PredictionsPanel;
struct ImageState;
enum class MaskAction;

class ViewController : public QObject {
  Q_OBJECT

 public:
  struct Widgets {
    ImageCanvas* canvas = nullptr;
    PanelTabs* tabs = nullptr;
    PredictionsPanel* predictions = nullptr;
    ImageListModel* images = nullptr;
    FaithfulnessStrip* faithfulness = nullptr;
  };
  ViewController(InferenceWorker* worker, const Widgets& widgets, QObject* parent = nullptr);

  // A model loaded: every image unmasked on its grid and without results, the panels set for
  // it, and each image's unmasked view asked for, the current one first.
  void setModel(const ModelInfo& info);
  // Few-shot classes (from `source`: a file, or N examples) beside the model's labels and
  // prototypes: what ranks the predictions and what class maps can explain.
  void setClasses(const Predictor& predictor, const QString& source);
  const Predictor& predictor() const { return predictor_; }
  // A comparison model loaded or closed: everything is asked for and drawn again.
  void forgetDrawn();

  // Shows image `id`: its pixels and mask, from the CLS token; a sweep of the image left is cancelled.
  void select(quint64 id);
  quint64 currentId() const { return current_id_; }
  ImageState* current();
  const ImageState* current() const;

  // The map the controls select for the canvas's query patch.
  MapSpec mapSpec() const;
  // What the current image and settings need of the engine (nothing without an image or model).
  std::optional<ViewRequest> desiredView() const;
  // Whether `s`'s view answers desiredView() (with the comparison model's answer when one is loaded).
  bool answered(const ImageState& s) const;
  // Asks for desiredView() when nothing shown or sent answers it, and draws what is there.
  void refresh();
  // The user edited the mask: it shows at once, and is timed until its view is painted.
  void editMask(const PatchMask& mask);
  // A Masking tab action on the current image: a new random, focal, inverted or empty mask at
  // once, or the most or least attended patches through the engine (maskByMapRequested).
  void maskAction(MaskAction action);
  // An image's unmasked view (thumbnail captions, few-shot examples); false when already known.
  bool acceptBaseline(const ViewSummaryPtr& summary);
  // Asks for an image's unmasked view (answered through acceptBaseline()).
  void askBaseline(quint64 id) { Q_EMIT baselineRequested(id); }
  // A finished sweep: shown when it is of the current image.
  void acceptSweep(const SweepResult& result);
  // An answer from the engine (for any image).
  void accept(const ShownViewPtr& view);
  // A map's faithfulness curves: shown when they are of the map shown.
  void acceptFaithfulness(const FaithfulnessResult& result);
  // The Causes tab's run or knockout: shown when of the current image.
  void acceptCauses(const CausesResult& result);
  void acceptKnockout(const KnockoutResult& result);
  // The faithfulness line the figure of the map shown carries ("" while not measured).
  QString faithfulnessCaption() const;
  // The strip shows the curves of the map shown, or that map has none to show.
  bool faithfulnessSettled() const { return !faithfulnessWanted() || !faithfulnessCaption().isEmpty(); }

  // The view the canvas's heat map was drawn from and its colours (maybe still those of the
  // previous settings, until the new answer arrives).
  const ShownViewPtr& drawn() const { return std::get<0>(drawn_); }
  Colormap drawnColormap() const { return std::get<2>(drawn_); }
  const std::vector<double>& clickToRepaintMs() const { return click_latencies_; }
  const std::vector<double>& editToResultMs() const { return result_latencies_; }

 Q_SIGNALS:
  void viewUpdated();
  // The latest answer's latency, and the last edit's click-to-repaint time, for the status bar.
  void latencyChanged(const QString& text);
  void maskByMapRequested(quint64 id, const msnlens::MapSpec& map, double ratio, bool most);
  void baselineRequested(quint64 id);

 private:
  void refreshResponse();
  // Sends the view s wants to the worker, unless s already shows it or it is on its way.
  void askUnlessAnswered(const ImageState& s);
  void finishClickMeasure();
  // The curves wanted for the map shown: (image, mask, map); nullopt when it has none (not a
  // one-value map, not token dropping, or the strip is off).
  std::optional<FaithfulnessResult> faithfulnessWanted() const;
  void refreshFaithfulness();
  void askFaithfulness();

  InferenceWorker* worker_;
  Widgets w_;
  ModelInfo info_;
  Predictor predictor_;
  QString few_shot_source_;
  quint64 current_id_ = 0;
  std::optional<ViewRequest> sent_;  // the last request sent to the worker
  std::tuple<ShownViewPtr, MapSpec, Colormap, qint64> drawn_{};  // what the canvas and grids show
  QString latency_text_;
  QElapsedTimer click_timer_;
  bool click_pending_ = false;
  std::vector<double> click_latencies_, result_latencies_;
  std::shared_ptr<const FaithfulnessResult> faithfulness_;  // the latest curves
  std::optional<FaithfulnessResult> faithfulness_sent_;     // the last asked for
  QTimer* faithfulness_timer_;  // measures once the view has settled, so clicks are not slowed
};

}  // namespace msnlens
