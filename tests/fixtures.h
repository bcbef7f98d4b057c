#pragma once
// The golden fixtures (tests/data) and their tolerance, for every suite: Qt Test and the
// Qt-free GoogleTest suites that GPU builds run.

#include <ATen/ATen.h>

#include <filesystem>
#include <sstream>
#include <string>

namespace fixture {

inline std::filesystem::path data_path(const std::string& relative = "") {
  return std::filesystem::path(MSNLENS_TEST_DATA) / relative;
}

// The fixtures' bound for fp32 inference: max|got - want| <= rel * (1 + max|want|), rel 1e-4.
struct Closeness {
  double max_error = 0.0;
  double tolerance = 0.0;
  bool ok = false;
  std::string message;
};

inline Closeness compare(const at::Tensor& got, const at::Tensor& want, const std::string& name, double rel = 1e-4) {
  Closeness c;
  if (!got.defined()) {
    c.message = name + ": not produced";
    return c;
  }
  if (got.sizes() != want.sizes()) {
    std::ostringstream s;
    s << name << ": shape " << got.sizes() << " != expected " << want.sizes();
    c.message = s.str();
    return c;
  }
  const at::Tensor g = got.to(at::kCPU, at::kDouble), w = want.to(at::kCPU, at::kDouble);
  // NaN where the reference has NaN too (patches the model saw no token of) is agreement.
  const at::Tensor both_nan = g.isnan().logical_and(w.isnan());
  c.max_error = (g - w).abs().masked_fill(both_nan, 0.0).nan_to_num(1e300).max().item<double>();
  c.tolerance = rel * (1.0 + w.nan_to_num(0.0).abs().max().item<double>());
  c.ok = c.max_error <= c.tolerance;
  c.message = name + ": max|delta| " + std::to_string(c.max_error) + " (bound " + std::to_string(c.tolerance) + ")";
  return c;
}

}  // namespace fixture
