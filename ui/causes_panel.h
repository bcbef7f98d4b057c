#pragma once
// The Causes tab: what in the model makes its response, by intervening on the forward pass.
//   Head ablation  a layers x heads grid of how much y falls when one head is zeroed (blue:
//                  y falls, red: y rises); click a head to show its attention on the canvas.
//   Patching       with patches masked (dropped), each kept patch's input to one layer set to
//                  its unmasked value: how much of the masking's effect on y that undoes, per
//                  patch (layer slider), and every token / the CLS token at once per layer.
//   Knockout       the brushed (masked) patches kept but hidden from attention instead.
// Runs go to the worker, show progress and can be cancelled; results come from the engine.

#include <QWidget>

#include <memory>

#include "ui/view_types.h"

class QChart;
class QChartView;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace msnlens {

class ImageCanvas;

// Layers (rows) x heads (columns) of ablation_display values, diverging colours.
class AblationGrid : public QWidget {
  Q_OBJECT

 public:
  explicit AblationGrid(QWidget* parent = nullptr);
  void setAblation(std::shared_ptr<const HeadAblation> ablation);
  QRect cellRect(int layer, int head) const;
  QSize sizeHint() const override { return {360, 220}; }

 Q_SIGNALS:
  void headPicked(int layer, int head);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  bool event(QEvent* event) override;  // tooltips: the head's Δy

 private:
  std::pair<int, int> cellAt(const QPoint& pos) const;
  std::shared_ptr<const HeadAblation> ablation_;
  std::vector<float> display_;
};

class CausesPanel : public QWidget {
  Q_OBJECT

 public:
  explicit CausesPanel(QWidget* parent = nullptr);

  void setModel(int layers);
  void setAvailable(bool available);
  void setRunning(bool running);
  bool running() const;
  void setProgress(int done, int total);
  // The result over `image` (its masked patches are what was dropped).
  void setResult(const CausesResult& result, const QImage& image, Colormap colormap);
  void setKnockout(const KnockoutResult& result);
  const CausesResult& result() const { return result_; }
  AblationGrid* ablationGrid() const { return grid_; }

 Q_SIGNALS:
  void runRequested();
  void cancelRequested();
  void headPicked(int layer, int head);
  // The brushed patches are the controller's: it fills them in.
  void knockoutRequested(const msnlens::KnockoutRequest& request);

 private:
  void showLayer(int layer);

  QPushButton *run_, *cancel_, *knock_;
  QProgressBar* progress_;
  QLabel *status_, *ablation_caption_, *patching_caption_, *knockout_caption_;
  AblationGrid* grid_;
  QSlider* layer_;
  ImageCanvas* canvas_;
  QChart* chart_;
  QChartView* chart_view_;
  QComboBox* scope_;
  QSpinBox *from_, *to_;
  CausesResult result_;
  Colormap colormap_ = Colormap::Inferno;
};

}  // namespace msnlens
