// msnlens: the desktop app.
//   msnlens [--model PATH] [--device auto|cpu|cuda] [--precision auto|fp32|bf16|fp16] [FILE...] [--show METHOD]
//           [--screenshot FILE] [--export-figure FILE.png|svg|pdf] [--view attention|heads|masking|sweep|classes|lens|compare]
//           [--benchmark-clicks N [--benchmark-json FILE]]
// Without a model (--model, or a checkpoint among the files) it opens the bundled one, and
// without any files the bundled example images too.

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QIcon>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "build_config.h"
#include "headless_driver.h"
#include "startup.h"
#include "ui/dropped_data.h"
#include "ui/main_window.h"

namespace {

// Qt warns at every start when XDG_RUNTIME_DIR is unset (a plain X server, su, containers):
// give it a private directory, as a login session would.
void ensure_runtime_dir() {
  if (const char* dir = std::getenv("XDG_RUNTIME_DIR"); dir != nullptr && *dir != '\0') return;
  const std::string dir = "/tmp/runtime-" + std::to_string(getuid());
  struct stat st {};
  if (mkdir(dir.c_str(), 0700) != 0 && (stat(dir.c_str(), &st) != 0 || st.st_uid != getuid())) return;  // Qt's own fallback
  chmod(dir.c_str(), 0700);
  setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
}

// The bundled model and images: share/msnlens beside an installed binary; run from the build
// tree, the sources' resources/. Empty when neither is there.
QString bundled_dir() {
  const QString bin = QCoreApplication::applicationDirPath();
  const QString installed = QDir::cleanPath(QDir(bin).filePath(MSNLENS_DATA_FROM_BIN));
  if (QFileInfo(installed + "/models").isDir()) return installed;
  if (QFileInfo(bin).canonicalFilePath() == QFileInfo(MSNLENS_BUILD_BIN_DIR).canonicalFilePath())
    return MSNLENS_SOURCE_DIR "/resources";
  return {};
}

QStringList bundled_images(const QString& dir) {
  QStringList paths;
  const QDir fashion(dir + "/images/fashion");
  for (const QString& name : fashion.entryList({"*.png"}, QDir::Files, QDir::Name)) paths << fashion.filePath(name);
  return paths;
}

}  // namespace

