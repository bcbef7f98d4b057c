#pragma once
// Under the canvas: how faithful the map shown is, measured with MSN's token dropping. The
// deletion (red) and insertion (blue) curves of p_t over the fraction of patches dropped or
// kept in the map's order, each over the band its random orders span (dashed: their mean AUC's
// curve is not drawn, the band is), and the AUCs. A check box turns the measuring off.

#include <QWidget>

#include <memory>

#include "ui/view_types.h"

class QCheckBox;
class QLabel;

namespace msnlens {

class FaithfulnessPlot;

class FaithfulnessStrip : public QWidget {
  Q_OBJECT

 public:
  explicit FaithfulnessStrip(QWidget* parent = nullptr);

  bool measuring() const;
  // The curves of the map shown; nullptr: being measured (`pending`) or nothing to measure.
  void showResult(std::shared_ptr<const FaithfulnessResult> result);
  void showPending(const QString& why);
  // The caption line the figures carry ("" without curves).
  QString caption() const;

 Q_SIGNALS:
  void measuringToggled(bool on);

 private:
  QCheckBox* measure_;
  QLabel* text_;
  FaithfulnessPlot* plot_;
  std::shared_ptr<const FaithfulnessResult> result_;
};

}  // namespace msnlens
