#include "ui/causes_panel.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QLineSeries>
#include <QMouseEvent>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QToolTip>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "ui/controls.h"
#include "ui/heatmap.h"
#include "ui/image_canvas.h"

namespace msnlens {
namespace {

constexpr int kLabelWidth = 28, kHeaderHeight = 18;

// -1 (y falls when the head is zeroed: blue) through white to 1 (y rises: red).
QColor diverging(float v) {
  const float t = std::clamp(std::abs(v), 0.0f, 1.0f);
  const int fade = static_cast<int>(std::lround(255 * (1 - t)));
  return v >= 0 ? QColor(fade, fade, 255) : QColor(255, fade, fade);
}

}  // namespace

AblationGrid::AblationGrid(QWidget* parent) : QWidget(parent) {
  setMinimumHeight(140);
  setMouseTracking(false);
}

void AblationGrid::setAblation(std::shared_ptr<const HeadAblation> ablation) {
  ablation_ = std::move(ablation);
  display_ = ablation_ ? ablation_display(*ablation_) : std::vector<float>{};
  update();
}

QRect AblationGrid::cellRect(int layer, int head) const {
  if (!ablation_ || ablation_->layers <= 0 || ablation_->heads <= 0) return {};
  const double w = static_cast<double>(width() - kLabelWidth) / ablation_->heads;
  const double h = static_cast<double>(height() - kHeaderHeight) / ablation_->layers;
  return QRectF(kLabelWidth + head * w, kHeaderHeight + layer * h, w, h).toAlignedRect().adjusted(0, 0, -1, -1);
}

std::pair<int, int> AblationGrid::cellAt(const QPoint& pos) const {
  if (!ablation_) return {-1, -1};
  for (int l = 0; l < ablation_->layers; ++l)
    for (int h = 0; h < ablation_->heads; ++h)
      if (cellRect(l, h).contains(pos)) return {l, h};
  return {-1, -1};
}

void AblationGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  if (!ablation_) {
    p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Run to ablate every head of this view"));
    return;
  }
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.8);
  p.setFont(small);
  for (int h = 0; h < ablation_->heads; ++h) {
    const QRect r = cellRect(0, h);
    p.drawText(QRect(r.left(), 0, r.width(), kHeaderHeight), Qt::AlignCenter, QString::number(h + 1));
  }
  for (int l = 0; l < ablation_->layers; ++l) {
    const QRect row = cellRect(l, 0);
    p.drawText(QRect(0, row.top(), kLabelWidth - 4, row.height()), Qt::AlignRight | Qt::AlignVCenter, QString::number(l + 1));
    for (int h = 0; h < ablation_->heads; ++h)
      p.fillRect(cellRect(l, h), diverging(display_[static_cast<std::size_t>(l * ablation_->heads + h)]));
  }
}

void AblationGrid::mousePressEvent(QMouseEvent* event) {
  const auto [l, h] = cellAt(event->position().toPoint());
  if (l >= 0) Q_EMIT headPicked(l, h);
}

bool AblationGrid::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip && ablation_) {
    auto* help = static_cast<QHelpEvent*>(event);
    const auto [l, h] = cellAt(help->pos());
    if (l >= 0)
      QToolTip::showText(help->globalPos(), tr("layer %1, head %2: y falls by %3 when it is zeroed")
                                                .arg(l + 1).arg(h + 1)
                                                .arg(static_cast<double>(ablation_->delta[static_cast<std::size_t>(l * ablation_->heads + h)]), 0, 'f', 4));
    else
      QToolTip::hideText();
    return true;
  }
  return QWidget::event(event);
}

