#pragma once
// Ranked scores, unmasked and masked side by side: bars for the top-k and how their ranks
// moved. What is ranked (classifier labels, few-shot classes, MSN prototypes) is decided by
// PredictionsPanel; checkpoints without a classifier say so in the note.

#include <QStringList>
#include <QWidget>

#include <vector>

namespace msnlens {

struct Ranking {
  QString heading;                   // "Top-5 classes", "Few-shot classes", ...
  QString note;                      // shown under the heading (e.g. why there are no labels)
  QStringList labels;                // name of each index
  std::vector<float> before, after;  // probabilities; `after` empty without a masked result
  int masked = 0, patches = 0;       // for the legend
};

class PredictionsView : public QWidget {
  Q_OBJECT

 public:
  explicit PredictionsView(QWidget* parent = nullptr);

  void setRanking(Ranking ranking);
  void setTopK(int k);
  int topK() const { return k_; }
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

  Ranking ranking_;
  int k_ = 5;
};

}  // namespace msnlens
