#include "ui/view_export.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include "msnlens.h"

namespace msnlens {

QJsonObject view_report(const ReportInputs& in) {
  QJsonObject r;
  r["model"] = QJsonDocument::fromJson(in.model->summary_json.toUtf8()).object();
  r["device"] = in.model->device;
  r["precision"] = in.model->precision;
  const ImageState* s = in.image;
  if (!s) return r;
  r["image"] = s->name;
  QJsonArray masked;
  for (int p = 0; p < s->mask.size(); ++p)
    if (s->mask.masked(p)) masked.append(p);
  r["mask"] = QJsonObject{{"rows", s->mask.rows()}, {"cols", s->mask.cols()}, {"masked_patches", masked}, {"mode", mask_mode_name(in.mode)}};
  r["view"] = in.view;
  r["predictions"] = QJsonArray::fromStringList(in.predictions);
  r["prediction_source"] = in.prediction_source;
  if (const ShownView* v = s->view.get(); v && v->response && v->masked && v->request.mask == s->mask) {
    QJsonObject response{{"cls_cosine", v->response->cls_cosine}, {"latency_ms", v->masked->latency_ms}};
    if (v->response->prototype_kl) response["prototype_kl"] = *v->response->prototype_kl;
    r["response"] = response;
  }
  return r;
}

std::optional<Figure> view_figure(const FigureInputs& in) {
  const ImageState* s = in.image;
  const ShownView* v = in.drawn;
  if (!s || s->image.isNull() || !v || !v->maps || in.heat.size() != QSize(in.grid_cols, in.grid_rows)) return std::nullopt;
  Figure f;
  f.image = s->image;
  f.heat = in.heat;
  f.mask = in.mask;
  f.query_patch = v->controls.query ? v->request.maps.map.query_patch : -1;
  f.opacity = in.opacity;
  f.grid = in.grid;
  f.colormap = in.colormap;
  f.range = v->display.range;
  f.title = QString::fromStdString(figure_title(s->name.toStdString(), *v));
  if (!in.faithfulness.isEmpty()) f.title += QStringLiteral("\n") + in.faithfulness;
  return f;
}

QString write_map_data(const ViewMaps& maps, int grid_rows, int grid_cols, const QString& path) {
  const QString format = QFileInfo(path).suffix().toLower();
  if (format != "npy" && format != "csv") return QStringLiteral("%1: unknown map format (.npy or .csv)").arg(path);
  std::vector<std::size_t> shape = {static_cast<std::size_t>(grid_rows), static_cast<std::size_t>(grid_cols)};
  if (const int channels = map_channels(maps.request.map.source); channels > 1) shape.push_back(static_cast<std::size_t>(channels));
  try {
    if (format == "npy") write_npy(path.toStdString(), maps.map, shape);
    else write_csv(path.toStdString(), maps.map, shape);
  } catch (const Error& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

QString with_suffix(const QString& path, const QString& filter) {
  if (path.isEmpty() || !QFileInfo(path).suffix().isEmpty()) return path;
  const qsizetype star = filter.indexOf("*.");
  return star < 0 ? path : path + filter.mid(star + 1, filter.indexOf(')', star) - star - 1);
}

}  // namespace msnlens
