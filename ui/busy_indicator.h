#pragma once
// The status bar's busy bar: shown while the worker is busy, but only for work that lasts. An
// animated bar flashing for every 20 ms mask edit is noise, and its repaints take a core from
// the very inference it announces.

#include <QProgressBar>
#include <QTimer>

namespace msnlens {

class BusyIndicator : public QProgressBar {
  Q_OBJECT

 public:
  explicit BusyIndicator(QWidget* parent = nullptr);

  // One piece of work started (true) or ended (false); pieces may overlap.
  void setBusy(bool busy);

 private:
  int count_ = 0;
  QTimer delay_;  // the bar appears only after this
};

}  // namespace msnlens
