#pragma once
// What a front end shows of one view request, decided here and nowhere else, so the app, the
// CLI's `explain`, exported figures and the report JSON cannot disagree: which image variant
// and map are shown, the values the colour scale draws with its blanking and range, which
// controls change the map, the caption, what the map found, the response to masking, and
// whether a value answers a request. Workbench::show() computes it; front ends only draw it.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/predictions.h"
#include "analysis/views.h"

namespace msnlens {

// What a front end asks to see: one image under its mask, and what the visible views need of
// the view shown.
struct ViewRequest {
  ImageId image_id = 0;
  PatchMask mask;
  MaskMode mode = MaskMode::DropTokens;
  bool show_masked = true;  // the masked view rather than the unmasked one, when something is masked
  MapRequest maps;
  PredictionSource ranking = PredictionSource::None;  // what the response to masking is read under

  // The one rule for which variant the maps are of.
  bool masked_shown() const { return show_masked && mask.any(); }
  bool operator==(const ViewRequest& o) const {
    return image_id == o.image_id && mask == o.mask && mode == o.mode && show_masked == o.show_masked && maps == o.maps &&
           ranking == o.ranking;
  }
  bool operator!=(const ViewRequest& o) const { return !(*this == o); }
};

// Which of the map controls change what `source` shows.
struct MapControls {
  bool layer = false;    // Attention, TokenNorm
  bool heads = false;    // Attention, Rollout (rollout takes a single head as their mean)
  bool discard = false;  // Rollout, GradRollout
  bool target = false;   // the class maps
  bool query = false;    // maps that look from a query patch or the CLS token
  bool pca_all = false;  // Pca
};
MapControls map_controls(MapSpec::Source source);

// What the colour scale draws of a map: values in [0, 1], `channels` interleaved per patch
// (principal components: each rescaled on its own), NaN transparent; the patch left blank (the
// query's own attention to itself dwarfs the rest; -1: none); the raw values the colour bar
// spans (none for RGB maps or maps without a finite value).
struct MapDisplay {
  std::vector<float> values;
  int channels = 1;
  int blanked = -1;
  std::optional<std::pair<float, float>> range;
};
MapDisplay map_display(const ViewMaps& maps);
// One per-head map of `maps` (head_maps, overview) as the grids draw it, blanked as the canvas's.
std::vector<float> head_map_display(const ViewMaps& maps, const std::vector<float>& head_map);

// "CLS token", or "patch 17 (row 2, column 4)" on a grid `grid_cols` wide.
std::string query_text(int query_patch, int grid_cols);
// The map, what it depends on (layer, heads, rollout discard, target, query) and the masking
// shown, joined by " · "; `target_label` names the class a class map explains.
std::string map_caption(const ViewMaps& maps, int grid_cols, const std::string& target_label);
// What the map found beyond its values (token norms' outliers); empty when it says nothing.
std::string map_findings(const ViewMaps& maps);

// The answer to one ViewRequest.
struct ShownView {
  ViewRequest request;
  std::shared_ptr<const ViewSummary> unmasked;
  std::shared_ptr<const ViewSummary> masked;  // null when nothing is masked
  std::shared_ptr<const ViewMaps> maps;       // of the variant request.masked_shown() names
  MapDisplay display;
  MapControls controls;
  std::string target_label;  // the class a class map explains ("" when it explains none)
  std::string caption;       // map_caption()
  std::string findings;      // map_findings()
  std::optional<MaskingResponse> response;  // masked against unmasked, under request.ranking
  std::string note;          // a comparison model's: what had to differ from the request, or why it failed
  double latency_ms = 0;     // request to result
  std::shared_ptr<const ShownView> compare;  // the comparison model's answer to the same request
};

// Whether `view`'s maps are what `request` asks to see (same image, maps and ranking, and the
// same masked view if one is shown).
bool answers(const ShownView& view, const ViewRequest& request);
// A figure's title: the image's name, then the view's caption.
std::string figure_title(const std::string& image_name, const ShownView& view);

}  // namespace msnlens
