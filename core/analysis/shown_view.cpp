#include "analysis/shown_view.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace msnlens {

MapControls map_controls(MapSpec::Source source) {
  using Source = MapSpec::Source;
  MapControls c;
  c.layer = source == Source::Attention || source == Source::TokenNorm;
  c.heads = source == Source::Attention || source == Source::Rollout;
  c.discard = source == Source::Rollout || source == Source::GradRollout;
  c.target = uses_target(source);
  c.query = uses_query(source);
  c.pca_all = source == Source::Pca;
  return c;
}

MapDisplay map_display(const ViewMaps& maps) {
  const MapSpec& spec = maps.request.map;
  MapDisplay d;
  d.channels = map_channels(spec.source);
  if (d.channels > 1) {
    d.values = display_channels(maps.map, d.channels);
    return d;
  }
  d.blanked = map_controls(spec.source).query ? spec.query_patch : -1;
  d.values = display_map(maps.map, d.blanked);
  for (std::size_t p = 0; p < maps.map.size(); ++p) {
    const float v = maps.map[p];
    if (!std::isfinite(v) || static_cast<int>(p) == d.blanked) continue;
    d.range = d.range ? std::make_pair(std::min(d.range->first, v), std::max(d.range->second, v)) : std::make_pair(v, v);
  }
  return d;
}

std::vector<float> head_map_display(const ViewMaps& maps, const std::vector<float>& head_map) {
  return display_map(head_map, maps.request.map.query_patch);
}

std::string query_text(int query_patch, int grid_cols) {
  if (query_patch < 0) return "CLS token";
  const int cols = std::max(1, grid_cols);
  return "patch " + std::to_string(query_patch) + " (row " + std::to_string(query_patch / cols + 1) + ", column " +
         std::to_string(query_patch % cols + 1) + ")";
}

std::string map_caption(const ViewMaps& maps, int grid_cols, const std::string& target_label) {
  using Source = MapSpec::Source;
  const MapSpec& spec = maps.request.map;
  const std::string layer = "layer " + std::to_string(resolve_layer(spec.layer, maps.layers) + 1) + " of " + std::to_string(maps.layers);
  const std::string discard = "discard " + std::to_string(std::lround(spec.discard_ratio * 100)) + " %";
  // With no target, occlusion measures how far the CLS embedding moves (ExplainTarget).
  const std::string target = maps.target.source == PredictionSource::None ? "the CLS embedding (1 - cosine)" : target_label;
  std::vector<std::string> parts;
  switch (spec.source) {
    case Source::Attention: parts.push_back("attention, " + layer); break;
    case Source::Rollout: parts.push_back("attention rollout, " + discard); break;
    case Source::GradRollout: parts.push_back("grad-rollout for " + target + ", " + discard); break;
    case Source::Chefer: parts.push_back("Chefer relevance for " + target); break;
    case Source::Occlusion: parts.push_back("occlusion of " + target); break;
    case Source::Similarity: parts.push_back("patch similarity"); break;
    case Source::TokenNorm: parts.push_back("token norms after " + layer); break;
    case Source::Pca: parts.push_back("feature PCA, components 1-3 as RGB"); break;
  }
  if (map_controls(spec.source).heads) {
    switch (spec.fusion) {
      case HeadFusion::Single:
        parts.push_back(spec.source == Source::Rollout ? "mean of heads" : "head " + std::to_string(spec.head + 1));
        break;
      case HeadFusion::Mean: parts.push_back("mean of heads"); break;
      case HeadFusion::Max: parts.push_back("max over heads"); break;
      case HeadFusion::Min: parts.push_back("min over heads"); break;
    }
  }
  if (uses_query(spec.source)) parts.push_back(spec.query_patch < 0 ? "CLS query" : "query " + query_text(spec.query_patch, grid_cols));
  parts.push_back(maps.masked ? "masked: " + std::to_string(maps.mask.count()) + " of " + std::to_string(maps.mask.size()) +
                                    " patches, " + to_string(maps.mode)
                              : "unmasked");
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " \u00b7 ") + p;
  return out;
}

std::string map_findings(const ViewMaps& maps) {
  if (maps.request.map.source != MapSpec::Source::TokenNorm) return {};
  std::ostringstream z;
  z << "modified z-score > " << kOutlierZScore;
  if (maps.outliers.empty()) return "No token's norm stands out (" + z.str() + ").";
  std::string patches;
  for (const int p : maps.outliers) patches += (patches.empty() ? "" : ", ") + std::to_string(p);
  return "High-norm tokens (" + z.str() + "): patches " + patches;
}

bool answers(const ShownView& view, const ViewRequest& r) {
  const ViewRequest& a = view.request;
  if (!view.maps || a.image_id != r.image_id || !(a.maps == r.maps) || a.ranking != r.ranking || a.masked_shown() != r.masked_shown())
    return false;
  // The masked read-out and its response depend on the mask even when the unmasked view is shown.
  return r.mask.any() ? a.mask == r.mask && a.mode == r.mode : !a.mask.any();
}

std::string figure_title(const std::string& image_name, const ShownView& view) {
  return view.caption.empty() ? image_name : image_name + " \u00b7 " + view.caption;
}

}  // namespace msnlens
