#pragma once
// The engine behind every MSN Lens view, front-end neutral: one model session, the images
// under study and, per image, the unmasked and the latest masked forward pass kept on the
// session's device (the least recently used dropped beyond a byte budget, recomputed when
// asked for again). The app's worker, msnlens-cli, msnlens-bench and the GPU checks all make
// these calls, so what one shows the others print. Plain values in and out: no LibTorch in
// this header. Failures throw Error with one line naming what went wrong.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "analysis/faithfulness.h"
#include "analysis/interventions.h"
#include "analysis/linear_head.h"
#include "analysis/predictions.h"
#include "analysis/shown_view.h"
#include "analysis/sweep_plan.h"
#include "analysis/views.h"
#include "imaging/rgb_image.h"

namespace msnlens {

struct ModelDescription {
  std::string path;
  std::string format;        // "safetensors", "torch.save zip (original MSN)", ...
  std::string device;        // "cpu", "cuda:0"
  std::string device_name;   // "CPU, 2 cores" / "NVIDIA H100 80GB HBM3"
  std::string precision;     // "bf16"
  std::string precision_note;  // why the precision asked for is not the one running; "" when it is
  std::vector<std::string> precisions;  // what the device honours (available_precisions): a chooser's choices
  std::string kernels;       // what runs the layers: InferenceSession::kernels()
  std::string summary_json;  // what `msnlens-cli info --json` writes
  int layers = 0, heads = 0, hidden_size = 0, patch_size = 0, image_size = 0;
  int grid_rows = 0, grid_cols = 0, num_prototypes = 0;
  bool has_classifier = false, has_prototypes = false, has_mask_token = false;
  std::vector<std::string> labels;  // the classifier's, by index; empty without classifier weights
  double load_ms = 0;
};

struct WorkbenchOptions {
  std::string device = "auto";     // auto | cpu | cuda | cuda:N
  std::string precision = "auto";  // auto | fp32 | bf16 | fp16
  std::string config_file;         // JSON setting or overriding config fields (--config)
  bool cuda_graphs = false;        // replay whole forwards as CUDA graphs (pays off for repeated shapes)
  bool fused_cpu = true;           // the fused oneDNN encoder on the CPU (false: the LibTorch layers)
  // A precision the device cannot honour: false fails the load with a line saying why (the
  // CLI's explicit choice); true runs the default instead and says so in precision_note (the
  // app, which opens whatever its settings hold).
  bool precision_fallback = false;
  std::size_t state_budget_bytes = std::size_t{1} << 30;  // device memory for kept forward passes
  // Few-shot classes to load with the model: this .fewshot file, or when empty the classes the
  // model ships beside it (few_shot_classes_for, engine/few_shot.h), if any. Every front end
  // follows this one rule; classes that do not fit the model fail the load, naming the file.
  std::string few_shot;
};

// The precisions `device` ("auto", "cpu", "cuda") honours within the documented bounds, for a
// chooser to offer: "fp32", then "bf16" and "fp16" where available.
std::vector<std::string> available_precisions(const std::string& device);

class Workbench {
 public:
  Workbench();
  ~Workbench();
  Workbench(const Workbench&) = delete;
  Workbench& operator=(const Workbench&) = delete;

  // Loads `path` (any format load_model() reads) onto the options' device, with the few-shot
  // classes options.few_shot names. On failure the current model, classes and every result
  // stay. On success results of the previous model go (images stay).
  const ModelDescription& load_model(const std::string& path, const WorkbenchOptions& options = {});
  bool has_model() const;
  const ModelDescription& model() const;

  void add_image(ImageId id, RgbImage image);
  // Pixel values already preprocessed ([3, height, width] float32, channel-major), as the
  // fixtures and `infer --inputs` give them: no image behind them, so no pixel-fill masking,
  // and they are not re-prepared for another model.
  void add_pixels(ImageId id, std::vector<float> chw, int height, int width);
  void remove_image(ImageId id);
  bool has_image(ImageId id) const;

