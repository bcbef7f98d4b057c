#pragma once
// Small constructors every panel uses, so labels and buttons look and behave alike.

#include <QString>

class QLabel;
class QPushButton;

namespace msnlens {

// A label that wraps and whose text can be selected (and copied).
QLabel* wrapped_label(const QString& text = {});
void make_wrapped(QLabel* label);
// A push button with a tooltip; `name` is its objectName (tests find widgets by it).
QPushButton* push_button(const QString& text, const QString& tip, const QString& name);

}  // namespace msnlens
