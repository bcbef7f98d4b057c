#include "ui/attention_grid.h"

#include <QMouseEvent>
#include <QPainter>

#include <cmath>

namespace msnlens {
namespace {
constexpr int kLabel = 16;  // pixels for the caption under or beside cells
constexpr int kGap = 4;
}  // namespace

AttentionGrid::AttentionGrid(Mode mode, QWidget* parent) : QWidget(parent), mode_(mode) { setMinimumSize(200, 200); }

void AttentionGrid::setData(const QImage& image, ForwardResultPtr result, const HeatmapSettings& settings, int rows, int cols) {
  image_ = image.isNull() ? QImage()
                          : image.scaled(256, 256, Qt::KeepAspectRatio,
                                         image.width() < 86 ? Qt::FastTransformation : Qt::SmoothTransformation);
  result_ = std::move(result);
  settings_ = settings;
  rows_ = rows;
  cols_ = cols;
  dirty_ = true;  // maps are rendered when next painted: hidden grids cost nothing
  update();
}

int AttentionGrid::cellCount() const {
  if (!result_ || result_->attention.empty()) return 0;
  const AttentionStack& a = result_->attention;
  return mode_ == Mode::Heads ? a.heads : a.layers * a.heads;
}

std::pair<int, int> AttentionGrid::layerHeadOf(int cell) const {
  const AttentionStack& a = result_->attention;
  if (mode_ == Mode::Heads) return {settings_.layer < 0 ? a.layers - 1 : settings_.layer, cell};
  return {cell / a.heads, cell % a.heads};
}

int AttentionGrid::columns() const {
  if (mode_ == Mode::Overview) return result_->attention.heads;
  return std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(cellCount())))));
}

void AttentionGrid::rebuild() {
  cells_.clear();
  for (int cell = 0; cell < cellCount(); ++cell) {
    const auto [layer, head] = layerHeadOf(cell);
    HeatmapSettings s = settings_;
    s.source = HeatmapSettings::Source::Attention;
    s.layer = layer;
    s.fusion = HeadFusion::Single;
    s.head = head;
    cells_.push_back(heatmap_image(patch_heatmap(*result_, s, rows_ * cols_), cols_, rows_, s.colormap));
  }
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
  const int cell = mode_ == Mode::Heads ? head : layer * result_->attention.heads + head;
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
  const AttentionStack& a = result_->attention;
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
    const bool selected = settings_.fusion == HeadFusion::Single && head == settings_.head &&
                          (mode_ == Mode::Heads || layer == (settings_.layer < 0 ? a.layers - 1 : settings_.layer));
    p.setPen(QPen(selected ? QColor(0, 200, 255) : QColor(80, 80, 90), selected ? 3 : 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(r);
    p.setPen(palette().color(QPalette::WindowText));
    if (mode_ == Mode::Heads) {
      p.drawText(QRect(r.left(), r.bottom() + 1, r.width(), kLabel), Qt::AlignCenter, tr("head %1").arg(head + 1));
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
