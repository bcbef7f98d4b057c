#include "ui/dropped_data.h"

#include <QFileInfo>
#include <QMimeData>
#include <QUrl>

namespace msnlens {

bool is_model_path(const QString& path) {
  const QFileInfo info(path);
  if (info.isDir()) return true;
  const QString name = info.fileName().toLower();
  for (const char* ext : {".safetensors", ".bin", ".pth", ".pth.tar", ".pt", ".ckpt", ".tar"})
    if (name.endsWith(QLatin1String(ext))) return true;
  return name.endsWith(".index.json");
}

DroppedData read_dropped(const QMimeData& mime) {
  DroppedData d;
  for (const QUrl& url : mime.urls()) {
    if (!url.isLocalFile()) continue;
    d.files << url.toLocalFile();
  }
  if (!mime.urls().isEmpty()) return d;
  for (const QString& format : mime.formats()) {
    if (format.startsWith("image/") && !mime.data(format).isEmpty()) {
      d.encoded = mime.data(format);
      d.format = format.mid(6);
      return d;
    }
  }
  if (mime.hasImage()) d.image = qvariant_cast<QImage>(mime.imageData());
  return d;
}

}  // namespace msnlens
