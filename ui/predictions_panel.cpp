#include "ui/predictions_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "ui/predictions_view.h"

namespace msnlens {

PredictionsPanel::PredictionsPanel(QWidget* parent) : QGroupBox(tr("Predictions"), parent) {
  view_ = new PredictionsView;
  view_->setObjectName("predictionsView");
  top_k_ = new QSpinBox;
  top_k_->setObjectName("topKSpin");
  top_k_->setRange(1, 20);
  top_k_->setValue(5);
  top_k_->setPrefix(tr("top "));
  source_ = new QComboBox;
  source_->setObjectName("predictionSourceCombo");
  source_->setToolTip(tr("What to rank: the checkpoint's classifier, your few-shot classes, or MSN prototypes"));
  auto* row = new QHBoxLayout;
  row->addWidget(source_, 1);
  row->addWidget(top_k_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(row);
  layout->addWidget(view_);
  connect(top_k_, &QSpinBox::valueChanged, view_, &PredictionsView::setTopK);
  connect(source_, &QComboBox::currentIndexChanged, this, &PredictionsPanel::sourceChanged);
  connect(source_, &QComboBox::activated, this, [this] { chosen_ = true; });
}

PredictionSource PredictionsPanel::source() const { return static_cast<PredictionSource>(source_->currentData().toInt()); }

QString PredictionsPanel::sourceText() const { return source_->currentText(); }

void PredictionsPanel::setSources(const Predictor& predictor, const QString& few_shot_origin) {
  const QSignalBlocker block(source_);
  const QVariant previous = source_->currentData();
  source_->clear();
  for (const PredictionSource s : predictor.sources()) {
    const int n = predictor.size(s);
    switch (s) {
      case PredictionSource::Classifier: source_->addItem(tr("Classifier: %1 labels").arg(n), static_cast<int>(s)); break;
      case PredictionSource::FewShot: source_->addItem(tr("Few-shot classes (%1, %2)").arg(n).arg(few_shot_origin), static_cast<int>(s)); break;
      case PredictionSource::Prototypes: source_->addItem(tr("MSN prototypes (%1)").arg(n), static_cast<int>(s)); break;
      case PredictionSource::None: source_->addItem(tr("No classifier"), static_cast<int>(s)); break;
    }
  }
  const int keep = chosen_ ? source_->findData(previous) : -1;
  source_->setCurrentIndex(keep >= 0 ? keep : source_->findData(static_cast<int>(predictor.preferred())));
}

void PredictionsPanel::showScores(const Predictor& predictor, const ViewSummary* unmasked, const ViewSummary* masked,
                                  bool no_classifier) {
  Ranking r;
  const PredictionSource s = source();
  switch (s) {
    case PredictionSource::Classifier: r.heading = tr("Top-%1 classes").arg(view_->topK()); break;
    case PredictionSource::FewShot: r.heading = tr("Few-shot classes (%1)").arg(QString::fromStdString(predictor.few_shot().kind)); break;
    case PredictionSource::Prototypes: r.heading = tr("MSN prototype assignment"); break;
    case PredictionSource::None: r.heading = tr("No classifier in this checkpoint"); break;
  }
  if (no_classifier)
    r.note = s == PredictionSource::None
                 ? tr("Released ViT-MSN backbones carry no trained head, so no class labels are shown. Define few-shot "
                      "classes in the Classes tab; attention and the CLS representation respond to masking regardless.")
                 : tr("This checkpoint has no trained classifier; these are %1, not labels from a head.")
                       .arg(s == PredictionSource::FewShot ? tr("your few-shot classes") : tr("MSN's prototypes"));
  if (unmasked) {
    for (int i = 0; i < predictor.size(s); ++i) r.labels << QString::fromStdString(predictor.label(s, i));
    r.before = predictor.scores(*unmasked, s);
    if (masked) {
      r.after = predictor.scores(*masked, s);
      r.masked = masked->mask.count();
      r.patches = masked->mask.size();
    }
  }
  view_->setRanking(std::move(r));
}

QStringList PredictionsPanel::rowsText() const { return view_->rowsText(); }

void PredictionsPanel::restoreSettings(const QSettings& settings) { top_k_->setValue(settings.value("view/topk", 5).toInt()); }

void PredictionsPanel::saveSettings(QSettings& settings) const { settings.setValue("view/topk", top_k_->value()); }

}  // namespace msnlens
