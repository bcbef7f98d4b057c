#include "ui/image_canvas.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace msnlens {

ImageCanvas::ImageCanvas(QWidget* parent) : QWidget(parent) {
  setMouseTracking(false);
  setMinimumSize(320, 240);
  setFocusPolicy(Qt::ClickFocus);
  setAutoFillBackground(true);
  QPalette p = palette();
  p.setColor(QPalette::Window, QColor(30, 30, 34));
  setPalette(p);
}

void ImageCanvas::setImage(const QImage& image) {
  image_ = image;
  scaled_image_ = {};
  resetView();
}

void ImageCanvas::setMask(const PatchMask& mask) {
  mask_ = mask;
  update();
}

void ImageCanvas::setOverlay(const QImage& grid) {
  overlay_ = grid;
  update();
}

void ImageCanvas::setOverlayOpacity(double opacity) {
  opacity_ = std::clamp(opacity, 0.0, 1.0);
  update();
}

void ImageCanvas::setShowGrid(bool show) {
  show_grid_ = show;
  update();
}

void ImageCanvas::setQueryPatch(int patch) {
  query_patch_ = patch;
  update();
}

void ImageCanvas::resetView() {
  zoom_ = 1.0;
  pan_ = {};
  update();
}

QRectF ImageCanvas::imageRect() const {
  if (image_.isNull()) return {};
  const QSizeF fitted = QSizeF(image_.size()).scaled(QSizeF(size()) * 0.98, Qt::KeepAspectRatio) * zoom_;
  const QPointF centre = QPointF(width() / 2.0, height() / 2.0) + pan_;
  return {centre - QPointF(fitted.width() / 2, fitted.height() / 2), fitted};
}

int ImageCanvas::patchAt(const QPointF& pos) const {
  const QRectF r = imageRect();
  if (mask_.size() == 0 || !r.contains(pos)) return -1;
  const int c = std::clamp(static_cast<int>((pos.x() - r.left()) / r.width() * mask_.cols()), 0, mask_.cols() - 1);
  const int row = std::clamp(static_cast<int>((pos.y() - r.top()) / r.height() * mask_.rows()), 0, mask_.rows() - 1);
  return row * mask_.cols() + c;
}

QPoint ImageCanvas::patchCenter(int patch) const {
  const QRectF r = imageRect();
  if (mask_.size() == 0 || r.isEmpty()) return r.center().toPoint();
  const double cw = r.width() / mask_.cols(), ch = r.height() / mask_.rows();
  return QPointF(r.left() + (patch % mask_.cols() + 0.5) * cw, r.top() + (patch / mask_.cols() + 0.5) * ch).toPoint();
}

