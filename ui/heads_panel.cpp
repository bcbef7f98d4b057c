#include "ui/heads_panel.h"

#include <QLabel>
#include <QVBoxLayout>

#include "ui/attention_grid.h"
#include "ui/controls.h"

namespace msnlens {

HeadsPanel::HeadsPanel(QWidget* parent) : QWidget(parent) {
  grid_ = new AttentionGrid(AttentionGrid::Mode::Overview);
  grid_->setObjectName("overviewGrid");
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(wrapped_label(tr("Every layer (rows) and head (columns) for the current query; click one to show it.")));
  layout->addWidget(grid_, 1);
  connect(grid_, &AttentionGrid::headPicked, this, &HeadsPanel::headPicked);
}

void HeadsPanel::showMaps(ViewMapsPtr maps, const MapSpec& spec, Colormap colormap, int rows, int cols) {
  grid_->setData({}, std::move(maps), spec, colormap, rows, cols);
}

}  // namespace msnlens
