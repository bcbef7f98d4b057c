#pragma once
// The canvas's view as a figure for papers: the image, the heat map as one rectangle per patch,
// the patch grid, the masked patches, a title and a colour bar. It paints on any QPaintDevice,
// so one drawing gives the PNG (raster), the SVG (QSvgGenerator) and the PDF (QPdfWriter), the
// last two vector but for the photo itself.

#include <QImage>
#include <QRectF>
#include <QSize>
#include <QString>

#include <optional>
#include <utility>

#include "msnlens.h"

class QPainter;

namespace msnlens {

struct Figure {
  QImage image;           // the photo, at its own resolution
  QImage heat;            // the canvas's overlay: cols x rows RGBA, a pixel per patch, transparent where no value
  PatchMask mask;         // darkened and hatched; empty: nothing masked
  int query_patch = -1;   // outlined: the patch the map looks from; -1: none (CLS, or a map without a query)
  double opacity = 0.6;   // of the heat map over the image
  bool grid = true;
  Colormap colormap = Colormap::Inferno;         // of the colour bar
  std::optional<std::pair<float, float>> range;  // the colour bar's raw minimum and maximum; none: no bar (PCA's RGB)
  QString title;
};

// PNGs are rendered at this multiple of the figure's size, for print.
constexpr int kFigurePngScale = 2;

// The figure's size in its own units: points in the PDF, pixels in the SVG.
QSize figure_size(const Figure& figure);
// Paints the figure from the painter's origin, one painter unit per figure unit.
void paint_figure(QPainter& painter, const Figure& figure);
// Where patch `patch` of the grid lies in the figure.
QRectF figure_patch_rect(const Figure& figure, int patch);
// The figure rasterised at `scale` times its size, on white.
QImage render_figure(const Figure& figure, int scale);
// Writes the figure as `path`'s extension says: .png (at kFigurePngScale), .svg or .pdf.
// Returns what went wrong, empty when the file was written.
QString save_figure(const Figure& figure, const QString& path);

}  // namespace msnlens
