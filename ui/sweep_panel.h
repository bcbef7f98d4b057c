#pragma once
// The Sweep tab: CLS cosine similarity (solid) and top-1 agreement (dashed) against the
// fraction of patches masked, one colour per strategy, with run / cancel and progress. The
// window runs the sweep the panel asks for and hands back progress and the result.

#include <QWidget>

#include "ui/view_types.h"

class QChart;
class QChartView;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace msnlens {

class SweepPanel : public QWidget {
  Q_OBJECT

 public:
  explicit SweepPanel(QWidget* parent = nullptr);

  // A sweep can run (there is an unmasked result); Run stays off while one runs.
  void setAvailable(bool available);
  void setRunning(bool running);
  bool running() const;
  void setProgress(int done, int total);
  void setResult(const SweepResult& result);
  const SweepResult& result() const { return result_; }

 public Q_SLOTS:
  // Asks for a sweep with the seeds chosen (the Run button).
  void requestRun();

 Q_SIGNALS:
  void runRequested(const msnlens::SweepRequest& request);
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
