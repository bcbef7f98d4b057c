#include "analysis/predictions.h"

#include "analysis/masking_response.h"

namespace msnlens {

Predictor::Predictor(std::vector<std::string> labels, int prototypes, LinearHead few_shot)
    : labels_(std::move(labels)), prototypes_(prototypes), few_shot_(std::move(few_shot)) {}

std::vector<PredictionSource> Predictor::sources() const {
  std::vector<PredictionSource> out;
  for (const PredictionSource s : {PredictionSource::Classifier, PredictionSource::FewShot, PredictionSource::Prototypes})
    if (offers(s)) out.push_back(s);
  if (out.empty()) out.push_back(PredictionSource::None);
  return out;
}

PredictionSource Predictor::preferred() const { return sources().front(); }

bool Predictor::offers(PredictionSource source) const {
  switch (source) {
    case PredictionSource::Classifier: return !labels_.empty();
    case PredictionSource::FewShot: return !few_shot_.empty();
    case PredictionSource::Prototypes: return prototypes_ > 0;
    case PredictionSource::None: return true;
  }
  return false;
}

std::vector<float> Predictor::scores(const Readout& r, PredictionSource source) const {
  switch (source) {
    case PredictionSource::Classifier: return r.class_probs;
    case PredictionSource::FewShot: return few_shot_.probabilities(r.cls);
    case PredictionSource::Prototypes: return r.prototype_probs;
    case PredictionSource::None: break;
  }
  return {};
}

int Predictor::size(PredictionSource source) const {
  switch (source) {
    case PredictionSource::Classifier: return static_cast<int>(labels_.size());
    case PredictionSource::FewShot: return static_cast<int>(few_shot_.classes.size());
    case PredictionSource::Prototypes: return prototypes_;
    case PredictionSource::None: break;
  }
  return 0;
}

std::string Predictor::label(PredictionSource source, int index) const {
  const auto i = static_cast<std::size_t>(index);
  switch (source) {
    case PredictionSource::Classifier: return i < labels_.size() ? labels_[i] : "LABEL_" + std::to_string(index);
    case PredictionSource::FewShot: return i < few_shot_.classes.size() ? few_shot_.classes[i] : std::string();
    case PredictionSource::Prototypes: return "prototype " + std::to_string(index);
    case PredictionSource::None: break;
  }
  return {};
}

std::vector<Scored> Predictor::top_k(const Readout& readout, PredictionSource source, int k) const {
  const std::vector<float> p = scores(readout, source);
  std::vector<Scored> out;
  for (const int i : top_indices(p, k)) out.push_back({i, label(source, i), p[static_cast<std::size_t>(i)]});
  return out;
}

std::optional<Scored> Predictor::top1(const Readout& readout, PredictionSource source) const {
  const std::vector<Scored> best = top_k(readout, source, 1);
  if (best.empty()) return std::nullopt;
  return best.front();
}

MaskingResponse masking_response(const Readout& unmasked, const Readout& masked, const Predictor& predictor,
                                 PredictionSource source) {
  MaskingResponse r;
  r.cls_cosine = cosine_similarity(unmasked.cls, masked.cls);
  r.top1_before = predictor.top1(unmasked, source);
  r.top1_after = predictor.top1(masked, source);
  if (!unmasked.prototype_probs.empty() && masked.prototype_probs.size() == unmasked.prototype_probs.size()) {
    r.prototype_kl = kl_divergence(unmasked.prototype_probs, masked.prototype_probs);
    r.prototype_before = top_indices(unmasked.prototype_probs, 1).front();
    r.prototype_after = top_indices(masked.prototype_probs, 1).front();
  }
  return r;
}

std::vector<LensRow> lens_rows(const std::vector<Readout>& layers, const Predictor& predictor, PredictionSource source) {
  std::vector<LensRow> rows;
  for (const Readout& layer : layers) rows.push_back({predictor.top1(layer, source), cosine_similarity(layer.cls, layers.back().cls)});
  return rows;
}

}  // namespace msnlens
