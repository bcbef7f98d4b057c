#pragma once
// Plain data the inference worker hands to the widgets across threads. Nothing here touches
// LibTorch: widgets draw from these values and the torch-free functions in core/analysis.

#include <QImage>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

#include "analysis/attention_maps.h"
#include "analysis/linear_head.h"
#include "analysis/patch_mask.h"
#include "analysis/sweep_plan.h"

namespace msnlens {

// How masked patches are hidden from the model.
enum class MaskMode {
  DropTokens,  // MSN's own masking: the patch tokens are removed after position embeddings
  MaskToken,   // transformers' bool_masked_pos: embeddings replaced by the learned mask token
  FillGray,    // the patch pixels painted mid gray, every token kept
  FillBlur,    // the patch pixels replaced by a heavy blur, every token kept
};
QString mask_mode_name(MaskMode mode);

struct ModelInfo {
  QString path;
  QString title;             // shown in the window: folder or file name, "(test checkpoint)" when demo
  QString format;            // "safetensors", "torch.save zip (original MSN)", ...
  QString architecture;      // "ViT 12 layers x 6 heads, hidden 384, patch 16, 224 px"
  QString device;            // "CPU, 2 threads" / "NVIDIA H100 80GB HBM3"
  QString precision;         // "bf16"
  QString summary_json;      // the engine's model summary
  int layers = 0, heads = 0, grid_rows = 0, grid_cols = 0, image_size = 0, num_prototypes = 0;
  bool has_classifier = false, has_prototypes = false, has_mask_token = false;
  QStringList labels;        // classifier labels by index
  double load_ms = 0;
};

// One forward pass of one image, unmasked (the baseline) or masked.
// What the model's read-out makes of one CLS token.
struct Readout {
  std::vector<float> cls;              // CLS embedding after the final LayerNorm
  std::vector<float> class_probs;      // softmax over the classifier's logits; empty without one
  std::vector<float> prototype_probs;  // MSN prototype assignment; empty without prototypes
};

// The model's output for an image (its final read-out) and what the view needs beside it.
struct ForwardResult : Readout {
  quint64 image_id = 0;
  bool masked = false;
  MaskMode mode = MaskMode::DropTokens;
  PatchMask mask;              // what was masked (empty grid for the baseline)
  AttentionStack attention;    // every layer and head, over the tokens the model saw
  std::vector<Readout> lens;   // the same read-out applied after each layer 1..L (depth lens)
  double latency_ms = 0;       // request to result, in the worker
};
using ForwardResultPtr = std::shared_ptr<const ForwardResult>;

struct SweepResult {
  quint64 image_id = 0;
  std::vector<SweepPoint> points;
  bool cancelled = false;
  double seconds = 0;
};

}  // namespace msnlens

Q_DECLARE_METATYPE(msnlens::ModelInfo)
Q_DECLARE_METATYPE(msnlens::ForwardResultPtr)
Q_DECLARE_METATYPE(msnlens::SweepResult)
Q_DECLARE_METATYPE(msnlens::PatchMask)
Q_DECLARE_METATYPE(msnlens::MaskMode)
Q_DECLARE_METATYPE(msnlens::SweepRequest)
Q_DECLARE_METATYPE(msnlens::LinearHead)
