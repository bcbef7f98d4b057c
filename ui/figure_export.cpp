#include "ui/figure_export.h"

#include <QFile>
#include <QFileInfo>
#include <QFontMetricsF>
#include <QLinearGradient>
#include <QPageSize>
#include <QPainter>
#include <QPainterPath>
#include <QPdfWriter>
#include <QStringList>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ui/heatmap.h"

namespace msnlens {
namespace {

// Figure units: points in the PDF, pixels in the SVG and the PNG at 1x.
constexpr double kMargin = 14, kTitleGap = 10, kImageSide = 480, kMinWidth = 360;
constexpr double kBarGap = 14, kBarWidth = 14, kLabelGap = 5;
constexpr double kHatchSpacing = 6;
constexpr int kTitlePixels = 14, kLabelPixels = 11;

QFont font_of(int pixels) {
  QFont font;
  font.setPixelSize(pixels);  // pixels of the figure, whatever the device's resolution
  return font;
}

QString label(float v) { return QString::number(static_cast<double>(v), 'g', 3); }

struct Layout {
  QRectF title, image, bar, max_label, min_label;
  QSize size;
};

Layout layout_of(const Figure& f) {
  Layout l;
  const QSizeF image = f.image.isNull() ? QSizeF(1, 1) : QSizeF(f.image.size());
  const QSizeF shown = image.scaled(kImageSide, kImageSide, Qt::KeepAspectRatio);
  const QFontMetricsF labels(font_of(kLabelPixels));
  const double label_width = f.range ? std::max(labels.horizontalAdvance(label(f.range->first)), labels.horizontalAdvance(label(f.range->second))) : 0;
  const double bar_width = f.range ? kBarGap + kBarWidth + kLabelGap + label_width : 0;
  const double width = std::max(kMinWidth, 2 * kMargin + shown.width() + bar_width);
  const QRectF title_box(kMargin, kMargin, width - 2 * kMargin, 1e6);
  const double title_height = QFontMetricsF(font_of(kTitlePixels)).boundingRect(title_box, Qt::TextWordWrap, f.title).height();
  l.title = QRectF(kMargin, kMargin, width - 2 * kMargin, title_height);
  l.image = QRectF(QPointF(kMargin, l.title.bottom() + kTitleGap), shown);
  l.bar = QRectF(l.image.right() + kBarGap, l.image.top(), kBarWidth, l.image.height());
  const double line = labels.height();
  l.max_label = QRectF(l.bar.right() + kLabelGap, l.bar.top() - line / 2, label_width + 1, line);
  l.min_label = QRectF(l.bar.right() + kLabelGap, l.bar.bottom() - line / 2, label_width + 1, line);
  l.size = QSize(static_cast<int>(std::ceil(width)), static_cast<int>(std::ceil(l.image.bottom() + kMargin)));
  return l;
}

// Enlarged a lot (a 28-pixel Fashion-MNIST image), the photo is embedded with its pixels as
// sharp squares, as the model sees them and the canvas draws them: viewers would blur it.
QImage embedded_image(const QImage& image, const QSizeF& shown) {
  if (image.isNull() || shown.width() <= 3 * image.width()) return image;
  const int factor = static_cast<int>(std::ceil(2 * shown.width() / image.width()));
  return image.scaled(image.size() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

// Diagonal hatching ("/", as Qt::BDiagPattern on the canvas) of one cell, as line segments
// u + v = k in image coordinates, so hatches of neighbouring cells join. Lines, because the
// SVG and PDF writers turn pattern brushes into tiles of 1-unit squares, stairs when zoomed.
void add_hatch(std::vector<QLineF>& lines, const QRectF& cell, const QPointF& origin) {
  const double a = cell.left() - origin.x(), b = cell.top() - origin.y();
  for (double k = std::ceil((a + b) / kHatchSpacing) * kHatchSpacing; k < a + b + cell.width() + cell.height(); k += kHatchSpacing) {
    const double u0 = std::max(a, k - (b + cell.height())), u1 = std::min(a + cell.width(), k - b);
    if (u1 > u0) lines.emplace_back(origin + QPointF(u0, k - u0), origin + QPointF(u1, k - u1));
  }
}

}  // namespace

QSize figure_size(const Figure& figure) { return layout_of(figure).size; }

void paint_figure(QPainter& painter, const Figure& f) {
  const Layout l = layout_of(f);
  painter.save();
  painter.setRenderHint(QPainter::Antialiasing, true);
  painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
  painter.fillRect(QRectF(QPointF(0, 0), QSizeF(l.size)), Qt::white);
  painter.setPen(Qt::black);
  painter.setFont(font_of(kTitlePixels));
  painter.drawText(l.title, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, f.title);
  const QImage photo = embedded_image(f.image, l.image.size());
  painter.drawImage(l.image, photo);

  const int rows = f.heat.height(), cols = f.heat.width();
  const bool cells = rows > 0 && cols > 0;
  const double cw = cells ? l.image.width() / cols : 0, ch = cells ? l.image.height() / rows : 0;
  auto cell = [&](int p) { return QRectF(l.image.left() + (p % cols) * cw, l.image.top() + (p / cols) * ch, cw, ch); };
  // One rectangle per patch in the canvas's colour, drawn opaque and then covered by the photo
  // again at 1 - opacity: the canvas's blend, but opaque rectangles can overlap their
  // neighbours by a hair, so no viewer's antialiasing shows seams between them, as it would
  // between translucent ones. Where no patch has a value, the photo over itself stays as it is.
  const bool draw_heat = cells && f.opacity > 0;
  auto has_value = [&](int c, int r) { return c < cols && r < rows && f.heat.pixelColor(c, r).alpha() > 0; };
  painter.setRenderHint(QPainter::Antialiasing, false);  // crisp edges in the raster
  for (int p = 0; draw_heat && p < rows * cols; ++p) {
    const int c = p % cols, r = p / cols;
    if (!has_value(c, r)) continue;  // no token there: the photo shows
    constexpr double kOverlap = 0.5;
    QColor color = f.heat.pixelColor(c, r);
    color.setAlpha(255);
    painter.fillRect(cell(p).adjusted(0, 0, has_value(c + 1, r) ? kOverlap : 0, has_value(c, r + 1) ? kOverlap : 0), color);
  }
  painter.setRenderHint(QPainter::Antialiasing, true);
  if (draw_heat && f.opacity < 1) {
    painter.setOpacity(1 - f.opacity);
    painter.drawImage(l.image, photo);
    painter.setOpacity(1);
  }

  if (cells && f.mask.size() == rows * cols && f.mask.any()) {
    QPainterPath masked;
    std::vector<QLineF> hatch;
    for (int p = 0; p < f.mask.size(); ++p) {
      if (!f.mask.masked(p)) continue;
      masked.addRect(cell(p));
      add_hatch(hatch, cell(p), l.image.topLeft());
    }
    painter.fillPath(masked.simplified(), QColor(10, 10, 14, 170));  // one outline: no seams between cells
    painter.setPen(QPen(QColor(255, 255, 255, 90), 0.8));
    painter.drawLines(hatch.data(), static_cast<int>(hatch.size()));
  }
  if (f.grid && cells) {
    painter.setPen(QPen(QColor(255, 255, 255, 80), 0.6));
    for (int c = 1; c < cols; ++c) painter.drawLine(QPointF(l.image.left() + c * cw, l.image.top()), QPointF(l.image.left() + c * cw, l.image.bottom()));
    for (int r = 1; r < rows; ++r) painter.drawLine(QPointF(l.image.left(), l.image.top() + r * ch), QPointF(l.image.right(), l.image.top() + r * ch));
  }
  if (cells && f.query_patch >= 0 && f.query_patch < rows * cols) {
    painter.setPen(QPen(QColor(0, 230, 255), std::max(1.5, cw / 12)));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(cell(f.query_patch));
  }

  // The colour bar: the colormap from the smallest value shown (bottom) to the largest (top).
  if (f.range) {
    constexpr int kStops = 65;
    std::vector<float> ramp(kStops);
    for (int i = 0; i < kStops; ++i) ramp[static_cast<std::size_t>(i)] = static_cast<float>(i) / (kStops - 1);
    const QImage colors = heatmap_image(ramp, kStops, 1, f.colormap);
    QLinearGradient gradient(l.bar.bottomLeft(), l.bar.topLeft());
    for (int i = 0; i < kStops; ++i) gradient.setColorAt(static_cast<double>(ramp[static_cast<std::size_t>(i)]), colors.pixelColor(i, 0));
    painter.fillRect(l.bar, gradient);
    painter.setPen(QPen(QColor(60, 60, 60), 0.6));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(l.bar);
    painter.setFont(font_of(kLabelPixels));
    painter.drawText(l.max_label, Qt::AlignLeft | Qt::AlignVCenter, label(f.range->second));
    painter.drawText(l.min_label, Qt::AlignLeft | Qt::AlignVCenter, label(f.range->first));
  }
  painter.restore();
}

QRectF figure_patch_rect(const Figure& figure, int patch) {
  const QRectF image = layout_of(figure).image;
  const int cols = std::max(1, figure.heat.width()), rows = std::max(1, figure.heat.height());
  const double cw = image.width() / cols, ch = image.height() / rows;
  return {image.left() + (patch % cols) * cw, image.top() + (patch / cols) * ch, cw, ch};
}

QImage render_figure(const Figure& figure, int scale) {
  QImage out(figure_size(figure) * scale, QImage::Format_ARGB32_Premultiplied);
  out.fill(Qt::white);
  QPainter painter(&out);
  painter.scale(scale, scale);
  paint_figure(painter, figure);
  painter.end();
  // Printed at the PDF's size: one figure unit is one point.
  const int dots_per_meter = static_cast<int>(std::lround(72.0 * scale / 0.0254));
  out.setDotsPerMeterX(dots_per_meter);
  out.setDotsPerMeterY(dots_per_meter);
  return out;
}

QString save_figure(const Figure& figure, const QString& path) {
  const QString format = QFileInfo(path).suffix().toLower();
  if (format != "png" && format != "svg" && format != "pdf") return QStringLiteral("%1: unknown figure format (.png, .svg or .pdf)").arg(path);
  // Opened here rather than by the writers, which would only report that painting failed.
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
  const QString cannot = QStringLiteral("cannot write %1").arg(path);
  if (format == "png") return render_figure(figure, kFigurePngScale).save(&file, "PNG") && file.flush() ? QString() : cannot;
  const QSize size = figure_size(figure);
  if (format == "svg") {
    QSvgGenerator svg;
    svg.setOutputDevice(&file);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setResolution(72);  // the same physical size as the PDF
    svg.setTitle(figure.title);
    svg.setDescription(QStringLiteral("MSN Lens figure"));
    QPainter painter;
    if (!painter.begin(&svg)) return cannot;
    paint_figure(painter, figure);
    return painter.end() && file.flush() ? QString() : cannot;
  }
  QPdfWriter pdf(&file);
  pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point, QString(), QPageSize::ExactMatch));
  pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
  pdf.setTitle(figure.title);
  pdf.setCreator(QStringLiteral("MSN Lens"));
  QPainter painter;
  if (!painter.begin(&pdf)) return cannot;
  painter.scale(pdf.resolution() / 72.0, pdf.resolution() / 72.0);  // figure units are points
  paint_figure(painter, figure);
  return painter.end() && file.flush() ? QString() : cannot;
}

}  // namespace msnlens