CausesPanel::CausesPanel(QWidget* parent) : QWidget(parent), chart_(new QChart), chart_view_(new QChartView(chart_)) {
  run_ = push_button(tr("Run on this view"), tr("Ablate every head and, with patches masked, patch every layer"), "causesRunButton");
  cancel_ = push_button(tr("Cancel"), tr("Stop the run"), "causesCancelButton");
  cancel_->setEnabled(false);
  progress_ = new QProgressBar;
  progress_->setTextVisible(true);
  status_ = wrapped_label(tr("y is the score of the top prediction before the softmax. Mask patches on the image to "
                             "patch them back layer by layer."));
  grid_ = new AblationGrid;
  grid_->setObjectName("ablationGrid");
  ablation_caption_ = wrapped_label();
  ablation_caption_->setObjectName("ablationCaption");
  layer_ = new QSlider(Qt::Horizontal);
  layer_->setObjectName("patchingLayerSlider");
  layer_->setRange(0, 0);
  canvas_ = new ImageCanvas;
  canvas_->setObjectName("patchingCanvas");
  canvas_->setFixedHeight(170);
  canvas_->setToolTip(tr("Each kept patch patched alone at the chosen layer's input"));
  patching_caption_ = wrapped_label();
  patching_caption_->setObjectName("patchingCaption");
  chart_view_->setRenderHint(QPainter::Antialiasing);
  chart_view_->setFixedHeight(170);
  chart_->setMargins(QMargins(0, 0, 0, 0));
  chart_->legend()->hide();  // the caption under the chart names the lines
  chart_->setTitle(tr("by layer"));
  scope_ = new QComboBox;
  scope_->setObjectName("knockoutScope");
  scope_->addItem(tr("the CLS token"), false);
  scope_->addItem(tr("every query"), true);
  from_ = new QSpinBox;
  to_ = new QSpinBox;
  knock_ = push_button(tr("Knock out"), tr("Hide the masked patches from attention (logits −∞) in these layers, without dropping them"),
                       "knockoutButton");
  knockout_caption_ = wrapped_label();
  knockout_caption_->setObjectName("knockoutCaption");

  auto* controls = new QHBoxLayout;
  controls->addWidget(run_);
  controls->addWidget(cancel_);
  controls->addWidget(progress_, 1);
  auto* knock_row = new QHBoxLayout;
  knock_row->addWidget(new QLabel(tr("Hide from")));
  knock_row->addWidget(scope_);
  knock_row->addWidget(new QLabel(tr("layers")));
  knock_row->addWidget(from_);
  knock_row->addWidget(new QLabel(QStringLiteral("–")));
  knock_row->addWidget(to_);
  knock_row->addWidget(knock_);
  knock_row->addStretch(1);
  auto* layer_row = new QHBoxLayout;
  layer_row->addWidget(new QLabel(tr("Layer input")));
  layer_row->addWidget(layer_, 1);
  // Scrolls rather than squeezing its charts when the window is short.
  auto* content = new QWidget;
  auto* layout = new QVBoxLayout(content);
  layout->addLayout(controls);
  layout->addWidget(status_);
  layout->addWidget(new QLabel(tr("<b>Head ablation</b> (blue: y falls without the head; click one to show it)")));
  layout->addWidget(grid_);
  layout->addWidget(ablation_caption_);
  layout->addWidget(new QLabel(tr("<b>Activation patching</b> (restoration of y: 0 nothing, 1 all)")));
  layout->addLayout(layer_row);
  auto* patching_row = new QHBoxLayout;
  patching_row->addWidget(canvas_, 1);
  patching_row->addWidget(chart_view_, 1);
  layout->addLayout(patching_row);
  layout->addWidget(wrapped_label(tr("Left: each kept patch alone at that layer. Right: every token at once (blue), the CLS token "
                                     "alone (orange).")));
  layout->addWidget(patching_caption_);
  layout->addWidget(new QLabel(tr("<b>Knockout</b> of the masked patches")));
  layout->addLayout(knock_row);
  layout->addWidget(knockout_caption_);
  layout->addStretch(1);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidget(content);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(scroll);

  connect(run_, &QPushButton::clicked, this, &CausesPanel::runRequested);
  connect(cancel_, &QPushButton::clicked, this, &CausesPanel::cancelRequested);
  connect(grid_, &AblationGrid::headPicked, this, &CausesPanel::headPicked);
  connect(layer_, &QSlider::valueChanged, this, &CausesPanel::showLayer);
  connect(knock_, &QPushButton::clicked, this, [this] {
    KnockoutRequest r;
    for (int l = from_->value(); l <= to_->value(); ++l) r.layers.push_back(l - 1);
    r.every_query = scope_->currentData().toBool();
    Q_EMIT knockoutRequested(r);
  });
  setModel(0);
}

