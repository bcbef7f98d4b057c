#include "ui/faithfulness_strip.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPainterPath>
#include <QVBoxLayout>

#include "ui/controls.h"

namespace msnlens {

// Two small panels, deletion and insertion, p_t against the fraction of patches.
class FaithfulnessPlot : public QWidget {
 public:
  FaithfulnessPlot() { setMinimumSize(260, 74); }
  void setResult(std::shared_ptr<const FaithfulnessResult> r) {
    result_ = std::move(r);
    band_ = result_ ? random_band(result_->value) : FaithfulnessBand{};
    update();
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const int half = width() / 2;
    panel(p, QRect(0, 0, half - 4, height()), tr("deletion"), QColor(214, 39, 40), true);
    panel(p, QRect(half + 4, 0, width() - half - 4, height()), tr("insertion"), QColor(31, 119, 180), false);
  }

 private:
  void panel(QPainter& p, const QRect& area, const QString& title, const QColor& colour, bool deletion) const {
    const QRect plot = area.adjusted(4, 14, -4, -4);
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(plot);
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(area.adjusted(4, 0, 0, 0), Qt::AlignLeft | Qt::AlignTop, title);
    if (!result_) return;
    const Faithfulness& f = result_->value;
    const std::vector<double>& x = f.fractions;
    auto at = [&](double fx, double y) { return QPointF(plot.left() + fx * plot.width(), plot.bottom() - std::clamp(y, 0.0, 1.0) * plot.height()); };
    const std::vector<double>& low = deletion ? band_.deletion_low : band_.insertion_low;
    const std::vector<double>& high = deletion ? band_.deletion_high : band_.insertion_high;
    if (low.size() == x.size() && !x.empty()) {
      QPainterPath band(at(x[0], high[0]));
      for (std::size_t i = 1; i < x.size(); ++i) band.lineTo(at(x[i], high[i]));
      for (std::size_t i = x.size(); i-- > 0;) band.lineTo(at(x[i], low[i]));
      band.closeSubpath();
      p.fillPath(band, QColor(128, 128, 128, 70));
    }
    const std::vector<double>& curve = deletion ? f.map.deletion : f.map.insertion;
    QPainterPath line;
    for (std::size_t i = 0; i < x.size() && i < curve.size(); ++i) i == 0 ? line.moveTo(at(x[i], curve[i])) : line.lineTo(at(x[i], curve[i]));
    p.setPen(QPen(colour, 2));
    p.drawPath(line);
  }

  std::shared_ptr<const FaithfulnessResult> result_;
  FaithfulnessBand band_;
};

FaithfulnessStrip::FaithfulnessStrip(QWidget* parent) : QWidget(parent) {
  measure_ = new QCheckBox(tr("Faithfulness"));
  measure_->setObjectName("faithfulnessCheck");
  measure_->setChecked(true);
  measure_->setToolTip(tr("Deletion and insertion curves of the map's target probability as patches are dropped (MSN's masking) "
                          "in the map's order; grey: the band of 8 random orders"));
  text_ = wrapped_label();
  text_->setObjectName("faithfulnessText");
  plot_ = new FaithfulnessPlot;
  plot_->setObjectName("faithfulnessPlot");
  auto* left = new QVBoxLayout;
  left->addWidget(measure_);
  left->addWidget(text_, 1);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(4, 0, 4, 0);
  layout->addLayout(left, 1);
  layout->addWidget(plot_, 1);
  setMaximumHeight(96);
  connect(measure_, &QCheckBox::toggled, this, [this](bool on) {
    plot_->setVisible(on);
    if (!on) showResult(nullptr);
    Q_EMIT measuringToggled(on);
  });
}

bool FaithfulnessStrip::measuring() const { return measure_->isChecked(); }

void FaithfulnessStrip::showResult(std::shared_ptr<const FaithfulnessResult> result) {
  result_ = std::move(result);
  plot_->setResult(result_);
  text_->setText(result_ ? QString::fromStdString(faithfulness_caption(result_->value)) : QString());
}

void FaithfulnessStrip::showPending(const QString& why) {
  result_.reset();
  plot_->setResult(nullptr);
  text_->setText(why);
}

QString FaithfulnessStrip::caption() const { return result_ ? QString::fromStdString(faithfulness_caption(result_->value)) : QString(); }

}  // namespace msnlens
