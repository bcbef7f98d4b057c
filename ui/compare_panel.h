#pragma once
// The Compare tab: a second model beside the first (MSN against a supervised ViT or DINO of
// the same layout, or two pretraining epochs). It sees the same image, mask and map choice;
// its map is drawn on its own canvas (clicks there edit the shared mask and query), with its
// top prediction before and after masking and how far its CLS embedding moved.

#include <QWidget>

#include "msnlens.h"
#include "ui/view_types.h"

class QLabel;
class QPushButton;

namespace msnlens {

class ImageCanvas;

class ComparePanel : public QWidget {
  Q_OBJECT

 public:
  explicit ComparePanel(QWidget* parent = nullptr);

  // The comparison model (info.path empty: none) and what ranks its predictions.
  void setModel(const ModelInfo& info, const Predictor& predictor);
  bool hasModel() const { return has_model_; }
  // Its answer for `image` (null: nothing yet), drawn like the main canvas.
  void showResult(const QImage& image, const ShownView* result, const PatchMask& mask, int query_patch,
                  Colormap colormap, double opacity, bool grid);
  ImageCanvas* canvas() const { return canvas_; }

 Q_SIGNALS:
  void loadChosen(const QString& folder);  // Load Comparison Model…, through a folder dialog
  void closeRequested();

 private:
  QLabel *model_ = nullptr, *response_ = nullptr, *note_ = nullptr;
  QPushButton* close_ = nullptr;
  ImageCanvas* canvas_ = nullptr;
  Predictor predictor_;
  bool has_model_ = false;
};

}  // namespace msnlens
