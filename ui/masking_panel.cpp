#include "ui/masking_panel.h"

#include <QAction>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <algorithm>

#include "ui/controls.h"

namespace msnlens {

MaskingPanel::MaskingPanel(QWidget* parent) : QWidget(parent) {
  mode_ = new QComboBox;
  mode_->setObjectName("maskModeCombo");
  for (const MaskMode m : {MaskMode::DropTokens, MaskMode::MaskToken, MaskMode::FillGray, MaskMode::FillBlur})
    mode_->addItem(mask_mode_name(m), static_cast<int>(m));
  ratio_ = new QSpinBox;
  ratio_->setObjectName("maskRatioSpin");
  ratio_->setRange(1, 99);
  ratio_->setValue(50);
  ratio_->setSuffix("%");
  seed_ = new QSpinBox;
  seed_->setObjectName("maskSeedSpin");
  seed_->setRange(0, 1000000);
  struct Entry {
    MaskAction action;
    QString text, tip, name;
    int row, column;  // of the button
    QString menu_text;
    Qt::Key key;
  };
  // In the Mask menu's order.
  const Entry entries[] = {
      {MaskAction::Random, tr("Random"), tr("Mask the ratio of patches at random (R)"), "maskRandomButton", 0, 0, tr("&Random"), Qt::Key_R},
      {MaskAction::Focal, tr("Focal"), tr("Keep one block, mask the rest (F)"), "maskFocalButton", 0, 1, tr("&Focal"), Qt::Key_F},
      {MaskAction::MostAttended, tr("Most attended"), tr("Mask the ratio of patches the current map weighs most (A)"),
       "maskMostAttendedButton", 1, 0, tr("Most &attended"), Qt::Key_A},
      {MaskAction::LeastAttended, tr("Least attended"), tr("Mask the ratio of patches the current map weighs least (L)"),
       "maskLeastAttendedButton", 1, 1, tr("&Least attended"), Qt::Key_L},
      {MaskAction::Invert, tr("Invert"), tr("Masked ↔ visible (I)"), "maskInvertButton", 0, 2, tr("&Invert"), Qt::Key_I},
      {MaskAction::Clear, tr("Clear"), tr("Unmask everything (C)"), "maskClearButton", 1, 2, tr("&Clear"), Qt::Key_C},
  };
  QPushButton* buttons[2][3] = {};
  for (const Entry& e : entries) {
    QPushButton* button = push_button(e.text, e.tip, e.name);
    connect(button, &QPushButton::clicked, this, [this, action = e.action] { trigger(action); });
    buttons[e.row][e.column] = button;
    auto* menu_action = new QAction(e.menu_text, this);
    menu_action->setShortcut(QKeySequence(e.key));
    connect(menu_action, &QAction::triggered, this, [this, action = e.action] { trigger(action); });
    menu_actions_ << menu_action;
  }
  auto* button_grid = new QGridLayout;
  for (int row = 0; row < 2; ++row)  // row by row: the keyboard focus order
    for (int column = 0; column < 3; ++column) button_grid->addWidget(buttons[row][column], row, column);
  auto* form = new QFormLayout;
  form->addRow(tr("Mode"), mode_);
  auto* ratio_row = new QHBoxLayout;
  ratio_row->addWidget(ratio_);
  ratio_row->addWidget(new QLabel(tr("seed")));
  ratio_row->addWidget(seed_);
  form->addRow(tr("Ratio"), ratio_row);
  response_ = wrapped_label();
  response_->setObjectName("maskingResponse");
  showPending(false);
  auto* response_box = new QGroupBox(tr("Response to masking"));
  auto* response_layout = new QVBoxLayout(response_box);
  response_layout->addWidget(response_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(button_grid);
  layout->addWidget(response_box);
  layout->addStretch(1);
  connect(mode_, &QComboBox::currentIndexChanged, this, &MaskingPanel::modeChanged);
}

MaskMode MaskingPanel::mode() const { return static_cast<MaskMode>(mode_->currentData().toInt()); }
double MaskingPanel::ratio() const { return ratio_->value() / 100.0; }
std::uint64_t MaskingPanel::seed() const { return static_cast<std::uint64_t>(seed_->value()); }

void MaskingPanel::setMaskTokenAvailable(bool available) {
  const int token = mode_->findData(static_cast<int>(MaskMode::MaskToken));
  if (auto* items = qobject_cast<QStandardItemModel*>(mode_->model())) items->item(token)->setEnabled(available);
  if (!available && mode() == MaskMode::MaskToken) mode_->setCurrentIndex(mode_->findData(static_cast<int>(MaskMode::DropTokens)));
}

void MaskingPanel::showPending(bool masked) {
  response_->setText(masked ? tr("Running the masked view…")
                            : tr("Click or drag on the image to mask patches; right-click picks a query patch."));
}

void MaskingPanel::showResponse(const ViewSummary& masked, const MaskingResponse& r, PredictionSource source) {
  QStringList lines;
  lines << tr("<b>%1 of %2 patches masked</b> (%3%), %4")
               .arg(masked.mask.count()).arg(masked.mask.size()).arg(100.0 * masked.mask.ratio(), 0, 'f', 0).arg(mask_mode_name(masked.mode));
  lines << tr("CLS embedding cosine similarity to unmasked: <b>%1</b>").arg(r.cls_cosine, 0, 'f', 4);
  // Prototypes have their own line below.
  if (r.top1_before && r.top1_after && source != PredictionSource::Prototypes) {
    const QString before = QString::fromStdString(r.top1_before->label), after = QString::fromStdString(r.top1_after->label);
    lines << (r.top1_before->index == r.top1_after->index ? tr("Top-1 unchanged: %1").arg(before)
                                                          : tr("Top-1 changed: %1 → <b>%2</b>").arg(before, after));
  }
  if (r.prototype_kl)
    lines << tr("Prototype KL(unmasked ‖ masked): <b>%1</b> nats; top prototype %2 → %3")
                 .arg(*r.prototype_kl, 0, 'f', 4).arg(r.prototype_before).arg(r.prototype_after);
  lines << tr("Latency, edit to result: %1 ms").arg(masked.latency_ms, 0, 'f', 0);
  response_->setText(lines.join("<br>"));
}

void MaskingPanel::restoreSettings(const QSettings& settings) {
  mode_->setCurrentIndex(std::max(0, mode_->findData(settings.value("mask/mode", 0).toInt())));
  ratio_->setValue(settings.value("mask/ratio", 50).toInt());
}

void MaskingPanel::saveSettings(QSettings& settings) const {
  settings.setValue("mask/mode", mode_->currentData());
  settings.setValue("mask/ratio", ratio_->value());
}

}  // namespace msnlens
