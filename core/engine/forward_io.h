#pragma once
// What a forward pass takes and gives beyond the model itself: an image prepared for the model,
// the read-out of each CLS token (what every view shows), and every output tensor streamed to a
// file (`msnlens-cli infer --tensors`).

#include <filesystem>
#include <vector>

#include "analysis/views.h"
#include "engine/inference_session.h"

namespace msnlens {

// An image ready for the model: the resized RGB grid (pixel-fill masking edits it) and its
// normalised pixel values.
struct PreparedImage {
  RgbImage resized;
  at::Tensor pixels;  // [1, 3, H, W] float32 on the CPU
};
PreparedImage prepare_image(const RgbImage& image, const PreprocessorConfig& config);

// Every row of final-LayerNorm CLS embeddings [N, D] and of the heads' outputs on them, one
// host copy each (the depth lens reads every layer's CLS this way).
std::vector<Readout> readout_rows(const HeadOutputs& heads, const at::Tensor& cls);
// What the heads make of each batch row's CLS token, as every view shows it.
std::vector<Readout> readouts(const ModelOutput& out);

// Every output of one forward pass, float32, streamed to a safetensors file: pixel_values,
// last_hidden_state, hidden_states.{i}, attentions.{i} (one layer's maps at a time, recomputed
// from its input, so no more than one layer's maps are ever held), then logits, projection
// and prototype_probs where the model has them.
void write_forward_tensors(const InferenceSession& session, const at::Tensor& pixel_values, const ForwardOptions& options,
                           const std::filesystem::path& path);

}  // namespace msnlens
