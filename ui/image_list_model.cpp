#include "ui/image_list_model.h"

#include <QIcon>
#include <QPixmap>

namespace msnlens {

int ImageListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(items_.size()); }

QVariant ImageListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const Item& item = items_[static_cast<std::size_t>(index.row())];
  switch (role) {
    case Qt::DisplayRole: return item.caption.isEmpty() ? item.name : item.caption + "\n" + item.name;
    case Qt::ToolTipRole: return item.name;
    case Qt::DecorationRole: return item.thumbnail.isNull() ? QVariant() : QVariant(QIcon(QPixmap::fromImage(item.thumbnail)));
    case IdRole: return QVariant::fromValue(item.id);
    default: return {};
  }
}

Qt::ItemFlags ImageListModel::flags(const QModelIndex& index) const {
  return QAbstractListModel::flags(index) | (index.isValid() ? Qt::ItemIsDragEnabled : Qt::NoItemFlags);
}

QMimeData* ImageListModel::mimeData(const QModelIndexList& indexes) const {
  QStringList ids;
  for (const QModelIndex& i : indexes)
    if (i.isValid()) ids << QString::number(items_[static_cast<std::size_t>(i.row())].id);
  auto* mime = new QMimeData;
  mime->setData(kMimeType, ids.join(',').toUtf8());
  return mime;
}

QList<quint64> ImageListModel::idsFrom(const QMimeData* mime) {
  QList<quint64> ids;
  if (!mime || !mime->hasFormat(kMimeType)) return ids;
  for (const QByteArray& part : mime->data(kMimeType).split(',')) {
    bool ok = false;
    const quint64 id = part.toULongLong(&ok);
    if (ok) ids << id;
  }
  return ids;
}

int ImageListModel::add(quint64 id, const QString& name) {
  const int row = rowCount();
  beginInsertRows({}, row, row);
  items_.push_back({id, name, {}, {}});
  endInsertRows();
  return row;
}

int ImageListModel::rowOf(quint64 id) const {
  for (std::size_t i = 0; i < items_.size(); ++i)
    if (items_[i].id == id) return static_cast<int>(i);
  return -1;
}

void ImageListModel::setThumbnail(quint64 id, const QImage& image) {
  const int row = rowOf(id);
  if (row < 0) return;
  items_[static_cast<std::size_t>(row)].thumbnail = image.scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  Q_EMIT dataChanged(index(row), index(row), {Qt::DecorationRole});
}

void ImageListModel::setCaption(quint64 id, const QString& caption) {
  const int row = rowOf(id);
  if (row < 0) return;
  items_[static_cast<std::size_t>(row)].caption = caption;
  Q_EMIT dataChanged(index(row), index(row), {Qt::DisplayRole});
}

void ImageListModel::remove(quint64 id) {
  const int row = rowOf(id);
  if (row < 0) return;
  beginRemoveRows({}, row, row);
  items_.erase(items_.begin() + row);
  endRemoveRows();
}

}  // namespace msnlens
