#include "ui/sweep_panel.h"

#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QValueAxis>
#include <QVBoxLayout>

#include <cmath>

namespace msnlens {
namespace {

QColor strategy_color(MaskStrategy s) {
  switch (s) {
    case MaskStrategy::Random: return {31, 119, 180};
    case MaskStrategy::Focal: return {255, 127, 14};
    case MaskStrategy::MostAttended: return {214, 39, 40};
    case MaskStrategy::LeastAttended: return {44, 160, 44};
  }
  return Qt::gray;
}

}  // namespace

SweepPanel::SweepPanel(QWidget* parent) : QWidget(parent), chart_(new QChart), view_(new QChartView(chart_)) {
  run_ = new QPushButton(tr("Run sweep"));
  run_->setObjectName("sweepRunButton");
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setObjectName("sweepCancelButton");
  progress_ = new QProgressBar;
  seeds_ = new QSpinBox;
  seeds_->setObjectName("sweepSeedsSpin");
  seeds_->setRange(1, 32);
  seeds_->setValue(4);
  seeds_->setToolTip(tr("Masks drawn per point for the random and focal strategies"));
  status_ = new QLabel(tr("Cosine similarity of the CLS embedding (solid) and top-1 agreement (dashed) as more "
                          "patches are dropped, beside the unmasked image."));
  status_->setWordWrap(true);
  progress_->setTextVisible(true);
  cancel_->setEnabled(false);
  view_->setRenderHint(QPainter::Antialiasing);
  view_->setMinimumHeight(260);
  chart_->legend()->setAlignment(Qt::AlignBottom);
  chart_->setMargins(QMargins(4, 4, 4, 4));

  auto* controls = new QHBoxLayout;
  controls->addWidget(run_);
  controls->addWidget(cancel_);
  controls->addWidget(new QLabel(tr("seeds")));
  controls->addWidget(seeds_);
  controls->addWidget(progress_, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(status_);
  layout->addWidget(view_, 1);
  connect(run_, &QPushButton::clicked, this, &SweepPanel::requestRun);
  connect(cancel_, &QPushButton::clicked, this, &SweepPanel::cancelRequested);
  setResult({});
}

void SweepPanel::requestRun() {
  SweepRequest request;
  request.seeds = seeds_->value();
  Q_EMIT runRequested(request);
}

void SweepPanel::setAvailable(bool available) { run_->setEnabled(available && !running()); }

bool SweepPanel::running() const { return cancel_->isEnabled(); }

void SweepPanel::setRunning(bool running) {
  run_->setEnabled(!running);
  cancel_->setEnabled(running);
  if (running) progress_->setValue(0);
}

void SweepPanel::setProgress(int done, int total) {
  progress_->setRange(0, total);
  progress_->setValue(done);
}

void SweepPanel::setResult(const SweepResult& result) {
  result_ = result;
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) chart_->removeAxis(axis), delete axis;
  auto* x = new QValueAxis;
  x->setRange(0, 100);
  x->setLabelFormat("%d%%");
  x->setTitleText(tr("patches masked"));
  // Zoom the y axis onto the data: a robust model keeps its cosine near 1 for a long while.
  double low = 1.0;
  for (const SweepPoint& p : result.points) {
    low = std::min(low, p.cosine_mean);
    if (!std::isnan(p.top1_agreement)) low = std::min(low, p.top1_agreement);
  }
  auto* y = new QValueAxis;
  y->setRange(std::max(0.0, std::floor((low - 0.02) * 20.0) / 20.0), 1.0 + 0.02 * (1.0 - std::max(0.0, low - 0.02)));
  y->setTitleText(tr("cosine similarity / top-1 agreement"));
  chart_->addAxis(x, Qt::AlignBottom);
  chart_->addAxis(y, Qt::AlignLeft);
  for (const MaskStrategy s : {MaskStrategy::Random, MaskStrategy::Focal, MaskStrategy::MostAttended, MaskStrategy::LeastAttended}) {
    auto* cosine = new QLineSeries;
    auto* agree = new QLineSeries;
    for (const SweepPoint& p : result.points) {
      if (p.strategy != s) continue;
      cosine->append(100.0 * p.ratio, p.cosine_mean);
      if (!std::isnan(p.top1_agreement)) agree->append(100.0 * p.ratio, p.top1_agreement);
    }
    if (cosine->count() == 0) {
      delete cosine;
      delete agree;
      continue;
    }
    cosine->setName(QString::fromLatin1(to_string(s)).replace(" attended", tr(" att.")));
    cosine->setPen(QPen(strategy_color(s), 2.5));
    agree->setPen(QPen(strategy_color(s), 1.5, Qt::DashLine));
    for (QLineSeries* series : {cosine, agree}) {
      chart_->addSeries(series);
      series->attachAxis(x);
      series->attachAxis(y);
    }
    if (agree->count() == 0) chart_->removeSeries(agree), delete agree;
    else chart_->legend()->markers(agree).front()->setVisible(false);
  }
  if (!result.points.empty())
    status_->setText(tr("%1 points in %2 s%3. Solid: cosine similarity of the CLS embedding to the unmasked one; "
                        "dashed: top-1 agreement.")
                         .arg(result.points.size()).arg(result.seconds, 0, 'f', 1).arg(result.cancelled ? tr(" (cancelled)") : ""));
}

}  // namespace msnlens
