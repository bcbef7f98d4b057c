#include "ui/compare_panel.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/controls.h"
#include "ui/heatmap.h"
#include "ui/image_canvas.h"

namespace msnlens {

ComparePanel::ComparePanel(QWidget* parent) : QWidget(parent) {
  auto* load = new QPushButton(tr("Load Comparison Model…"));
  load->setObjectName("loadCompareButton");
  close_ = new QPushButton(tr("Close"));
  close_->setObjectName("closeCompareButton");
  model_ = wrapped_label(QString());
  model_->setObjectName("compareModel");
  canvas_ = new ImageCanvas;
  canvas_->setObjectName("compareCanvas");
  canvas_->setMinimumHeight(240);
  response_ = wrapped_label(QString());
  response_->setObjectName("compareResponse");
  note_ = wrapped_label(QString());
  note_->setObjectName("compareNote");
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(load);
  buttons->addWidget(close_);
  buttons->addStretch(1);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(buttons);
  layout->addWidget(model_);
  layout->addWidget(canvas_, 1);
  layout->addWidget(response_);
  layout->addWidget(note_);
  connect(load, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open a model folder to compare with"));
    if (!path.isEmpty()) Q_EMIT loadChosen(path);
  });
  connect(close_, &QPushButton::clicked, this, &ComparePanel::closeRequested);
  setModel({}, {});
}

void ComparePanel::setModel(const ModelInfo& info, const Predictor& predictor) {
  has_model_ = !info.path.isEmpty();
  predictor_ = predictor;
  close_->setEnabled(has_model_);
  model_->setText(has_model_ ? tr("<b>%1</b><br>%2 · %3 · %4").arg(info.path.section('/', -2), info.architecture, info.device, info.precision)
                             : tr("Load a second model to see it beside the first: the same image, mask and map, its own "
                                  "predictions (MSN against a supervised ViT or DINO, or two pretraining epochs)."));
  canvas_->setVisible(has_model_);
  response_->clear();
  note_->clear();
}

void ComparePanel::showResult(const QImage& image, const ShownView* result, const PatchMask& mask, int query_patch,
                              Colormap colormap, double opacity, bool grid) {
  if (!has_model_) return;
  note_->setText(result ? QString::fromStdString(result->note) : QString());
  const ViewMaps* maps = result && result->maps ? result->maps.get() : nullptr;
  canvas_->setImage(image);
  canvas_->setMask(maps ? maps->mask : mask);
  canvas_->setQueryPatch(maps ? maps->request.map.query_patch : query_patch);
  canvas_->setOverlayOpacity(opacity);
  canvas_->setShowGrid(grid);
  canvas_->setOverlay(maps ? heatmap_image(result->display.values, maps->mask.cols(), maps->mask.rows(), colormap, result->display.channels)
                           : QImage());
  QString text;
  if (result && result->unmasked) {
    const std::optional<Scored> before = predictor_.top1(*result->unmasked, result->request.ranking);
    text = before ? tr("Top prediction: %1 (%2 %)").arg(QString::fromStdString(before->label)).arg(100.0 * before->score, 0, 'f', 1)
                  : tr("This model ranks nothing (no classifier, few-shot classes or prototypes).");
    if (const std::optional<MaskingResponse>& r = result->response) {
      text += tr("<br>Masked: CLS cosine to unmasked %1").arg(r->cls_cosine, 0, 'f', 4);
      if (r->top1_after) text += tr(" · top-1 %1").arg(QString::fromStdString(r->top1_after->label));
    }
    if (result->controls.target && !result->target_label.empty())
      text += tr("<br>Class map explains its own top prediction.");
  }
  response_->setText(text);
}

}  // namespace msnlens
