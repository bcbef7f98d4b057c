#pragma once
// Causal interventions on kept forward passes (analysis/interventions.h says what each
// measures). Each is a few hooks (model/hooks.h) on the model's one forward, batched over its
// variants, and starts at the first layer it changes from the kept layer inputs.

#include "analysis/interventions.h"
#include "analysis/linear_head.h"
#include "engine/analyzer.h"

namespace msnlens {

// `progress` is told (done, total) layers and may stop each (Error "stopped").
HeadAblation head_ablation(const ViTMSNModel& model, const ForwardState& view, const ExplainTarget& target,
                           const LinearHead& few_shot, const Progress& progress = {});
KnockoutEffect knockout(const ViTMSNModel& model, const ForwardState& view, const KnockoutRequest& request,
                        const ExplainTarget& target, const LinearHead& few_shot);
// `masked` and `clean` must be views of the same image, `clean` unmasked; rows x cols the grid.
Patching activation_patching(const ViTMSNModel& model, const ForwardState& masked, const ForwardState& clean, int rows,
                             int cols, const ExplainTarget& target, const LinearHead& few_shot, const Progress& progress = {});

}  // namespace msnlens
