#pragma once
// Every head at once. Heads mode: the chosen layer's heads as thumbnails of the image with
// that head's map (BertViz's head view); Overview mode: a layers x heads table of maps
// (BertViz's model view). Clicking a cell selects that layer and head.

#include <QImage>
#include <QWidget>

#include "msnlens.h"
#include "ui/view_types.h"

namespace msnlens {

class AttentionGrid : public QWidget {
  Q_OBJECT

 public:
  enum class Mode { Heads, Overview };
  explicit AttentionGrid(Mode mode, QWidget* parent = nullptr);

  // The maps come from `maps` (head_maps or overview, by mode); `selected` marks the cell of
  // the map on the canvas.
  void setData(const QImage& image, ViewMapsPtr maps, const MapSpec& selected, Colormap colormap, int rows, int cols);
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
  const std::vector<std::vector<float>>* cellMaps() const;
  int cellCount() const;
  int shownLayer() const;
  std::pair<int, int> layerHeadOf(int cell) const;
  int columns() const;

  Mode mode_;
  QImage image_;
  ViewMapsPtr maps_;
  MapSpec selected_;
  Colormap colormap_ = Colormap::Inferno;
  int rows_ = 0, cols_ = 0;
  std::vector<QImage> cells_;  // rendered maps, one per cell
  bool dirty_ = false;
};

}  // namespace msnlens
