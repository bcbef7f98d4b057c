#pragma once
// What a masking sweep measures: strategies, ratios and seeds, and the masks they produce.
// Running them is engine/mask_sweep.h; this part is plain data, shared with the UI.

#include <vector>

#include "analysis/patch_mask.h"
#include "analysis/views.h"

namespace msnlens {

enum class MaskStrategy { Random, Focal, MostAttended, LeastAttended };
const char* to_string(MaskStrategy s);

struct SweepRequest {
  std::vector<double> ratios = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::vector<MaskStrategy> strategies = {MaskStrategy::Random, MaskStrategy::Focal, MaskStrategy::MostAttended,
                                          MaskStrategy::LeastAttended};
  int seeds = 4;                    // masks per point for the random strategies
  int batch = 8;                    // masked views per forward
  std::vector<float> patch_scores;  // attention per patch, for the attention-guided strategies
};

struct SweepPoint {
  MaskStrategy strategy = MaskStrategy::Random;
  double ratio = 0;               // requested ratio
  double cosine_mean = 0, cosine_min = 0;
  double top1_agreement = 0;      // fraction of masks keeping the unmasked top-1 (NaN: nothing to agree on)
};

// The masks a request asks for, grouped by strategy then ratio (seeds innermost).
struct SweepJob {
  MaskStrategy strategy;
  double ratio;
  PatchMask mask;
};
std::vector<SweepJob> sweep_jobs(const SweepRequest& request, int rows, int cols);

// Called after each batch of a running sweep with (done, total); return false to stop early
// (the points so far are returned).
using SweepProgress = Progress;

}  // namespace msnlens
