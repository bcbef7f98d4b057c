#pragma once
// The image at its own aspect ratio with the model's patch grid, the attention heat map and
// the masked patches on top. The grid follows how the model resamples: the whole image is
// stretched to the model's input, so patch (r, c) covers the same fraction of the original.
//
// Mouse: click or drag to mask / unmask patches; right-click (or Shift+click) picks the query
// patch whose attention is shown (again on it: back to CLS); wheel zooms around the cursor;
// middle-drag or Ctrl+drag pans; double-click fits the image again.

#include <QImage>
#include <QWidget>

#include "msnlens.h"

namespace msnlens {

class ImageCanvas : public QWidget {
  Q_OBJECT

 public:
  explicit ImageCanvas(QWidget* parent = nullptr);

  void setImage(const QImage& image);
  void setMask(const PatchMask& mask);  // also sets the grid size
  const PatchMask& mask() const { return mask_; }
  // Heat map as a cols x rows RGBA image (transparent where there is no value).
  void setOverlay(const QImage& grid);
  const QImage& overlay() const { return overlay_; }
  void setOverlayOpacity(double opacity);
  void setShowGrid(bool show);
  void setQueryPatch(int patch);  // -1: the CLS token
  int queryPatch() const { return query_patch_; }
  void resetView();

  // Widget coordinates of a patch centre (tests drive the mouse with these).
  QPoint patchCenter(int patch) const;
  QSize sizeHint() const override { return {720, 560}; }

 Q_SIGNALS:
  void maskEdited(const msnlens::PatchMask& mask);
  void queryPatchPicked(int patch);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;

 private:
  QRectF imageRect() const;
  int patchAt(const QPointF& pos) const;
  void drawLayers(QPainter& painter, const QRectF& target) const;

  QImage image_, overlay_;
  mutable QImage scaled_image_;    // image_ at the size last drawn
  mutable QImage scaled_overlay_;  // overlay_ at the size last drawn
  mutable qint64 scaled_overlay_key_ = 0;
  PatchMask mask_;
  double opacity_ = 0.6, zoom_ = 1.0;
  QPointF pan_;
  bool show_grid_ = true;
  int query_patch_ = -1;
  enum class Drag { None, Paint, Pan } drag_ = Drag::None;
  bool paint_value_ = true;
  int last_patch_ = -1;
  QPointF last_pos_;
};

}  // namespace msnlens
