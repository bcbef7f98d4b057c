#include "ui/image_list_model.h"

#include <QIcon>
#include <QPixmap>

#include <algorithm>

namespace msnlens {

int ImageListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(images_.size()); }

QVariant ImageListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const auto row = static_cast<std::size_t>(index.row());
  const ImageState& image = images_[row];
  const Tile& tile = tiles_[row];
  switch (role) {
    case Qt::DisplayRole: return tile.caption.isEmpty() ? image.name : tile.caption + "\n" + image.name;
    case Qt::ToolTipRole: return image.name;
    case Qt::DecorationRole: return tile.thumbnail.isNull() ? QVariant() : QVariant(QIcon(QPixmap::fromImage(tile.thumbnail)));
    case IdRole: return QVariant::fromValue(image.id);
    default: return {};
  }
}

Qt::ItemFlags ImageListModel::flags(const QModelIndex& index) const {
  return QAbstractListModel::flags(index) | (index.isValid() ? Qt::ItemIsDragEnabled : Qt::NoItemFlags);
}

QMimeData* ImageListModel::mimeData(const QModelIndexList& indexes) const {
  QStringList ids;
  for (const QModelIndex& i : indexes)
    if (i.isValid()) ids << QString::number(images_[static_cast<std::size_t>(i.row())].id);
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

quint64 ImageListModel::add(const QString& name) {
  const int row = rowCount();
  beginInsertRows({}, row, row);
  ImageState image;
  image.id = next_id_++;
  image.name = name;
  images_.push_back(image);
  tiles_.emplace_back();
  endInsertRows();
  return image.id;
}

void ImageListModel::remove(quint64 id) {
  const int row = rowOf(id);
  if (row < 0) return;
  beginRemoveRows({}, row, row);
  images_.erase(images_.begin() + row);
  tiles_.erase(tiles_.begin() + row);
  endRemoveRows();
}

int ImageListModel::rowOf(quint64 id) const {
  for (std::size_t i = 0; i < images_.size(); ++i)
    if (images_[i].id == id) return static_cast<int>(i);
  return -1;
}

ImageState* ImageListModel::find(quint64 id) {
  const int row = rowOf(id);
  return row < 0 ? nullptr : &images_[static_cast<std::size_t>(row)];
}

const ImageState* ImageListModel::find(quint64 id) const {
  const int row = rowOf(id);
  return row < 0 ? nullptr : &images_[static_cast<std::size_t>(row)];
}

bool ImageListModel::allHaveBaselines() const {
  return std::all_of(images_.begin(), images_.end(), [](const ImageState& image) { return image.baseline != nullptr; });
}

void ImageListModel::setImage(quint64 id, const QImage& image, const PatchMask& mask) {
  const int row = rowOf(id);
  if (row < 0) return;
  images_[static_cast<std::size_t>(row)].image = image;
  images_[static_cast<std::size_t>(row)].mask = mask;
  tiles_[static_cast<std::size_t>(row)].thumbnail = image.scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  Q_EMIT dataChanged(index(row), index(row), {Qt::DecorationRole});
}

void ImageListModel::updateCaptions(const Predictor& predictor, PredictionSource source) {
  for (std::size_t row = 0; row < images_.size(); ++row) {
    if (!images_[row].baseline) continue;
    const std::optional<Scored> top = predictor.top1(*images_[row].baseline, source);
    tiles_[row].caption = top ? QStringLiteral("%1 %2%").arg(QString::fromStdString(top->label)).arg(100.0 * top->score, 0, 'f', 0) : QString();
    const QModelIndex changed = index(static_cast<int>(row));
    Q_EMIT dataChanged(changed, changed, {Qt::DisplayRole});
  }
}

void ImageListModel::resetResults(int grid_rows, int grid_cols) {
  for (ImageState& image : images_) {
    image.baseline.reset();
    image.masked.reset();
    image.view.reset();
    image.mask = PatchMask(grid_rows, grid_cols);
  }
}

void ImageListModel::forgetComparisons() {
  for (ImageState& s : images_) {
    if (!s.view || !s.view->compare) continue;
    auto without = std::make_shared<ShownView>(*s.view);  // its own maps stay drawn until the new answer
    without->compare.reset();
    s.view = std::move(without);
  }
}

}  // namespace msnlens
