#include "ui/busy_indicator.h"

namespace msnlens {

BusyIndicator::BusyIndicator(QWidget* parent) : QProgressBar(parent) {
  setRange(0, 0);
  setMaximumWidth(120);
  setMaximumHeight(14);
  hide();
  delay_.setSingleShot(true);
  delay_.setInterval(250);
  connect(&delay_, &QTimer::timeout, this, [this] { setVisible(count_ > 0); });
}

void BusyIndicator::setBusy(bool busy) {
  count_ += busy ? 1 : -1;
  if (count_ > 0 && !isVisible()) delay_.start();
  if (count_ == 0) {
    delay_.stop();
    hide();
  }
}

}  // namespace msnlens
