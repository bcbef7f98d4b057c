#pragma once
// The depth lens: what the CLS token would predict after each layer, read out through the
// model's final LayerNorm and heads (as nostalgebraist's "logit lens" does for language
// models), and how close that layer's CLS embedding already is to the output's.

#include <QWidget>

#include <vector>

class QLabel;
class QTableWidget;

namespace msnlens {

struct LensRow {
  QString label;      // top-1 under the current prediction source; empty when there is none
  float score = 0;    // its probability
  double cosine = 0;  // cosine similarity of this layer's normalised CLS to the output's
};

class DepthLensView : public QWidget {
  Q_OBJECT

 public:
  explicit DepthLensView(QWidget* parent = nullptr);

  // rows[l] is layer l + 1; heading says what is ranked.
  void setRows(const QString& heading, const std::vector<LensRow>& rows);
  const QTableWidget* table() const { return table_; }

 private:
  QLabel* heading_ = nullptr;
  QTableWidget* table_ = nullptr;
};

}  // namespace msnlens
