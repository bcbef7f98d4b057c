#pragma once
// The faithfulness curves (analysis/faithfulness.h) measured on the model: every masked variant
// of one view, batched on the session's device.

#include <vector>

#include "analysis/faithfulness.h"
#include "analysis/linear_head.h"
#include "engine/inference_session.h"

namespace msnlens {

// The curves of `map` for the view of `pixels` ([1, 3, H, W]) whose tokens are the patches
// `seen`, explaining `target` (resolved: a source and an index). Every masked variant runs
// batched, grouped by how many tokens it keeps. `progress` is told (done, total) forward rows
// and may stop it (Error "stopped"). The random orders do not depend on the map: `random`, when
// given, holds their curves from an earlier call on the same view, target and options, and they
// are not run again.
Faithfulness faithfulness(const InferenceSession& session, const at::Tensor& pixels, const std::vector<int>& seen,
                          const std::vector<float>& map, const ExplainTarget& target, const LinearHead& few_shot,
                          const FaithfulnessOptions& options = {}, const Progress& progress = {},
                          const std::vector<FaithfulnessCurve>* random = nullptr);

}  // namespace msnlens
