#include "ui/file_menu.h"

#include <QFileDialog>

#include "ui/dropped_data.h"
#include "ui/recent_menu.h"
#include "ui/view_export.h"

namespace msnlens {

FileMenu::FileMenu(QWidget* parent) : QMenu(tr("&File"), parent) {
  addAction(tr("Open &Images…"), QKeySequence::Open, this, [this] {
    const QStringList paths = QFileDialog::getOpenFileNames(parentWidget(), tr("Open images"), {},
                                                            tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"));
    if (!paths.isEmpty()) Q_EMIT imagesChosen(paths);
  });
  addAction(tr("Open &Model File…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this, [this] {
    const QString path = QFileDialog::getOpenFileName(parentWidget(), tr("Open checkpoint"), {},
                                                      tr("Checkpoints (*.safetensors *.bin *.pth *.tar *.pt *.ckpt *.json)"));
    if (!path.isEmpty()) Q_EMIT modelChosen(path);
  });
  addAction(tr("Open Model &Folder…"), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O), this, [this] {
    const QString path = QFileDialog::getExistingDirectory(parentWidget(), tr("Open a Hugging Face model folder"));
    if (!path.isEmpty()) Q_EMIT modelChosen(path);
  });
  recent_ = new RecentMenu(tr("Open &Recent"), this);
  connect(recent_, &RecentMenu::opened, this, [this](const QString& path) {
    if (is_model_path(path)) Q_EMIT modelChosen(path);
    else Q_EMIT imagesChosen({path});
  });
  addMenu(recent_);
  addAction(tr("&Paste Image"), QKeySequence::Paste, this, &FileMenu::pasteRequested);
  addSeparator();
  addAction(tr("&Export Figure…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] {
    const QString path = askSavePath(tr("Export figure"), "-figure.pdf", tr("PDF, vector (*.pdf);;SVG, vector (*.svg);;PNG image (*.png)"));
    if (!path.isEmpty()) Q_EMIT figureExportChosen(path);
  });
  addAction(tr("Export &Map Data…"), this, [this] {
    const QString path = askSavePath(tr("Export map data"), "-map.npy", tr("NumPy array (*.npy);;CSV (*.csv)"));
    if (!path.isEmpty()) Q_EMIT mapDataExportChosen(path);
  });
  addAction(tr("Export &Report JSON…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), this, [this] {
    const QString path = QFileDialog::getSaveFileName(parentWidget(), tr("Export report"), "msnlens-report.json", tr("JSON (*.json)"));
    if (!path.isEmpty()) Q_EMIT reportExportChosen(path);
  });
  addSeparator();
  addAction(tr("&Quit"), QKeySequence::Quit, this, &FileMenu::quitRequested);
}

void FileMenu::addRecent(const QString& path) { recent_->add(path); }

QString FileMenu::askSavePath(const QString& title, const QString& suffix, const QString& filters) {
  if (export_base_.isEmpty()) return {};
  QString filter;
  const QString path = QFileDialog::getSaveFileName(parentWidget(), title, export_base_ + suffix, filters, &filter);
  return with_suffix(path, filter);
}

}  // namespace msnlens
