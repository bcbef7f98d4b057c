#pragma once
// What a drop or a paste brings the window: checkpoints to load, image files to open, or image
// data from another application.

#include <QImage>
#include <QStringList>

#include <optional>

class QMimeData;

namespace msnlens {

struct DroppedData {
  QStringList files;  // local files and folders (MainWindow::openFiles sorts models from images)
  // Without files: the encoded bytes when offered (so our decoder and its checks apply), else
  // the image Qt decoded.
  QByteArray encoded;
  QString format;  // of `encoded`: "png", ...
  std::optional<QImage> image;
};

DroppedData read_dropped(const QMimeData& mime);

// Files and folders that are checkpoints rather than images.
bool is_model_path(const QString& path);

}  // namespace msnlens
