#include "ui/heads_panel.h"

#include <QChart>
#include <QChartView>
#include <QLabel>
#include <QScatterSeries>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "ui/attention_grid.h"
#include "ui/controls.h"

namespace msnlens {

HeadsPanel::HeadsPanel(QWidget* parent) : QWidget(parent), distance_(new QChart), distance_view_(new QChartView(distance_)) {
  grid_ = new AttentionGrid(AttentionGrid::Mode::Overview);
  grid_->setObjectName("overviewGrid");
  distance_view_->setObjectName("distanceChart");
  distance_view_->setRenderHint(QPainter::Antialiasing);
  distance_view_->setMinimumHeight(200);
  distance_->setTitle(tr("Mean attention distance, one dot per head"));
  distance_->legend()->hide();
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(wrapped_label(tr("Every layer (rows) and head (columns) for the current query; click one to show it.")));
  layout->addWidget(grid_, 2);
  layout->addWidget(distance_view_, 1);
  connect(grid_, &AttentionGrid::headPicked, this, &HeadsPanel::headPicked);
}

void HeadsPanel::showMaps(ViewMapsPtr maps, const MapSpec& spec, Colormap colormap, int rows, int cols) {
  showDistance(maps.get());
  grid_->setData({}, std::move(maps), spec, colormap, rows, cols);
}

void HeadsPanel::showDistance(const ViewMaps* maps) {
  distance_->removeAllSeries();
  for (QAbstractAxis* axis : distance_->axes()) distance_->removeAxis(axis), delete axis;
  if (!maps || maps->heads <= 0 || maps->distance.size() != static_cast<std::size_t>(maps->layers * maps->heads)) return;
  auto* dots = new QScatterSeries;
  dots->setMarkerSize(7);
  double top = 0;
  for (int l = 0; l < maps->layers; ++l)
    for (int h = 0; h < maps->heads; ++h) {
      const double d = maps->distance[static_cast<std::size_t>(l * maps->heads + h)];
      if (!std::isfinite(d)) continue;
      dots->append(l + 1, d);
      top = std::max(top, d);
    }
  distance_->addSeries(dots);
  auto* x = new QValueAxis;
  x->setRange(0, maps->layers + 1);
  x->setTickType(QValueAxis::TicksDynamic);
  x->setTickAnchor(0);
  x->setTickInterval(maps->layers > 12 ? 4 : 1);
  x->setLabelFormat("%.0f");
  x->setTitleText(tr("layer"));
  auto* y = new QValueAxis;
  y->setRange(0, std::max(1.0, top * 1.1));
  y->setTitleText(tr("pixels"));
  y->applyNiceNumbers();
  distance_->addAxis(x, Qt::AlignBottom);
  distance_->addAxis(y, Qt::AlignLeft);
  dots->attachAxis(x);
  dots->attachAxis(y);
}

}  // namespace msnlens
