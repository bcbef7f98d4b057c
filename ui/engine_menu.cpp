#include "ui/engine_menu.h"

#include <QActionGroup>
#include <QSettings>

#include "ui/view_types.h"

namespace msnlens {

EngineMenu::EngineMenu(QWidget* parent) : QMenu(tr("&Engine"), parent) {
  precisions_ = new QActionGroup(this);
  for (const QString& p : {QStringLiteral("auto"), QStringLiteral("fp32"), QStringLiteral("bf16"), QStringLiteral("fp16")}) {
    QAction* a = addAction(p == "auto" ? tr("Precision: fastest within bounds") : tr("Precision: %1").arg(p));
    a->setCheckable(true);
    a->setData(p);
    a->setChecked(p == precision_);
    precisions_->addAction(a);
    connect(a, &QAction::triggered, this, [this, p] {
      precision_ = p;
      Q_EMIT reloadRequested();
    });
  }
  addSeparator();
  fused_action_ = addAction(tr("Fused oneDNN kernels on the CPU"));
  fused_action_->setCheckable(true);
  fused_action_->setChecked(fused_);
  fused_action_->setToolTip(tr("Off: the LibTorch reference layers (slower, for comparison)"));
  connect(fused_action_, &QAction::toggled, this, [this](bool on) {
    if (on == fused_) return;
    setFused(on);
    Q_EMIT reloadRequested();
  });
}

void EngineMenu::setDevice(const QString& device, const QString& precision) {
  device_ = device;
  precision_ = precision;
}

void EngineMenu::setFused(bool fused) {
  fused_ = fused;
  fused_action_->setChecked(fused);
  Q_EMIT fusedChanged(fused);  // queued before any load that follows
}

void EngineMenu::showModel(const ModelInfo& info) {
  for (QAction* a : precisions_->actions()) {
    const QString p = a->data().toString();
    a->setVisible(p == "auto" || info.precisions.contains(p));
    a->setChecked(p == (info.precision_note.isEmpty() ? precision_ : QStringLiteral("auto")));
  }
}

void EngineMenu::restoreSettings(const QSettings& settings) {
  setDevice(settings.value("engine/device", "auto").toString(), settings.value("engine/precision", "auto").toString());
  setFused(settings.value("engine/fused_cpu", true).toBool());
}

void EngineMenu::saveSettings(QSettings& settings) const {
  settings.setValue("engine/device", device_);
  settings.setValue("engine/precision", precision_);
  settings.setValue("engine/fused_cpu", fused_);
}

}  // namespace msnlens
