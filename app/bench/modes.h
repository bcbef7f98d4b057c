#pragma once
// msnlens-bench's modes, one file each: the standard cases beside the PyTorch eager reference and
// ONNX Runtime (cases.cpp), the app's path at the released shapes (shapes.cpp), and where the time
// goes, per operator and per explanation map (profile.cpp).

#include <vector>

#include "bench_support.h"

namespace msnlens::bench {

// The default: every case of `models` in interleaved rounds beside the references; the table,
// the every-CPU targets and the app's click-to-repaint.
int run_cases(const Options& o, const std::vector<BenchModel>& models, const fs::path& scratch, const JsonOut& out);
// --shapes: the table README.md shows, one row per released shape, each measured in child
// processes (for their peak memory) running --flow, the app and `msnlens-cli infer`.
int run_shapes(const Options& o, const fs::path& scratch, const JsonOut& out);
// --flow DIR (the child of --shapes): what the app's worker does for one image, through the same
// Workbench calls, timed: load; first result (unmasked forward, canvas map, heads grid); mask
// edits of one patch and of half the patches (masked forward and maps). One JSON line.
int run_flow(const Options& o);
// --profile: self time per ATen operator for a batch-1 forward of each model.
int run_profile(const Options& o, const std::vector<BenchModel>& models);
// --explain: each explanation map on a forward kept on the device, and one map's faithfulness
// curves (S = 10, R = 8), against the forward itself.
int run_explain(const Options& o, const std::vector<BenchModel>& models);

}  // namespace msnlens::bench
