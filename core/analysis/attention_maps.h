#pragma once
// Attention maps as the canvas draws them: per-token values spread onto the patch grid, and
// the display form (the query's own patch blanked, rescaled to [0, 1]). The maps themselves
// are computed on the device by engine/analyzer.h.

#include <vector>

namespace msnlens {

// How the heads of a layer combine into one map. Rollout treats Single as Mean.
enum class HeadFusion { Single, Mean, Max, Min };

// Spreads per-token values (token 0 is CLS) onto the patch grid (num_patches cells); token
// t > 0 belongs to patch token_patch[t - 1]. Patches with no token (dropped) get `missing`.
std::vector<float> tokens_to_patches(const std::vector<float>& token_values, const std::vector<int>& token_patch,
                                     int num_patches, float missing);

// Rescales finite values to [0, 1] (min -> 0, max -> 1); non-finite values stay as they are.
void normalize_unit(std::vector<float>& values);

// What the canvas draws of a raw patch map: the query patch's attention to itself blanked (it
// dwarfs the rest), then rescaled to [0, 1]; NaN stays NaN (drawn transparent).
std::vector<float> display_map(std::vector<float> values, int query_patch);

// A map of `channels` interleaved values per patch (principal components) for display: each
// channel rescaled to [0, 1] on its own; NaN stays NaN.
std::vector<float> display_channels(std::vector<float> values, int channels);

// Iglewicz & Hoaglin's threshold on the modified z-score for an outlier.
constexpr double kOutlierZScore = 3.5;

// Patches whose value is an outlier on the high side: modified z-score 0.6745 (x − median) / MAD
// above kOutlierZScore (Iglewicz & Hoaglin), over the finite values. For token norms, the high-norm
// "register" tokens of Darcet et al. 2023.
std::vector<int> high_outliers(const std::vector<float>& values);

}  // namespace msnlens
