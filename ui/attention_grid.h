#pragma once
// Every head at once. Heads mode: the chosen layer's heads as thumbnails of the image with
// that head's map (BertViz's head view); Overview mode: a layers x heads table of maps
// (BertViz's model view). Clicking a cell selects that layer and head.

#include <QImage>
#include <QWidget>

#include "ui/heatmap.h"

namespace msnlens {

class AttentionGrid : public QWidget {
  Q_OBJECT

 public:
  enum class Mode { Heads, Overview };
  explicit AttentionGrid(Mode mode, QWidget* parent = nullptr);

  // `settings` give the query token, layer (Heads mode) and colormap.
  void setData(const QImage& image, ForwardResultPtr result, const HeatmapSettings& settings, int rows, int cols);
  QSize sizeHint() const override { return {420, 420}; }
  // Widget rectangle of the cell for (layer, head) (tests click there).
  QRect cellRect(int layer, int head) const;

 Q_SIGNALS:
  void headPicked(int layer, int head);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  void rebuild();
  int cellCount() const;
  std::pair<int, int> layerHeadOf(int cell) const;
  int columns() const;

  Mode mode_;
  QImage image_;
  ForwardResultPtr result_;
  HeatmapSettings settings_;
  int rows_ = 0, cols_ = 0;
  std::vector<QImage> cells_;  // rendered maps, one per cell
  bool dirty_ = false;
};

}  // namespace msnlens
