#pragma once
// The Heads tab: every layer (rows) and head (columns) for the current query, as BertViz's
// model view; clicking a cell shows that head on the canvas (headPicked). Below it, each
// head's mean attention distance by layer, as in the ViT paper's figure.

#include <QWidget>

#include "msnlens.h"
#include "ui/view_types.h"

class QChart;
class QChartView;

namespace msnlens {

class AttentionGrid;

class HeadsPanel : public QWidget {
  Q_OBJECT

 public:
  explicit HeadsPanel(QWidget* parent = nullptr);

  // `maps`' overview, the cell of `spec` marked, and their attention distances.
  void showMaps(ViewMapsPtr maps, const MapSpec& spec, Colormap colormap, int rows, int cols);

 Q_SIGNALS:
  void headPicked(int layer, int head);

 private:
  void showDistance(const ViewMaps* maps);

  AttentionGrid* grid_ = nullptr;
  QChart* distance_ = nullptr;
  QChartView* distance_view_ = nullptr;
};

}  // namespace msnlens