void ImageCanvas::drawLayers(QPainter& painter, const QRectF& target) const {
  painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
  // The image is rescaled only when the view changes size, not on every repaint.
  const QSize size = target.size().toSize();
  if (scaled_image_.size() != size) {
    // Enlarged a lot (a 28-pixel Fashion-MNIST image), pixels stay sharp squares, as the model
    // sees them; otherwise smooth.
    const bool enlarge = size.width() > 3 * image_.width();
    scaled_image_ = image_.scaled(size, Qt::IgnoreAspectRatio, enlarge ? Qt::FastTransformation : Qt::SmoothTransformation);
  }
  painter.drawImage(target.topLeft(), scaled_image_);
  if (!overlay_.isNull() && opacity_ > 0) {
    // The per-patch image enlarged with bilinear filtering (a continuous heat map on the grid),
    // once per new map or size: repaints for mask edits then cost a blit, and leave the cores
    // to the inference they are waiting for.
    if (scaled_overlay_.size() != size || scaled_overlay_key_ != overlay_.cacheKey()) {
      scaled_overlay_ = overlay_.scaled(size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
      scaled_overlay_key_ = overlay_.cacheKey();
    }
    painter.setOpacity(opacity_);
    painter.drawImage(target.topLeft(), scaled_overlay_);
    painter.setOpacity(1.0);
  }
  if (mask_.size() == 0) return;
  const double cw = target.width() / mask_.cols(), ch = target.height() / mask_.rows();
  // Masked patches: darkened and hatched, so they read as "hidden from the model".
  QPainterPath masked;
  for (int p = 0; p < mask_.size(); ++p)
    if (mask_.masked(p))
      masked.addRect(QRectF(target.left() + (p % mask_.cols()) * cw, target.top() + (p / mask_.cols()) * ch, cw, ch));
  painter.fillPath(masked, QColor(10, 10, 14, 170));
  painter.fillPath(masked, QBrush(QColor(255, 255, 255, 60), Qt::BDiagPattern));
  if (show_grid_) {
    painter.setPen(QPen(QColor(255, 255, 255, 55), 0));
    for (int c = 1; c < mask_.cols(); ++c)
      painter.drawLine(QPointF(target.left() + c * cw, target.top()), QPointF(target.left() + c * cw, target.bottom()));
    for (int r = 1; r < mask_.rows(); ++r)
      painter.drawLine(QPointF(target.left(), target.top() + r * ch), QPointF(target.right(), target.top() + r * ch));
  }
  if (query_patch_ >= 0 && query_patch_ < mask_.size()) {
    const QRectF q(target.left() + (query_patch_ % mask_.cols()) * cw, target.top() + (query_patch_ / mask_.cols()) * ch, cw, ch);
    painter.setPen(QPen(QColor(0, 230, 255), std::max(2.0, cw / 8)));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(q);
  }
}

void ImageCanvas::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  if (image_.isNull()) {
    painter.setPen(QColor(200, 200, 210));
    painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                     tr("Drop images and a ViT-MSN model here\n(folder, .safetensors, .bin or .pth.tar)"));
    return;
  }
  drawLayers(painter, imageRect());
}

void ImageCanvas::mousePressEvent(QMouseEvent* event) {
  last_pos_ = event->position();
  const bool pan = event->button() == Qt::MiddleButton ||
                   (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ControlModifier));
  if (pan) {
    drag_ = Drag::Pan;
    return;
  }
  const int patch = patchAt(event->position());
  if (patch < 0) return;
  if (event->button() == Qt::RightButton || (event->modifiers() & Qt::ShiftModifier)) {
    query_patch_ = query_patch_ == patch ? -1 : patch;
    update();
    Q_EMIT queryPatchPicked(query_patch_);
    return;
  }
  if (event->button() != Qt::LeftButton) return;
  // The first patch decides whether this stroke masks or unmasks.
  paint_value_ = !mask_.masked(patch);
  mask_.set(patch, paint_value_);
  last_patch_ = patch;
  drag_ = Drag::Paint;
  update();
  Q_EMIT maskEdited(mask_);
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* event) {
  if (drag_ == Drag::Pan) {
    pan_ += event->position() - last_pos_;
    last_pos_ = event->position();
    update();
    return;
  }
  if (drag_ != Drag::Paint) return;
  const int patch = patchAt(event->position());
  if (patch < 0 || patch == last_patch_ || mask_.masked(patch) == paint_value_) return;
  last_patch_ = patch;
  mask_.set(patch, paint_value_);
  update();
  Q_EMIT maskEdited(mask_);
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent*) {
  drag_ = Drag::None;
  last_patch_ = -1;
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent*) { resetView(); }

void ImageCanvas::wheelEvent(QWheelEvent* event) {
  const double factor = std::pow(1.0015, event->angleDelta().y());
  const double zoom = std::clamp(zoom_ * factor, 1.0, 40.0);
  // Keep the point under the cursor fixed.
  const QPointF centre = QPointF(width() / 2.0, height() / 2.0);
  const QPointF cursor = event->position();
  pan_ = cursor - centre - (cursor - centre - pan_) * (zoom / zoom_);
  zoom_ = zoom;
  if (zoom_ == 1.0) pan_ = {};
  update();
}

}  // namespace msnlens
