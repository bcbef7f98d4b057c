#include "ui/error_banner.h"

#include "ui/controls.h"

namespace msnlens {

ErrorBanner::ErrorBanner(QWidget* parent) : QLabel(parent) {
  make_wrapped(this);
  setStyleSheet("QLabel { background: #5c1f1f; color: #ffdede; padding: 6px; border-radius: 4px; }");
  hide();
}

void ErrorBanner::showMessage(const QString& message) {
  setText(message);
  show();
}

void ErrorBanner::dismiss() {
  clear();
  hide();
}

QString ErrorBanner::message() const { return isVisible() ? text() : QString(); }

}  // namespace msnlens
