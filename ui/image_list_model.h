#pragma once
// Every image opened, in the order opened: what the window knows of each (its mask and latest
// results) and the thumbnail strip's model, each tile with the unmasked top-1 (or top
// prototype) once known. Tiles drag (onto few-shot classes) as a list of image ids.

#include <QAbstractListModel>
#include <QImage>
#include <QMimeData>

#include <vector>

#include "msnlens.h"
#include "ui/view_types.h"

namespace msnlens {

struct ImageState {
  quint64 id = 0;
  QString name;
  QImage image;                     // null until decoded
  PatchMask mask;
  ViewSummaryPtr baseline, masked;  // masked: for `mask`, once it has run
  ShownViewPtr view;                // the latest view of this image, with the comparison model's
};

class ImageListModel : public QAbstractListModel {
  Q_OBJECT

 public:
  enum Role { IdRole = Qt::UserRole + 1 };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QStringList mimeTypes() const override { return {kMimeType}; }
  QMimeData* mimeData(const QModelIndexList& indexes) const override;
  static constexpr const char* kMimeType = "application/x-msnlens-image-ids";
  static QList<quint64> idsFrom(const QMimeData* mime);

  // A new image, not decoded yet; returns its id. Pointers from find() stay valid until the
  // next add or remove.
  quint64 add(const QString& name);
  void remove(quint64 id);
  ImageState* find(quint64 id);
  const ImageState* find(quint64 id) const;
  const std::vector<ImageState>& images() const { return images_; }
  bool allHaveBaselines() const;
  // Decoded: the pixels, and nothing masked on the model's grid.
  void setImage(quint64 id, const QImage& image, const PatchMask& mask);
  // Each tile's caption: its unmasked top-1 under `source`, once known.
  void updateCaptions(const Predictor& predictor, PredictionSource source);
  // A new model: every image unmasked on its grid, without results.
  void resetResults(int grid_rows, int grid_cols);
  // Another comparison model (or none): its results go.
  void forgetComparisons();
  int rowOf(quint64 id) const;
  quint64 idAt(int row) const { return images_[static_cast<std::size_t>(row)].id; }

 private:
  struct Tile {
    QString caption;
    QImage thumbnail;
  };
  std::vector<ImageState> images_;
  std::vector<Tile> tiles_;  // tiles_[row] shows images_[row]
  quint64 next_id_ = 1;
};

}  // namespace msnlens
