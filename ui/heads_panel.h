#pragma once
// The Heads tab: every layer (rows) and head (columns) for the current query, as BertViz's
// model view; clicking a cell shows that head on the canvas (headPicked).

#include <QWidget>

#include "imaging/colormap.h"
#include "ui/view_types.h"

namespace msnlens {

class AttentionGrid;

class HeadsPanel : public QWidget {
  Q_OBJECT

 public:
  explicit HeadsPanel(QWidget* parent = nullptr);

  // `maps`' overview, the cell of `spec` marked.
  void showMaps(ViewMapsPtr maps, const MapSpec& spec, Colormap colormap, int rows, int cols);

 Q_SIGNALS:
  void headPicked(int layer, int head);

 private:
  AttentionGrid* grid_ = nullptr;
};

}  // namespace msnlens
