#pragma once
// What crosses between the widgets and the inference worker's thread: the engine's plain
// results (core/analysis/shown_view.h) behind shared pointers and the model described in Qt's
// types.

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <memory>
#include <string>
#include <vector>

#include "msnlens.h"

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
  std::vector<std::string> labels;  // classifier labels by index
  Predictor predictor;       // what ranks its read-outs: labels, prototypes and the classes loaded with it
  double load_ms = 0;
};

using ViewSummaryPtr = std::shared_ptr<const ViewSummary>;
using ViewMapsPtr = std::shared_ptr<const ViewMaps>;
// The engine's answer to a ViewRequest, with the comparison model's in `compare`.
using ShownViewPtr = std::shared_ptr<const ShownView>;

struct SweepResult {
  quint64 image_id = 0;
  std::vector<SweepPoint> points;
  bool cancelled = false;
  double seconds = 0;
};

// A map's faithfulness curves (MSN token dropping), for the view and map they measured.
struct FaithfulnessResult {
  quint64 image_id = 0;
  PatchMask mask;
  MapSpec map;
  Faithfulness value;

  // Whether these are the curves of that image, mask and map.
  bool of(quint64 id, const PatchMask& m, const MapSpec& spec) const { return image_id == id && mask == m && map == spec; }
};

// The Causes tab's run on one view: every head ablated and, with a mask, the patching stack.
struct CausesResult {
  quint64 image_id = 0;
  PatchMask mask;
  QString target;  // what y is: "Sneaker (few-shot)"
  std::shared_ptr<const HeadAblation> heads;
  std::shared_ptr<const Patching> patching;  // only with something masked
  bool cancelled = false;
  double seconds = 0;
};

struct KnockoutResult {
  quint64 image_id = 0;
  KnockoutRequest request;
  KnockoutEffect effect;
};

}  // namespace msnlens

Q_DECLARE_METATYPE(msnlens::FaithfulnessResult)
Q_DECLARE_METATYPE(msnlens::CausesResult)
Q_DECLARE_METATYPE(msnlens::KnockoutResult)
Q_DECLARE_METATYPE(msnlens::KnockoutRequest)
Q_DECLARE_METATYPE(msnlens::ExplainTarget)
Q_DECLARE_METATYPE(msnlens::ModelInfo)
Q_DECLARE_METATYPE(msnlens::ViewSummaryPtr)
Q_DECLARE_METATYPE(msnlens::ShownViewPtr)
Q_DECLARE_METATYPE(msnlens::SweepResult)
Q_DECLARE_METATYPE(msnlens::PatchMask)
Q_DECLARE_METATYPE(msnlens::MaskMode)
Q_DECLARE_METATYPE(msnlens::MapSpec)
Q_DECLARE_METATYPE(msnlens::SweepRequest)
Q_DECLARE_METATYPE(msnlens::LinearHead)
Q_DECLARE_METATYPE(msnlens::Predictor)
