#pragma once
// The Predictions box: what is ranked (the checkpoint's classifier, few-shot classes or MSN
// prototypes, as core's Predictor offers them), how many, and the scores of the unmasked and
// masked views side by side.

#include <QGroupBox>

#include "msnlens.h"

class QComboBox;
class QSettings;
class QSpinBox;

namespace msnlens {

class PredictionsView;

class PredictionsPanel : public QGroupBox {
  Q_OBJECT

 public:
  explicit PredictionsPanel(QWidget* parent = nullptr);

  PredictionSource source() const;
  QString sourceText() const;  // the source as the combo names it
  // The sources `predictor` offers (`few_shot_origin`: where its few-shot classes came from).
  // The user's pick stays while it is offered; otherwise the predictor's preference.
  void setSources(const Predictor& predictor, const QString& few_shot_origin);
  // A new model: its preferred source again until the user picks one.
  void forgetChoice() { chosen_ = false; }
  // Ranks `unmasked`, and `masked` beside it when given. `no_classifier`: a model without a
  // trained head is loaded, which the note explains.
  void showScores(const Predictor& predictor, const ViewSummary* unmasked, const ViewSummary* masked, bool no_classifier);
  // The rows shown, as text ("label: before -> after").
  QStringList rowsText() const;
  void restoreSettings(const QSettings& settings);
  void saveSettings(QSettings& settings) const;

 Q_SIGNALS:
  void sourceChanged();

 private:
  QComboBox* source_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  PredictionsView* view_ = nullptr;
  bool chosen_ = false;  // the user picked the source
};

}  // namespace msnlens
