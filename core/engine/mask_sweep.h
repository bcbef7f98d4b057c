#pragma once
// How fast the representation degrades as more patches go: for each strategy and ratio, masks
// are drawn (several seeds), run in batches with MSN's token dropping, and compared with the
// unmasked result: cosine similarity of CLS embeddings and top-1 agreement (classifier, or
// the argmax prototype when there is none).

#include <vector>

#include "analysis/sweep_plan.h"
#include "engine/inference_session.h"

namespace msnlens {

std::vector<SweepPoint> run_mask_sweep(const InferenceSession& session, const at::Tensor& pixel_values,
                                       const SweepRequest& request, const SweepProgress& progress);

}  // namespace msnlens
