#pragma once
// What the predictions panel, the thumbnails, the lens and `msnlens-cli infer` rank, from one
// place: the checkpoint's classifier, few-shot classes fitted on CLS embeddings, or MSN's
// prototype assignment. Released ViT-MSN backbones have no trained classifier, so their
// labels are never offered. Plain C++, no LibTorch.

#include <optional>
#include <string>
#include <vector>

#include "analysis/linear_head.h"
#include "analysis/views.h"

namespace msnlens {

struct Scored {
  int index = 0;
  std::string label;
  float score = 0;  // probability
};

class Predictor {
 public:
  Predictor() = default;
  // `labels`: the classifier's, by index (empty without classifier weights); `prototypes`: how
  // many MSN prototypes the model has (0: none).
  Predictor(std::vector<std::string> labels, int prototypes, LinearHead few_shot = {});

  // Sources this model and these classes offer, in menu order; {None} when there is nothing.
  std::vector<PredictionSource> sources() const;
  // The classifier when there is one, else few-shot classes, else prototypes.
  PredictionSource preferred() const;
  bool offers(PredictionSource source) const;

  // Probabilities per index under `source`; empty when the source cannot score this read-out.
  std::vector<float> scores(const Readout& readout, PredictionSource source) const;
  std::string label(PredictionSource source, int index) const;
  int size(PredictionSource source) const;  // how many indices the source ranks
  std::vector<Scored> top_k(const Readout& readout, PredictionSource source, int k) const;
  std::optional<Scored> top1(const Readout& readout, PredictionSource source) const;

  const LinearHead& few_shot() const { return few_shot_; }

 private:
  std::vector<std::string> labels_;
  int prototypes_ = 0;
  LinearHead few_shot_;
};

// How a masked view's outputs moved away from the unmasked ones: what MSN Lens shows beside
// every masked result and writes in reports.
struct MaskingResponse {
  double cls_cosine = 0;                  // of the CLS embeddings
  std::optional<Scored> top1_before, top1_after;  // under the source asked for
  std::optional<double> prototype_kl;     // KL(unmasked || masked) of the prototype assignments
  int prototype_before = -1, prototype_after = -1;
};
MaskingResponse masking_response(const Readout& unmasked, const Readout& masked, const Predictor& predictor,
                                 PredictionSource source);

// One row of the depth lens: what the CLS token after a layer predicts under `source`, and its
// cosine to the output's CLS embedding (the last layer's read-out).
struct LensRow {
  std::optional<Scored> top1;
  double cosine_to_output = 0;
};
std::vector<LensRow> lens_rows(const std::vector<Readout>& layers, const Predictor& predictor, PredictionSource source);

}  // namespace msnlens