int main(int argc, char** argv) {
  msnlens::front_end::use_fast_blas_kernels(argv);
  ensure_runtime_dir();
  QApplication app(argc, argv);
  QApplication::setOrganizationName("MSN Lens");
  QApplication::setApplicationName("msnlens");
  QApplication::setApplicationVersion(MSNLENS_VERSION);
  QApplication::setWindowIcon(QIcon(":/msnlens-256.png"));
  QGuiApplication::setDesktopFileName("msnlens");  // the window's app id: matches msnlens.desktop

  QCommandLineParser cli;
  cli.setApplicationDescription("MSN Lens: see how ViT-MSN attends and responds when patches are masked.");
  cli.addHelpOption();
  cli.addVersionOption();
  const QCommandLineOption model({"m", "model"}, "Model folder or checkpoint file (default: the bundled model).", "PATH");
  const QCommandLineOption device("device", "auto, cpu or cuda.", "DEVICE");
  const QCommandLineOption precision("precision", "auto, fp32, bf16 or fp16.", "PRECISION");
  const QCommandLineOption kernels("kernels", "On the CPU: fused (oneDNN, default) or libtorch (the reference layers).", "KERNELS");
  const QCommandLineOption screenshot("screenshot", "Save a screenshot once the first result shows, then exit.", "FILE");
  const QCommandLineOption figure("export-figure", "Save the canvas's figure (.png, .svg or .pdf) once the first result shows, then exit.", "FILE");
  const QCommandLineOption view("view", "With --screenshot or --export-figure: attention, heads, masking, sweep, classes, lens or compare.", "VIEW", "attention");
  const QCommandLineOption clicks("benchmark-clicks", "Toggle N patches, print click-to-repaint p50/p95, exit.", "N");
  const QCommandLineOption clicks_json("benchmark-json", "With --benchmark-clicks: also write the measures as JSON.", "FILE");
  const QCommandLineOption demo("demo", "Label the model as a bundled test checkpoint.");
  const QCommandLineOption show("show", "The map on the image: attention, rollout, grad-rollout, chefer, occlusion, similarity, "
                                        "token-norms or pca.", "METHOD", "attention");
  const QCommandLineOption compare("compare", "A second model to show beside the first (the Compare tab).", "PATH");
  cli.addOptions({model, device, precision, kernels, screenshot, figure, view, clicks, clicks_json, demo, show, compare});
  cli.addPositionalArgument("files", "Images to open; a model folder or checkpoint among them loads as the model.", "[FILE...]");
  cli.process(app);

  const QStringList views = msnlens::HeadlessDriver::views();
  const bool capture = cli.isSet(screenshot) || cli.isSet(figure);
  if (capture && !views.contains(cli.value(view))) {
    std::fprintf(stderr, "msnlens: --view must be one of %s\n", qPrintable(views.join(", ")));
    return 2;
  }
  // What to open: the files as a drop brings them; the bundled model when none names a model,
  // and the bundled images when no files are given at all.
  const QStringList files = cli.positionalArguments();
  const bool files_name_a_model = std::any_of(files.begin(), files.end(), msnlens::is_model_path);
  const QString bundled = bundled_dir();
  QString model_path = cli.isSet(model) ? QFileInfo(cli.value(model)).absoluteFilePath() : QString();
  if (model_path.isEmpty() && !files_name_a_model && !bundled.isEmpty()) model_path = bundled + "/models/msn-fmnist";
  const QStringList images = files.isEmpty() && !cli.isSet(model) ? bundled_images(bundled) : QStringList();
  if ((capture || cli.isSet(clicks)) && ((model_path.isEmpty() && !files_name_a_model) || (files.isEmpty() && images.isEmpty()))) {
    std::fprintf(stderr, "msnlens: --screenshot, --export-figure and --benchmark-clicks need a model and an image (none bundled here)\n");
    return 2;
  }

  const std::optional<msnlens::MapSpec::Source> method = msnlens::parse_map_source(cli.value(show).toStdString());
  if (!method) {
    std::fprintf(stderr, "msnlens: --show must be attention, rollout, grad-rollout, chefer, occlusion, similarity, token-norms or pca\n");
    return 2;
  }

  msnlens::MainWindow window;
  window.showMethod(*method);
  if (cli.isSet(device) || cli.isSet(precision))
    window.setDevice(cli.value(device).isEmpty() ? "auto" : cli.value(device),
                     cli.value(precision).isEmpty() ? "auto" : cli.value(precision));
  if (cli.isSet(kernels)) {
    if (cli.value(kernels) != "fused" && cli.value(kernels) != "libtorch") {
      std::fprintf(stderr, "msnlens: --kernels must be fused or libtorch\n");
      return 2;
    }
    window.setFusedCpu(cli.value(kernels) == "fused");
  }
  std::unique_ptr<msnlens::HeadlessDriver> driver;
  if (capture || cli.isSet(clicks)) driver = std::make_unique<msnlens::HeadlessDriver>(window);
  if (cli.isSet(screenshot)) driver->takeScreenshot(cli.value(screenshot), cli.value(view));
  if (cli.isSet(figure)) driver->exportFigure(cli.value(figure), cli.value(view));
  if (cli.isSet(clicks)) driver->benchmarkClicks(cli.value(clicks).toInt(), cli.value(clicks_json));
  window.show();
  if (!model_path.isEmpty()) {
    if (driver) driver->startLoadClock();
    window.loadModel(model_path, cli.isSet(demo));
  }
  if (cli.isSet(compare)) window.loadCompareModel(cli.value(compare));
  window.openFiles(files);
  window.addImageFiles(images);
  return QApplication::exec();
}
