#include "ui/image_strip.h"

#include "ui/image_list_model.h"

namespace msnlens {

ImageStrip::ImageStrip(ImageListModel* images, QWidget* parent) : QListView(parent), images_(images) {
  setModel(images);
  setViewMode(QListView::IconMode);
  setFlow(QListView::LeftToRight);
  setWrapping(false);
  setMovement(QListView::Static);
  setIconSize(QSize(64, 64));
  // Fixed tiles: the top-1 line first, then the file name, each elided to the tile.
  setGridSize(QSize(112, 110));
  setFixedHeight(128);
  setTextElideMode(Qt::ElideMiddle);
  setWordWrap(false);
  setDragEnabled(true);
  setDragDropMode(QAbstractItemView::DragOnly);
  connect(selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& index) {
    if (index.isValid()) Q_EMIT imageSelected(images_->idAt(index.row()));
  });
}

void ImageStrip::selectImage(quint64 id) { setCurrentIndex(images_->index(images_->rowOf(id))); }

void ImageStrip::step(int delta) {
  const int row = currentIndex().row() + delta;
  if (currentIndex().isValid() && row >= 0 && row < images_->rowCount()) setCurrentIndex(images_->index(row));
}

}  // namespace msnlens
