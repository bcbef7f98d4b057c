#include "ui/predictions_view.h"

#include <QPainter>

#include "msnlens.h"

namespace msnlens {

PredictionsView::PredictionsView(QWidget* parent) : QWidget(parent) {}

void PredictionsView::setRanking(Ranking ranking) {
  ranking_ = std::move(ranking);
  updateGeometry();
  update();
}

void PredictionsView::setTopK(int k) {
  k_ = std::max(1, k);
  updateGeometry();
  update();
}

QSize PredictionsView::sizeHint() const {
  // Heading, note, up to k rows (more when masking moved classes in), legend.
  const int line = fontMetrics().height() + 10;
  const int note = ranking_.note.isEmpty() ? 0 : 3 * fontMetrics().height();
  return {380, 16 + line * (2 + std::max<int>(k_, static_cast<int>(rows().size()))) + note};
}

std::vector<PredictionsView::Row> PredictionsView::rows() const {
  std::vector<Row> out;
  const std::vector<float>& before = ranking_.before;
  if (before.empty()) return out;
  auto label = [&](int i) { return ranking_.labels.value(i); };  // PredictionsPanel names every index
  if (ranking_.after.size() == before.size()) {
    for (const RankMove& m : rank_moves(before, ranking_.after, k_))
      out.push_back({label(m.index), m.score_before, m.score_after, m.rank_before, m.rank_after});
  } else {
    int rank = 0;
    for (const int i : top_indices(before, k_)) out.push_back({label(i), before[static_cast<std::size_t>(i)], -1, rank, rank}), ++rank;
  }
  return out;
}

QStringList PredictionsView::rowsText() const {
  QStringList text;
  for (const Row& r : rows())
    text << (r.after < 0 ? QStringLiteral("%1: %2").arg(r.label).arg(r.before, 0, 'f', 4)
                         : QStringLiteral("%1: %2 -> %3").arg(r.label).arg(r.before, 0, 'f', 4).arg(r.after, 0, 'f', 4));
  return text;
}

void PredictionsView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const QFontMetrics fm = fontMetrics();
  const int line = fm.height() + 10, margin = 8;
  int y = margin;
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(palette().color(QPalette::WindowText));
  p.drawText(QRect(margin, y, width() - 2 * margin - 70, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             fm.elidedText(ranking_.heading, Qt::ElideRight, width() - 2 * margin - 70));
  p.setFont(font());
  y += line;
  if (!ranking_.note.isEmpty()) {
    const QRect r = fm.boundingRect(QRect(margin, y, width() - 2 * margin, 1000), Qt::TextWordWrap, ranking_.note);
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(r, Qt::TextWordWrap, ranking_.note);
    p.setPen(palette().color(QPalette::WindowText));
    y = r.bottom() + 8;
  }
  const std::vector<Row> rs = rows();
  const int label_w = std::min(width() / 2, 170), value_w = fm.horizontalAdvance(QStringLiteral("100.0%  ▲99")) + 8;
  const int bar_x = margin + label_w + 6, bar_w = std::max(40, width() - bar_x - value_w - margin);
  const QColor before_c(150, 150, 160), after_c(0, 170, 210), up(40, 170, 80), down(210, 70, 60);
  for (const Row& r : rs) {
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(margin, y, label_w, fm.height()), Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(r.label, Qt::ElideRight, label_w));
    const int h = fm.height() / 2;
    // Unmasked: a full-height bar alone, or a gray one above the masked (blue) one.
    const QRectF bar_before(bar_x, y + (r.after < 0 ? h / 2 : 0), bar_w * std::clamp(r.before, 0.0f, 1.0f), r.after < 0 ? h : h - 1);
    p.fillRect(bar_before, r.after < 0 ? after_c : before_c);
    if (r.after >= 0) p.fillRect(QRectF(bar_x, y + h + 1, bar_w * std::clamp(r.after, 0.0f, 1.0f), h - 1), after_c);
    const float shown = r.after < 0 ? r.before : r.after;
    const QString value = QStringLiteral("%1%").arg(100.0 * shown, 0, 'f', 1);
    p.drawText(QRect(bar_x + bar_w + 6, y, value_w, fm.height()), Qt::AlignLeft | Qt::AlignVCenter, value);
    if (r.after >= 0 && r.rank_after != r.rank_before) {
      const int moved = r.rank_before - r.rank_after;
      p.setPen(moved > 0 ? up : down);
      p.drawText(QRect(bar_x + bar_w + 6 + fm.horizontalAdvance(value) + 4, y, value_w, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                 QStringLiteral("%1%2").arg(moved > 0 ? "▲" : "▼").arg(std::abs(moved)));
    }
    y += line;
  }
  if (!ranking_.after.empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(QRect(margin, y, width() - 2 * margin, fm.height()), Qt::AlignLeft,
               tr("gray: unmasked   blue: masked (%1 of %2 patches)").arg(ranking_.masked).arg(ranking_.patches));
  }
}

}  // namespace msnlens
