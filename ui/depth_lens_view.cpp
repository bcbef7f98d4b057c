#include "ui/depth_lens_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace msnlens {

DepthLensView::DepthLensView(QWidget* parent) : QWidget(parent) {
  heading_ = new QLabel;
  heading_->setWordWrap(true);
  table_ = new QTableWidget(0, 4);
  table_->setHorizontalHeaderLabels({tr("Layer"), tr("Top-1 read out here"), tr("Score"), tr("CLS cos to output")});
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::NoSelection);
  table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  for (int c : {0, 2, 3}) table_->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(heading_);
  layout->addWidget(table_, 1);
}

void DepthLensView::setRows(const QString& heading, const std::vector<LensRow>& rows) {
  heading_->setText(heading);
  table_->setRowCount(static_cast<int>(rows.size()));
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    const LensRow& row = rows[static_cast<std::size_t>(r)];
    const auto cell = [&](int column, const QString& text) {
      auto* item = new QTableWidgetItem(text);
      item->setTextAlignment(column == 1 ? Qt::AlignLeft | Qt::AlignVCenter : Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, column, item);
      return item;
    };
    cell(0, QString::number(r + 1));
    cell(1, row.label.isEmpty() ? tr("—") : row.label);
    // The score's confidence as a tint, so the depth where the answer settles stands out.
    QTableWidgetItem* score = cell(2, row.label.isEmpty() ? QString() : QStringLiteral("%1 %").arg(100.0 * row.score, 0, 'f', 1));
    if (!row.label.isEmpty()) score->setBackground(QColor(0, 160, 210, static_cast<int>(40 + 160 * row.score)));
    cell(3, QString::number(row.cosine, 'f', 3));
  }
}

}  // namespace msnlens
