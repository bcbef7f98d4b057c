#include "ui/attention_grid.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

#include "msnlens.h"
#include "ui/heatmap.h"

namespace msnlens {
namespace {
constexpr int kLabel = 16;  // pixels for the caption under or beside cells
constexpr int kGap = 4;
}  // namespace

AttentionGrid::AttentionGrid(Mode mode, QWidget* parent) : QWidget(parent), mode_(mode) { setMinimumSize(200, 200); }

void AttentionGrid::setData(const QImage& image, ViewMapsPtr maps, const MapSpec& selected, Colormap colormap, int rows,
                            int cols) {
  image_ = image.isNull() ? QImage()
                          : image.scaled(256, 256, Qt::KeepAspectRatio,
                                         image.width() < 86 ? Qt::FastTransformation : Qt::SmoothTransformation);
  maps_ = std::move(maps);
  selected_ = selected;
  colormap_ = colormap;
  rows_ = rows;
  cols_ = cols;
  dirty_ = true;  // maps are rendered when next painted: hidden grids cost nothing
  update();
}

const std::vector<std::vector<float>>* AttentionGrid::cellMaps() const {
  if (!maps_) return nullptr;
  return mode_ == Mode::Heads ? &maps_->head_maps : &maps_->overview;
}

int AttentionGrid::cellCount() const {
  const auto* maps = cellMaps();
  return maps ? static_cast<int>(maps->size()) : 0;
}

int AttentionGrid::shownLayer() const {
  const int layer = maps_->request.map.layer;
  return resolve_layer(layer, maps_->layers);
}

std::pair<int, int> AttentionGrid::layerHeadOf(int cell) const {
  if (mode_ == Mode::Heads) return {shownLayer(), cell};
  return {cell / maps_->heads, cell % maps_->heads};
}

int AttentionGrid::columns() const {
  if (mode_ == Mode::Overview) return maps_->heads;
  // The arrangement with the largest thumbnails for this widget's shape (16 heads of ViT-L in
  // a wide panel want 8 x 2, not 4 x 4).
  const int n = cellCount();
  int best = 1, best_size = 0;
  for (int cols = 1; cols <= n; ++cols) {
    const int rows = (n + cols - 1) / cols;
    const int size = std::min(width() / cols, height() / rows - kLabel) - kGap;
    if (size > best_size) best = cols, best_size = size;
  }
  return best;
}

void AttentionGrid::rebuild() {
  cells_.clear();
  if (const auto* maps = cellMaps())
    for (const std::vector<float>& map : *maps)
      cells_.push_back(heatmap_image(head_map_display(*maps_, map), cols_, rows_, colormap_));
  dirty_ = false;
}

QRect AttentionGrid::cellRect(int layer, int head) const {
  if (cellCount() == 0) return {};
  const int cols = columns();
  const int n_rows = (cellCount() + cols - 1) / cols;
  const int left = mode_ == Mode::Overview ? kLabel + kGap : 0;
  const int label_h = mode_ == Mode::Heads ? kLabel : 0;
  const int top = mode_ == Mode::Overview ? kLabel : 0;
  const int size = std::max(8, std::min((width() - left) / cols, (height() - top) / n_rows - label_h) - kGap);
  const int cell = mode_ == Mode::Heads ? head : layer * maps_->heads + head;
  const int r = cell / cols, c = cell % cols;
  return {left + c * (size + kGap), top + r * (size + kGap + label_h), size, size};
}

void AttentionGrid::paintEvent(QPaintEvent*) {
  if (dirty_) rebuild();
  QPainter p(this);
  if (cellCount() == 0) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("Attention maps appear after the first result."));
    return;
  }
  p.setRenderHint(QPainter::SmoothPixmapTransform);
  QFont small = font();
  small.setPointSizeF(font().pointSizeF() * 0.85);
  p.setFont(small);
  for (int cell = 0; cell < cellCount(); ++cell) {
    const auto [layer, head] = layerHeadOf(cell);
    const QRect r = cellRect(layer, head);
    if (mode_ == Mode::Heads && !image_.isNull()) {
      p.drawImage(r, image_);
      p.setOpacity(0.65);
    }
    p.drawImage(r, cells_[static_cast<std::size_t>(cell)].scaled(r.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
    p.setOpacity(1.0);
    const int selected_layer = resolve_layer(selected_.layer, maps_->layers);
    const bool selected = selected_.source == MapSpec::Source::Attention && selected_.fusion == HeadFusion::Single &&
                          head == selected_.head && layer == selected_layer;
    p.setPen(QPen(selected ? QColor(0, 200, 255) : QColor(80, 80, 90), selected ? 3 : 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(r);
    p.setPen(palette().color(QPalette::WindowText));
    if (mode_ == Mode::Heads) {
      // "head 12" where it fits under the thumbnail, else the number alone (never clipped).
      const QString caption = tr("head %1").arg(head + 1);
      p.drawText(QRect(r.left(), r.bottom() + 1, r.width(), kLabel), Qt::AlignCenter,
                 p.fontMetrics().horizontalAdvance(caption) <= r.width() ? caption : QString::number(head + 1));
    } else {
      if (layer == 0) p.drawText(QRect(r.left(), 0, r.width(), kLabel), Qt::AlignCenter, QString::number(head + 1));
      if (head == 0) p.drawText(QRect(0, r.top(), kLabel, r.height()), Qt::AlignCenter, QString::number(layer + 1));
    }
  }
}

void AttentionGrid::mousePressEvent(QMouseEvent* event) {
  for (int cell = 0; cell < cellCount(); ++cell) {
    const auto [layer, head] = layerHeadOf(cell);
    if (cellRect(layer, head).contains(event->position().toPoint())) {
      Q_EMIT headPicked(layer, head);
      return;
    }
  }
}

void AttentionGrid::resizeEvent(QResizeEvent*) { update(); }

}  // namespace msnlens
