#pragma once
// A classifier on the CLS embedding as plain numbers (softmax(W x / t) on x centred and L2-normalised), so
// the window can score few-shot classes on the UI thread without LibTorch.

#include <string>
#include <vector>

namespace msnlens {

struct LinearHead {
  std::vector<std::string> classes;
  std::vector<float> weight;  // classes x dim, row-major
  int dim = 0;
  float temperature = 1.0f;   // 0.1 for class-mean heads (cosine similarities), 1 for regression
  std::string kind;           // "logistic regression" or "class means"

  bool empty() const { return classes.empty() || dim == 0; }
  // Class probabilities for one embedding; empty when the dimensions differ.
  std::vector<float> probabilities(const std::vector<float>& embedding) const;
};

}  // namespace msnlens
