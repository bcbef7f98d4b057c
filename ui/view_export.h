#pragma once
// The window's view as files: the report JSON, the figure of the canvas, and the raw map. All
// of it is drawn from the engine's ShownView, as the canvas is.

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

#include "ui/figure_export.h"
#include "ui/image_list_model.h"

namespace msnlens {

// What the user sees, for Export ▸ Report JSON: the model, the image, its mask, the view
// (`view` as AttentionPanel::describe() gives it), the predictions shown and, once the masked
// view answers the mask, the response to masking.
struct ReportInputs {
  const ModelInfo* model = nullptr;
  const ImageState* image = nullptr;  // null: no image open
  MaskMode mode = MaskMode::DropTokens;
  QJsonObject view;
  QStringList predictions;
  QString prediction_source;
};
QJsonObject view_report(const ReportInputs& in);

// The figure of `drawn` (the view the canvas's heat map `heat` was drawn from) over `image`;
// nullopt when the heat map does not fit the model's grid.
struct FigureInputs {
  const ImageState* image = nullptr;
  const ShownView* drawn = nullptr;
  QImage heat;
  PatchMask mask;
  double opacity = 0.6;
  bool grid = true;
  Colormap colormap = Colormap::Inferno;
  int grid_rows = 0, grid_cols = 0;
  QString faithfulness;  // the map's AUCs, when measured: a line under the title
};
std::optional<Figure> view_figure(const FigureInputs& in);

// The raw map of `maps` ([grid rows, grid cols], PCA [rows, cols, 3]; NaN where the model saw no
// token) as .npy or .csv, as `path`'s extension says. Returns what went wrong, empty when written.
QString write_map_data(const ViewMaps& maps, int grid_rows, int grid_cols, const QString& path);

// `path` with the chosen file-dialog filter's extension when the user typed none
// ("PNG image (*.png)").
QString with_suffix(const QString& path, const QString& filter);

}  // namespace msnlens
