#include "ui/controls.h"

#include <QLabel>
#include <QPushButton>

namespace msnlens {

QLabel* wrapped_label(const QString& text) {
  auto* label = new QLabel(text);
  make_wrapped(label);
  return label;
}

void make_wrapped(QLabel* label) {
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
}

QPushButton* push_button(const QString& text, const QString& tip, const QString& name) {
  auto* button = new QPushButton(text);
  button->setToolTip(tip);
  button->setObjectName(name);
  return button;
}

}  // namespace msnlens
