#pragma once
// What crosses between the widgets and the inference worker's thread: the engine's plain
// results (core/analysis/views.h) behind shared pointers, the model described in Qt's types,
// and the window's requests.

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <memory>
#include <string>
#include <vector>

#include "analysis/linear_head.h"
#include "analysis/sweep_plan.h"
#include "analysis/views.h"

namespace msnlens {

QString mask_mode_name(MaskMode mode);

struct ModelInfo {
  QString path;
  QString format;            // "safetensors", "torch.save zip (original MSN)", ...
  QString architecture;      // "ViT 12 layers x 6 heads, hidden 384, patch 16, 224 px"
  QString device;            // "CPU, 2 cores" / "NVIDIA H100 80GB HBM3"
  QString precision;         // "bf16"
  QString precision_note;    // why the precision asked for is not the one running ("" when it is)
  QStringList precisions;    // what the device honours, for the Engine menu
  QString kernels;           // "oneDNN fused (brg:avx512_core_bf16)" / "LibTorch"
  QString summary_json;      // the engine's model summary
  int layers = 0, heads = 0, grid_rows = 0, grid_cols = 0, num_prototypes = 0;
  bool has_classifier = false, has_prototypes = false, has_mask_token = false;
  bool demo = false;         // a bundled test checkpoint (the window says so)
  std::vector<std::string> labels;  // classifier labels by index, as Predictor takes them
  double load_ms = 0;
};

using ViewSummaryPtr = std::shared_ptr<const ViewSummary>;
using ViewMapsPtr = std::shared_ptr<const ViewMaps>;

// What the window asks the worker for: one image under its mask, and what the visible views
// need of the view shown (masked when something is masked and the user shows that).
struct ViewRequest {
  quint64 image_id = 0;
  PatchMask mask;
  MaskMode mode = MaskMode::DropTokens;
  bool show_masked = true;
  MapRequest maps;

  bool operator==(const ViewRequest& o) const {
    return image_id == o.image_id && mask == o.mask && mode == o.mode && show_masked == o.show_masked && maps == o.maps;
  }
  bool operator!=(const ViewRequest& o) const { return !(*this == o); }
};

// Whether `maps` are what `request` asks to see (same image, maps, and masked view if any).
bool answers(const ViewMaps& maps, const ViewRequest& request);

// The comparison model's answer to the same request: same image, mask and map (class maps
// explain its own top prediction). `note` says what had to differ, or why it failed.
struct CompareResult {
  ViewSummaryPtr unmasked, masked;
  ViewMapsPtr maps;
  QString note;
};

// The answer to one ViewRequest.
struct ViewResult {
  ViewSummaryPtr unmasked, masked;  // masked: null when nothing is masked
  ViewMapsPtr maps;                 // of the view shown
  std::shared_ptr<const CompareResult> compare;  // null without a comparison model
  double latency_ms = 0;            // request to result, in the worker
};

struct SweepResult {
  quint64 image_id = 0;
  std::vector<SweepPoint> points;
  bool cancelled = false;
  double seconds = 0;
};

}  // namespace msnlens

Q_DECLARE_METATYPE(msnlens::ModelInfo)
Q_DECLARE_METATYPE(msnlens::ViewSummaryPtr)
Q_DECLARE_METATYPE(msnlens::ViewResult)
Q_DECLARE_METATYPE(msnlens::SweepResult)
Q_DECLARE_METATYPE(msnlens::PatchMask)
Q_DECLARE_METATYPE(msnlens::MaskMode)
Q_DECLARE_METATYPE(msnlens::MapSpec)
Q_DECLARE_METATYPE(msnlens::SweepRequest)
Q_DECLARE_METATYPE(msnlens::LinearHead)