  // The unmasked view (nothing in `mask`) or a masked one, run on first use.
  std::shared_ptr<const ViewSummary> view(ImageId id, const PatchMask& mask, MaskMode mode);
  // What the visible views ask of that view. `progress` follows an occlusion map, patch by
  // patch, and may stop it (the patches not reached stay NaN, and the map is not kept).
  ViewMaps maps(ImageId id, const PatchMask& mask, MaskMode mode, const MapRequest& request, const Progress& progress = {});
  // Everything a front end draws of `request` (analysis/shown_view.h): the unmasked view, the
  // masked one when something is masked, the maps of the variant shown and what they mean;
  // latency_ms is the time taken here. `progress` as for maps().
  ShownView show(const ViewRequest& request, const Progress& progress = {});
  // This workbench as a comparison model beside another's `request`: the same image, mask and
  // map where its patch grid allows (else unmasked and from the CLS token, which `note` says),
  // class maps for its own top prediction, since the other model's classes need not exist
  // here. A failure is the note too, never thrown.
  ShownView show_compared(const ViewRequest& request);
  // How faithful `map` of that view is (analysis/faithfulness.h): deletion and insertion curves
  // with MSN's token dropping, against random orders, for the target a class map explains (the
  // unmasked image's top prediction for maps without a target). `progress` as for maps().
  Faithfulness faithfulness(ImageId id, const PatchMask& mask, const MapSpec& map, const FaithfulnessOptions& options = {},
                            const Progress& progress = {});
  // Causal interventions on the view with `mask` dropped (analysis/interventions.h), for
  // `target` (index -1 or source None: the unmasked image's top prediction, as for maps).
  // `progress` is told (done, total) layers and may stop them.
  HeadAblation head_ablation(ImageId id, const PatchMask& mask, const ExplainTarget& target, const Progress& progress = {});
  KnockoutEffect knockout(ImageId id, const PatchMask& mask, const KnockoutRequest& request, const ExplainTarget& target);
  // Needs something masked: the masked view is patched from the unmasked one.
  Patching patching(ImageId id, const PatchMask& mask, const ExplainTarget& target, const Progress& progress = {});
  // `ratio` of the patches masked: those the unmasked view's `map` weighs most (or least).
  PatchMask mask_by_map(ImageId id, const MapSpec& map, double ratio, bool most);
  // Masks swept with MSN's token dropping; attention-guided strategies follow `guide` on the
  // unmasked view.
  std::vector<SweepPoint> sweep(ImageId id, SweepRequest request, const MapSpec& guide, const SweepProgress& progress);
  // Every tensor of that view's forward pass, float32, to a safetensors file (see
  // write_forward_tensors in engine/analyzer.h): slow for long sequences, but bounded in memory.
  void write_tensors(ImageId id, const PatchMask& mask, MaskMode mode, const std::string& path);

  // Few-shot classes: fitted on the unmasked CLS embeddings of example images (examples[c]
  // holds class c's image ids), read from or written to .fewshot files. fit returns how many
  // examples it used; with none the classes are cleared.
  int fit_few_shot(const std::vector<std::string>& classes, const std::vector<std::vector<ImageId>>& examples);
  void load_few_shot(const std::string& path);
  void save_few_shot(const std::string& path) const;
  const LinearHead& few_shot() const;
  const std::string& few_shot_source() const;  // file name, or "N examples"

  // Every source the current model and classes can rank.
  Predictor predictor() const;

  std::size_t device_bytes() const;  // held by kept forward passes

  // Sets this process's CPU thread pools for this workbench's model (InferenceSession::
  // cpu_threads). Process-wide, so a front end calls it for the model it runs, after loading;
  // loading never does (the app's comparison model leaves the first model's pools alone).
  void apply_cpu_threads() const;

 private:
  ExplainTarget resolve_target(ImageId id, const ExplainTarget& wanted, MaskMode mode);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace msnlens
