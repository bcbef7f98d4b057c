#pragma once
// The thumbnail strip: every image dropped or opened, with its unmasked top-1 (or top
// prototype) once known. A list model so the strip scales to many images.

#include <QAbstractListModel>
#include <QImage>
#include <QMimeData>

#include <vector>

namespace msnlens {

class ImageListModel : public QAbstractListModel {
  Q_OBJECT

 public:
  enum Role { IdRole = Qt::UserRole + 1 };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  // Thumbnails can be dragged (onto few-shot classes) as a list of image ids.
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QStringList mimeTypes() const override { return {kMimeType}; }
  QMimeData* mimeData(const QModelIndexList& indexes) const override;
  static constexpr const char* kMimeType = "application/x-msnlens-image-ids";
  static QList<quint64> idsFrom(const QMimeData* mime);

  int add(quint64 id, const QString& name);
  void setThumbnail(quint64 id, const QImage& image);
  void setCaption(quint64 id, const QString& caption);
  void remove(quint64 id);
  int rowOf(quint64 id) const;
  quint64 idAt(int row) const { return items_[static_cast<std::size_t>(row)].id; }

 private:
  struct Item {
    quint64 id;
    QString name, caption;
    QImage thumbnail;
  };
  std::vector<Item> items_;
};

}  // namespace msnlens
