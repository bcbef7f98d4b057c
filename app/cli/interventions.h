#pragma once
// explain --method head-ablation | knockout | patching: the causal interventions of
// engine/workbench.h on one view, written as the CLI's other maps are.

#include <filesystem>
#include <string>

#include "commands.h"
#include "engine/workbench.h"

namespace msnlens {

// Runs a.method on image `id` with `mask` dropped, for `target`; writes `out` and prints a line
// for `name`.
void explain_intervention(Workbench& bench, const ExplainArgs& a, ImageId id, const PatchMask& mask, const ExplainTarget& target,
                          const std::filesystem::path& out, const std::string& name);

}  // namespace msnlens
