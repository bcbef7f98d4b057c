// msnlens: the desktop app.
//   msnlens [--model PATH] [--device auto|cpu|cuda] [--precision auto|fp32|bf16|fp16] [IMAGE...]
//           [--screenshot FILE [--view attention|heads|masking|sweep|classes|lens]] [--benchmark-clicks N]

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>

#include <cstdio>
#include <memory>

#include "build_config.h"
#include "headless_driver.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("MSN Lens");
  QApplication::setApplicationName("msnlens");
  QApplication::setApplicationVersion(MSNLENS_VERSION);

  QCommandLineParser cli;
  cli.setApplicationDescription("MSN Lens: see how ViT-MSN attends and responds when patches are masked.");
  cli.addHelpOption();
  cli.addVersionOption();
  const QCommandLineOption model({"m", "model"}, "Model folder or checkpoint file.", "PATH");
  const QCommandLineOption device("device", "auto, cpu or cuda.", "DEVICE");
  const QCommandLineOption precision("precision", "auto, fp32, bf16 or fp16.", "PRECISION");
  const QCommandLineOption screenshot("screenshot", "Save a screenshot once the first result shows, then exit.", "FILE");
  const QCommandLineOption view("view", "With --screenshot: attention, heads, masking, sweep, classes or lens.", "VIEW", "attention");
  const QCommandLineOption clicks("benchmark-clicks", "Toggle N patches, print click-to-repaint p50/p95, exit.", "N");
  const QCommandLineOption demo("demo", "Label the model as a bundled test checkpoint.");
  cli.addOptions({model, device, precision, screenshot, view, clicks, demo});
  cli.addPositionalArgument("images", "Images to open.", "[IMAGE...]");
  cli.process(app);

  const QStringList views = msnlens::HeadlessDriver::views();
  if (cli.isSet(screenshot) && !views.contains(cli.value(view))) {
    std::fprintf(stderr, "msnlens: --view must be one of %s\n", qPrintable(views.join(", ")));
    return 2;
  }
  if ((cli.isSet(screenshot) || cli.isSet(clicks)) && (!cli.isSet(model) || cli.positionalArguments().isEmpty())) {
    std::fprintf(stderr, "msnlens: --screenshot and --benchmark-clicks need --model and an image\n");
    return 2;
  }

  msnlens::MainWindow window;
  if (cli.isSet(device) || cli.isSet(precision))
    window.setDevice(cli.value(device).isEmpty() ? "auto" : cli.value(device),
                     cli.value(precision).isEmpty() ? "auto" : cli.value(precision));
  std::unique_ptr<msnlens::HeadlessDriver> driver;
  if (cli.isSet(screenshot) || cli.isSet(clicks)) driver = std::make_unique<msnlens::HeadlessDriver>(window);
  if (cli.isSet(screenshot)) driver->takeScreenshot(cli.value(screenshot), cli.value(view));
  if (cli.isSet(clicks)) driver->benchmarkClicks(cli.value(clicks).toInt());
  window.show();
  if (cli.isSet(model)) {
    if (driver) driver->startLoadClock();
    window.loadModel(QFileInfo(cli.value(model)).absoluteFilePath(), cli.isSet(demo));
  }
  window.addImageFiles(cli.positionalArguments());
  return QApplication::exec();
}
