#pragma once
// Turns a forward result and the view settings into the per-patch heat map the canvas and the
// head grids draw: the attention of one query token (CLS or a patch) in one layer, per head or
// fused, or attention rollout; normalised to [0, 1], NaN where the model saw no token.

#include <QImage>

#include <vector>

#include "imaging/colormap.h"
#include "ui/view_types.h"

namespace msnlens {

struct HeatmapSettings {
  enum class Source { Attention, Rollout } source = Source::Attention;
  int layer = -1;                        // -1: the last layer
  HeadFusion fusion = HeadFusion::Mean;
  int head = 0;                          // with HeadFusion::Single
  int query_patch = -1;                  // -1: CLS
  float discard_ratio = 0.9f;            // rollout
  Colormap colormap = Colormap::Inferno;
};

// `rollout` is the tokens x tokens rollout matrix for this result (Source::Rollout only).
std::vector<float> patch_heatmap(const ForwardResult& result, const HeatmapSettings& settings, int num_patches,
                                 const std::vector<float>* rollout = nullptr);

// cols x rows RGBA image of a heat map (transparent where NaN).
QImage heatmap_image(const std::vector<float>& values, int cols, int rows, Colormap colormap);

}  // namespace msnlens