void CausesPanel::setModel(int layers) {
  grid_->setFixedHeight(std::clamp(kHeaderHeight + 16 * layers, 100, 260));
  for (QSpinBox* box : {from_, to_}) box->setRange(std::min(1, layers), layers);
  from_->setValue(std::min(1, layers));
  to_->setValue(layers);
  knockout_caption_->clear();
  setResult({}, {}, colormap_);
}

void CausesPanel::setAvailable(bool available) {
  run_->setEnabled(available && !running());
  knock_->setEnabled(available);
}

bool CausesPanel::running() const { return cancel_->isEnabled(); }

void CausesPanel::setRunning(bool running) {
  run_->setEnabled(!running);
  cancel_->setEnabled(running);
  if (running) progress_->setValue(0);
}

void CausesPanel::setProgress(int done, int total) {
  progress_->setRange(0, std::max(total, 1));
  progress_->setValue(done);
}

void CausesPanel::setResult(const CausesResult& result, const QImage& image, Colormap colormap) {
  result_ = result;
  colormap_ = colormap;
  grid_->setAblation(result.heads);
  status_->setVisible(!result.heads);  // the how-to, until there is a result to read
  ablation_caption_->setText(result.heads ? tr("y = %1 · %2 · %3 s").arg(result.target, QString::fromStdString(ablation_caption(*result.heads)))
                                                .arg(result.seconds, 0, 'f', 1)
                                          : QString());
  const Patching* p = result.patching.get();
  canvas_->setVisible(p != nullptr);
  chart_view_->setVisible(p != nullptr);
  canvas_->setImage(image);
  canvas_->setMask(result.mask);
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) chart_->removeAxis(axis), delete axis;
  if (!p) {
    layer_->setRange(0, 0);
    patching_caption_->setText(result.heads ? tr("Mask patches on the image and run again to patch them back.") : QString());
    return;
  }
  auto* all = new QLineSeries;
  all->setName(tr("every token"));
  all->setPen(QPen(QColor(31, 119, 180), 2));
  auto* cls = new QLineSeries;
  cls->setName(tr("CLS token"));
  cls->setPen(QPen(QColor(255, 127, 14), 2, Qt::DashLine));
  double low = 0, high = 1;
  for (std::size_t l = 0; l < p->all.size(); ++l) {
    for (auto [series, v] : {std::pair{all, p->all[l]}, std::pair{cls, p->cls[l]}}) {
      if (!std::isfinite(v)) continue;
      series->append(static_cast<double>(l + 1), v);
      low = std::min(low, v), high = std::max(high, v);
    }
  }
  chart_->addSeries(all);
  chart_->addSeries(cls);
  auto* x = new QValueAxis;
  x->setRange(1, std::max(2, p->layers));
  x->setLabelFormat("%.0f");
  auto* y = new QValueAxis;
  y->setRange(low, high);
  y->setLabelFormat("%.1f");
  chart_->addAxis(x, Qt::AlignBottom);
  chart_->addAxis(y, Qt::AlignLeft);
  for (QAbstractSeries* s : chart_->series()) s->attachAxis(x), s->attachAxis(y);
  // The last layer's input first: at the embeddings (layer 1) patching restores nothing.
  layer_->setRange(0, p->layers - 1);
  layer_->setValue(p->layers - 1);
  showLayer(layer_->value());
}

void CausesPanel::showLayer(int layer) {
  const Patching* p = result_.patching.get();
  if (!p) return;
  canvas_->setOverlay(heatmap_image(patching_display(*p, layer), p->cols, p->rows, colormap_));
  patching_caption_->setText(QString::fromStdString(patching_caption(*p, layer)));
}

void CausesPanel::setKnockout(const KnockoutResult& result) {
  knockout_caption_->setText(tr("%1 patches hidden from %2: %3")
                                 .arg(result.request.patches.size())
                                 .arg(result.request.every_query ? tr("every query") : tr("the CLS token"),
                                      QString::fromStdString(knockout_caption(result.effect))));
}

}  // namespace msnlens
