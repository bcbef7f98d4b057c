#pragma once
// How fast the representation degrades as more patches go: for each strategy and ratio, masks
// are drawn (several seeds), run in batches with MSN's token dropping, and compared with the
// unmasked result: cosine similarity of CLS embeddings and top-1 agreement (classifier, or
// the argmax prototype when there is none).

#include <functional>
#include <vector>

#include "analysis/sweep_plan.h"
#include "engine/inference_session.h"

namespace msnlens {

// Called after each batch with (done, total); return false to stop early (the points so far
// are returned).
using SweepProgress = std::function<bool(int done, int total)>;

std::vector<SweepPoint> run_mask_sweep(const InferenceSession& session, const at::Tensor& pixel_values,
                                       const SweepRequest& request, const SweepProgress& progress);

}  // namespace msnlens
