#pragma once
// The status bar's permanent widgets: a busy bar while the engine works, the latest answer's
// latency (and the last mask edit's click-to-repaint time), and the device and precision
// running, with the kernels and any precision fallback in its tooltip (⚠ marks a fallback).

#include <QWidget>

class QLabel;

namespace msnlens {

class BusyIndicator;
struct ModelInfo;

class StatusLine : public QWidget {
  Q_OBJECT

 public:
  explicit StatusLine(QWidget* parent = nullptr);

  void showModel(const ModelInfo& info);
  void setLatency(const QString& text);
  void setBusy(bool busy);

 private:
  BusyIndicator* busy_ = nullptr;
  QLabel *latency_ = nullptr, *device_ = nullptr;
};

}  // namespace msnlens
