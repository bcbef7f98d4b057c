#pragma once
// Where a forward pass spends its time: self time per ATen operator (time inside the operator
// minus the operators it called), recorded through ATen's RecordFunction callbacks on the
// thread that runs the model. Works the same on LibTorch 1.13 and 2.x.

#include <string>
#include <utility>
#include <vector>

namespace msnlens {

class OpProfile {
 public:
  OpProfile();  // recording starts here...
  ~OpProfile();  // ...and stops here
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Operators by total self time, longest first: {name, milliseconds}.
  static std::vector<std::pair<std::string, double>> totals();
};

}  // namespace msnlens
