#pragma once
// The masking sweep: CLS cosine similarity (solid) and top-1 agreement (dashed) against the
// fraction of patches masked, one colour per strategy, with run / cancel and progress.

#include <QWidget>

#include "ui/view_types.h"

class QChart;
class QChartView;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace msnlens {

class SweepView : public QWidget {
  Q_OBJECT

 public:
  explicit SweepView(QWidget* parent = nullptr);

  void setAvailable(bool available);
  void setRunning(bool running);
  void setProgress(int done, int total);
  void setResult(const SweepResult& result);
  int seeds() const;
  const SweepResult& result() const { return result_; }

 Q_SIGNALS:
  void runRequested();
  void cancelRequested();

 private:
  QChart* chart_;
  QChartView* view_;
  QPushButton *run_, *cancel_;
  QProgressBar* progress_;
  QSpinBox* seeds_;
  QLabel* status_;
  SweepResult result_;
};

}  // namespace msnlens
