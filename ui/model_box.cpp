#include "ui/model_box.h"

#include <QFileInfo>
#include <QLabel>
#include <QVBoxLayout>

#include "ui/controls.h"

namespace msnlens {

ModelBox::ModelBox(QWidget* parent) : QGroupBox(tr("Model"), parent) {
  title_ = wrapped_label(tr("No model loaded"));
  title_->setObjectName("modelTitle");
  QFont title_font = title_->font();
  title_font.setBold(true);
  title_font.setPointSizeF(title_font.pointSizeF() * 1.1);
  title_->setFont(title_font);
  details_ = wrapped_label(tr("Drop a model folder or checkpoint file (File ▸ Open Model)."));
  details_->setObjectName("modelDetails");
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(title_);
  layout->addWidget(details_);
}

// The folder or file name, and whether it is a bundled test checkpoint.
QString ModelBox::title(const ModelInfo& info) {
  return QFileInfo(info.path).fileName() + (info.demo ? tr(" (test checkpoint)") : QString());
}

void ModelBox::showLoading(const QString& path) { details_->setText(tr("Loading %1…").arg(path)); }

void ModelBox::showModel(const ModelInfo& info) {
  title_->setText(title(info));
  const QStringList lines = {info.format, info.architecture,
                             tr("%1 · %2 · loaded in %3 ms").arg(info.device, info.precision).arg(info.load_ms, 0, 'f', 0),
                             tr("layers on %1").arg(info.kernels),
                             tr("classifier: %1 · prototypes: %2 · mask token: %3")
                                 .arg(info.has_classifier ? tr("yes (%1 labels)").arg(info.labels.size()) : tr("no"))
                                 .arg(info.has_prototypes ? tr("yes (%1)").arg(info.num_prototypes) : tr("no"))
                                 .arg(info.has_mask_token ? tr("yes") : tr("no"))};
  details_->setText(lines.join("\n") + (info.precision_note.isEmpty() ? QString() : tr("\nNote: %1").arg(info.precision_note)));
}

void ModelBox::showLoadFailed(const ModelInfo& still_loaded) {
  details_->setText(still_loaded.path.isEmpty() ? tr("No model loaded.") : tr("Still using %1.").arg(title(still_loaded)));
}

}  // namespace msnlens
