#pragma once
// What the model predicts, unmasked and masked side by side: top-k classes with bars and how
// their ranks moved. Checkpoints without a classifier (every released facebook/vit-msn-*
// backbone) say so, and show the MSN prototype assignment instead when the file has one.

#include <QWidget>

#include "ui/view_types.h"

namespace msnlens {

class PredictionsView : public QWidget {
  Q_OBJECT

 public:
  explicit PredictionsView(QWidget* parent = nullptr);

  void setModel(const ModelInfo& info);
  void setResults(ForwardResultPtr baseline, ForwardResultPtr masked);
  void setTopK(int k);
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override { return {280, sizeHint().height()}; }

  // The rows as text (for the JSON report and tests): "label: before -> after".
  QStringList rowsText() const;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  struct Row {
    QString label;
    float before = 0, after = -1;  // after < 0: no masked result
    int rank_before = 0, rank_after = 0;
  };
  std::vector<Row> rows() const;
  QString heading() const;

  ModelInfo info_;
  ForwardResultPtr baseline_, masked_;
  int k_ = 5;
};

}  // namespace msnlens
