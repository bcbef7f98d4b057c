#include "headless_driver.h"

#include <QApplication>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMouseEvent>
#include <QTimer>

#include <cstdio>

#include "latency.h"
#include "ui/causes_panel.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/masking_panel.h"
#include "ui/panel_tabs.h"
#include "ui/sweep_panel.h"

namespace msnlens {
namespace {

struct View {
  const char* name;
  PanelTabs::Tab tab;
};
constexpr View kViews[] = {{"attention", PanelTabs::Tab::Attention}, {"heads", PanelTabs::Tab::Heads},
                           {"masking", PanelTabs::Tab::Masking},     {"sweep", PanelTabs::Tab::Sweep},
                           {"causes", PanelTabs::Tab::Causes},
                           {"classes", PanelTabs::Tab::Classes},     {"lens", PanelTabs::Tab::Lens},
                           {"compare", PanelTabs::Tab::Compare}};

void exit_failing(const QString& message) {
  std::fprintf(stderr, "msnlens: %s\n", qPrintable(message));
  QApplication::exit(1);
}

}  // namespace

QStringList HeadlessDriver::views() {
  QStringList names;
  for (const View& v : kViews) names << QString::fromLatin1(v.name);
  return names;
}

HeadlessDriver::HeadlessDriver(MainWindow& window, QObject* parent) : QObject(parent), window_(window) {
  connect(&window_, &MainWindow::viewUpdated, this, &HeadlessDriver::advance);
  connect(&window_, &MainWindow::baselineReady, this, &HeadlessDriver::advance);
  connect(&window_, &MainWindow::sweepFinished, this, &HeadlessDriver::advance);
  connect(&window_, &MainWindow::causesFinished, this, &HeadlessDriver::advance);
}

void HeadlessDriver::takeScreenshot(const QString& path, const QString& view) {
  screenshot_path_ = path;
  showView(view);
}

void HeadlessDriver::exportFigure(const QString& path, const QString& view) {
  figure_path_ = path;
  showView(view);
}

void HeadlessDriver::showView(const QString& view) {
  if (view_.isEmpty()) connect(&window_, &MainWindow::failed, this, &exit_failing);  // once for both captures
  view_ = view;
  for (const View& v : kViews)
    if (view == QLatin1String(v.name)) window_.tabs()->showTab(v.tab);
}

void HeadlessDriver::benchmarkClicks(int clicks, const QString& json_path) {
  clicks_ = clicks;
  benchmark_json_ = json_path;
}

void HeadlessDriver::advance() {
  if (!window_.baseline() || !window_.viewCurrent()) return;
  if (first_result_ms_ < 0) first_result_ms_ = static_cast<double>(load_clock_.nsecsElapsed()) / 1e6;
  const std::size_t done = window_.clickToRepaintMs().size();
  if (clicks_ > 0 && done >= clicks_sent_) {  // no click waits for its overlay
    if (done >= static_cast<std::size_t>(clicks_)) {
      printBenchmark();
      clicks_ = 0;
      QTimer::singleShot(0, qApp, [] { QApplication::exit(0); });
    } else if (!click_scheduled_) {  // the next toggle once the event loop is idle again
      click_scheduled_ = true;
      QTimer::singleShot(0, this, &HeadlessDriver::clickNextPatch);
    }
    return;
  }
  if (screenshot_path_.isEmpty() && figure_path_.isEmpty()) return;
  // Every thumbnail shows its top-1 before the window is grabbed.
  if (!window_.allBaselines()) return;
  // Masking and Causes show a random mask (Causes patches it back).
  const bool masked = view_ == "masking" || view_ == "causes";
  if (masked && !mask_applied_) {
    mask_applied_ = true;
    QTimer::singleShot(0, this, [this] { window_.tabs()->masking()->trigger(MaskAction::Random); });
    return;
  }
  if (masked && !window_.maskedResult()) return;
  if (!window_.faithfulnessSettled()) return;  // the strip under the map shows its curves
  if (view_ == "causes") {
    CausesPanel* causes = window_.tabs()->causes();
    if (!causes_started_) {
      causes_started_ = true;
      QTimer::singleShot(0, causes, &CausesPanel::runRequested);
      return;
    }
    if (causes->running() || !causes->result().heads) return;
  }
  if (view_ == "compare" && !window_.compareShown()) return;
  if (view_ == "sweep") {
    if (!sweep_started_) {
      sweep_started_ = true;
      QTimer::singleShot(0, window_.tabs()->sweep(), &SweepPanel::requestRun);
      return;
    }
    if (window_.sweepRunning() || window_.tabs()->sweep()->result().points.empty()) return;
  }
  bool ok = true;
  if (!figure_path_.isEmpty()) {  // drawn from the maps shown, which are current now
    ok = window_.exportFigure(figure_path_);
    if (!ok) std::fprintf(stderr, "msnlens: %s\n", qPrintable(window_.errorText()));
    figure_path_.clear();
  }
  const QString path = screenshot_path_;
  screenshot_path_.clear();
  // Let pending paints land, then grab the whole window as a user sees it.
  QTimer::singleShot(path.isEmpty() ? 0 : 50, this, [this, path, ok] {
    const bool saved = path.isEmpty() || window_.grab().save(path);
    if (!saved) std::fprintf(stderr, "msnlens: cannot write screenshot %s\n", qPrintable(path));
    QApplication::exit(ok && saved ? 0 : 1);
  });
}

// A toggle through the real mouse path: press and release on the patch's centre.
void HeadlessDriver::clickNextPatch() {
  click_scheduled_ = false;
  ImageCanvas* canvas = window_.canvas();
  const std::size_t patches = static_cast<std::size_t>(std::max(1, canvas->mask().size()));
  const QPoint at = canvas->patchCenter(static_cast<int>((window_.clickToRepaintMs().size() * 37 + 11) % patches));
  QMouseEvent press(QEvent::MouseButtonPress, at, canvas->mapToGlobal(at), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
  QMouseEvent release(QEvent::MouseButtonRelease, at, canvas->mapToGlobal(at), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
  ++clicks_sent_;
  QApplication::sendEvent(canvas, &press);
  QApplication::sendEvent(canvas, &release);
}

// One line for people; the same as JSON with --benchmark-json, for msnlens-bench.
void HeadlessDriver::printBenchmark() {
  const std::vector<double>& clicks = window_.clickToRepaintMs();
  const std::vector<double>& results = window_.editToResultMs();
  if (!benchmark_json_.isEmpty()) {
    const QJsonObject measures{{"toggles", static_cast<qint64>(clicks.size())},
                               {"click_to_repaint_p50_ms", front_end::percentile(clicks, 0.5)},
                               {"click_to_repaint_p95_ms", front_end::percentile(clicks, 0.95)},
                               {"edit_to_result_p50_ms", front_end::percentile(results, 0.5)},
                               {"edit_to_result_p95_ms", front_end::percentile(results, 0.95)},
                               {"load_to_first_result_ms", first_result_ms_},
                               {"device", window_.modelInfo().device},
                               {"precision", window_.modelInfo().precision}};
    QFile file(benchmark_json_);
    if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(measures).toJson()) < 0)
      std::fprintf(stderr, "msnlens: cannot write %s\n", qPrintable(benchmark_json_));
  }
  std::printf("click-to-repaint over %zu toggles: p50 %.1f ms, p95 %.1f ms; of which edit-to-result in the worker "
              "p50 %.1f ms, p95 %.1f ms; model load to first result %.0f ms (%s, %s)\n",
              clicks.size(), front_end::percentile(clicks, 0.5), front_end::percentile(clicks, 0.95), front_end::percentile(results, 0.5),
              front_end::percentile(results, 0.95), first_result_ms_, qPrintable(window_.modelInfo().device),
              qPrintable(window_.modelInfo().precision));
}

}  // namespace msnlens
