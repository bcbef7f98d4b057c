#pragma once
// The red banner above the canvas: the last error, until a model is loaded again.

#include <QLabel>

namespace msnlens {

class ErrorBanner : public QLabel {
  Q_OBJECT

 public:
  explicit ErrorBanner(QWidget* parent = nullptr);

  void showMessage(const QString& message);
  void dismiss();
  QString message() const;  // empty while hidden
};

}  // namespace msnlens
