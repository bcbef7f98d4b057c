#include "ui/lens_panel.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include "msnlens.h"

namespace msnlens {

LensPanel::LensPanel(QWidget* parent) : QWidget(parent) {
  heading_ = new QLabel;
  heading_->setWordWrap(true);
  table_ = new QTableWidget(0, 4);
  table_->setObjectName("lensTable");
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

void LensPanel::showLens(const ViewMaps* maps, const Predictor& predictor, PredictionSource source, const QString& source_name) {
  const std::vector<Readout> none;
  const std::vector<Readout>& layers = maps ? maps->lens : none;
  const QString view = maps && maps->masked ? tr("the masked view") : tr("the unmasked image");
  heading_->setText(layers.empty() ? tr("No result yet.")
                                   : tr("What the CLS token would predict after each layer of %1, read out through the final "
                                        "LayerNorm and %2.").arg(view, source_name));
  const std::vector<LensRow> rows = lens_rows(layers, predictor, source);
  table_->setRowCount(static_cast<int>(rows.size()));
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    const LensRow& row = rows[static_cast<std::size_t>(r)];
    const QString label = row.top1 ? QString::fromStdString(row.top1->label) : QString();
    const auto cell = [&](int column, const QString& text) {
      auto* item = new QTableWidgetItem(text);
      item->setTextAlignment(column == 1 ? Qt::AlignLeft | Qt::AlignVCenter : Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, column, item);
      return item;
    };
    cell(0, QString::number(r + 1));
    cell(1, label.isEmpty() ? tr("—") : label);
    // The score's confidence as a tint, so the depth where the answer settles stands out.
    QTableWidgetItem* score = cell(2, label.isEmpty() ? QString() : QStringLiteral("%1 %").arg(100.0 * row.top1->score, 0, 'f', 1));
    if (!label.isEmpty()) score->setBackground(QColor(0, 160, 210, static_cast<int>(40 + 160 * row.top1->score)));
    cell(3, QString::number(row.cosine_to_output, 'f', 3));
  }
}

}  // namespace msnlens
