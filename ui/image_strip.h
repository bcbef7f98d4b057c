#pragma once
// The thumbnail strip under the canvas: one fixed tile per image (its top-1 line, then the
// file name), dragged onto few-shot classes as image ids. Choosing a tile selects the image.

#include <QListView>

namespace msnlens {

class ImageListModel;

class ImageStrip : public QListView {
  Q_OBJECT

 public:
  explicit ImageStrip(ImageListModel* images, QWidget* parent = nullptr);

  void selectImage(quint64 id);
  void step(int delta);  // to the previous (-1) or next (+1) image

 Q_SIGNALS:
  void imageSelected(quint64 id);

 private:
  ImageListModel* images_;
};

}  // namespace msnlens
