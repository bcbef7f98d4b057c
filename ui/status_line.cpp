#include "ui/status_line.h"

#include <QHBoxLayout>
#include <QLabel>

#include "ui/busy_indicator.h"
#include "ui/view_types.h"

namespace msnlens {

StatusLine::StatusLine(QWidget* parent) : QWidget(parent), busy_(new BusyIndicator), latency_(new QLabel), device_(new QLabel) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(busy_);
  layout->addWidget(latency_);
  layout->addWidget(device_);
}

void StatusLine::showModel(const ModelInfo& info) {
  const bool fell_back = !info.precision_note.isEmpty();
  device_->setText(tr("%1 · %2").arg(info.device, info.precision) + (fell_back ? tr(" ⚠") : QString()));
  device_->setToolTip(tr("Encoder layers on %1").arg(info.kernels) + (fell_back ? "\n" + info.precision_note : QString()));
}

void StatusLine::setLatency(const QString& text) { latency_->setText(text); }

void StatusLine::setBusy(bool busy) { busy_->setBusy(busy); }

}  // namespace msnlens
