#pragma once
// The Lens tab: what the CLS token would predict after each layer, read out through the
// model's final LayerNorm and heads (as nostalgebraist's "logit lens" does for language
// models), and how close that layer's CLS embedding already is to the output's.

#include <QWidget>

#include "msnlens.h"

class QLabel;
class QTableWidget;

namespace msnlens {

class LensPanel : public QWidget {
  Q_OBJECT

 public:
  explicit LensPanel(QWidget* parent = nullptr);

  // One row per layer of `maps`' lens (none yet: an empty table), ranked by `predictor` under
  // `source`, which the heading names `source_name`.
  void showLens(const ViewMaps* maps, const Predictor& predictor, PredictionSource source, const QString& source_name);

 private:
  QLabel* heading_ = nullptr;
  QTableWidget* table_ = nullptr;
};

}  // namespace msnlens
