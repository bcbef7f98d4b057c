#pragma once
// The Model box: the checkpoint's name and what the engine made of it (format, architecture,
// device and precision, which heads it carries), or what is loading or failed to.

#include <QGroupBox>

#include "ui/view_types.h"

class QLabel;

namespace msnlens {

class ModelBox : public QGroupBox {
  Q_OBJECT

 public:
  explicit ModelBox(QWidget* parent = nullptr);

  void showLoading(const QString& path);
  void showModel(const ModelInfo& info);
  // Loading another model failed; `still_loaded` is the one in use (its path empty: none).
  void showLoadFailed(const ModelInfo& still_loaded);

 private:
  static QString title(const ModelInfo& info);

  QLabel *title_ = nullptr, *details_ = nullptr;
};

}  // namespace msnlens
