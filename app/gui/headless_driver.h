#pragma once
// The app's runs without a user: --screenshot grabs the window once the chosen view shows its
// first result (after a random mask for masking, after a sweep for sweep), --export-figure
// writes the canvas's figure at that moment (File > Export Figure); --benchmark-clicks
// toggles patches one after another through the mouse path and prints how long each took
// until its overlay was repainted. Both quit the app when done, with status 1 and a message
// when something failed. The driver acts through MainWindow's public API, as a user would.

#include <QElapsedTimer>
#include <QObject>
#include <QStringList>

namespace msnlens {

class MainWindow;

class HeadlessDriver : public QObject {
  Q_OBJECT

 public:
  // The --view names, in the tabs' order.
  static QStringList views();

  explicit HeadlessDriver(MainWindow& window, QObject* parent = nullptr);

  void takeScreenshot(const QString& path, const QString& view);
  void exportFigure(const QString& path, const QString& view);
  // `json_path`: also write the measures there (msnlens-bench reads them), unless empty.
  void benchmarkClicks(int clicks, const QString& json_path = {});
  // The benchmark's "model load to first result" is timed from here.
  void startLoadClock() { load_clock_.start(); }

 private:
  void advance();  // the next step, whenever the window shows something new
  void clickNextPatch();
  void printBenchmark();
  void showView(const QString& view);  // the tab captured, and a failure ends the run

  MainWindow& window_;
  QString screenshot_path_, figure_path_, view_, benchmark_json_;
  bool mask_applied_ = false, sweep_started_ = false, causes_started_ = false;
  int clicks_ = 0;
  std::size_t clicks_sent_ = 0;
  bool click_scheduled_ = false;
  QElapsedTimer load_clock_;
  double first_result_ms_ = -1;
};

}  // namespace msnlens
