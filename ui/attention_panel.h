#pragma once
// The Attention tab: which map the canvas shows (one layer's attention or the rollout, how
// the heads combine, masked or unmasked view), how it is drawn (colormap, opacity, patch
// grid), and the heads of the chosen layer as a grid (click one to show it). The query patch
// is the canvas's: right-click picks one, "Use CLS" asks for the CLS token again.

#include <QWidget>

#include "msnlens.h"
#include "ui/view_types.h"

class QAction;
class QCheckBox;
class QComboBox;
class QJsonObject;
class QLabel;
class QSettings;
class QSlider;

namespace msnlens {

class AttentionGrid;

class AttentionPanel : public QWidget {
  Q_OBJECT

 public:
  // The heads combo's items carry their HeadFusion as Qt::UserRole data, single heads their
  // index as HeadRole data too.
  static constexpr int HeadRole = Qt::UserRole + 1;

  explicit AttentionPanel(QWidget* parent = nullptr);

  // A new model: its last layer, heads fused by their mean.
  void setModel(int layers, int heads, int grid_cols);
  // The map these controls select, for the canvas's query patch (-1: the CLS token);
  // "Top prediction" explains the image's top-1 under `source` (the predictions shown).
  MapSpec mapSpec(int query_patch, PredictionSource source) const;
  // What class-specific maps can explain: the top prediction, then every class the
  // predictor's preferred source ranks (prototypes: the top prediction only).
  void setTargets(const Predictor& predictor);
  Colormap colormap() const;
  bool showMasked() const;  // the masked view when something is masked (else the unmasked image)
  double opacity() const;
  bool showGrid() const;
  // Labels and enabled controls for the map shown; `target` names what it explains.
  void showSpec(const MapSpec& spec, const QString& target);
  // The heads grid: the view's head maps over `image`, the cell of `spec` marked; under the
  // controls, what the map found (outlying token norms).
  void showMaps(const QImage& image, const ShownViewPtr& view, const MapSpec& spec, int rows, int cols);
  void setSource(MapSpec::Source source);
  // One head of one layer on the canvas (a click on a cell here or in the Heads tab).
  void selectHead(int layer, int head);
  // The view as the JSON report records it.
  QJsonObject describe(const MapSpec& spec) const;
  void restoreSettings(const QSettings& settings);
  void saveSettings(QSettings& settings) const;
  // For the View menu: previous / next layer, next head, query CLS, with their shortcuts.
  const QList<QAction*>& menuActions() const { return menu_actions_; }

 Q_SIGNALS:
  void mapChanged();  // source, layer, heads, rollout discard, result shown or colormap
  void clsQueryRequested();
  void opacityChanged(double opacity);
  void gridToggled(bool show);

 private:
  QComboBox *source_ = nullptr, *heads_ = nullptr, *target_ = nullptr, *shown_ = nullptr, *colormap_ = nullptr;
  QSlider *layer_ = nullptr, *discard_ = nullptr, *opacity_ = nullptr;
  QLabel *layer_label_ = nullptr, *query_label_ = nullptr, *note_ = nullptr;
  QCheckBox *patch_grid_ = nullptr, *pca_all_ = nullptr;
  AttentionGrid* heads_grid_ = nullptr;
  int layers_ = 0, grid_cols_ = 0;
  QList<QAction*> menu_actions_;
};

}  // namespace msnlens
