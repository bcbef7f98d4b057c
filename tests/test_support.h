#pragma once
// Shared helpers for the Qt Test suites: paths to the bundled fixtures, tolerance checks and
// capturing the message of an expected msnlens::Error.

#include <ATen/ATen.h>
#include <QString>
#include <QtTest>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace testing {

inline std::filesystem::path data_path(const std::string& relative = "") {
  return std::filesystem::path(MSNLENS_TEST_DATA) / relative;
}

inline QString qs(const std::string& s) { return QString::fromStdString(s); }

// The fixtures' bound for fp32 inference: max|got - want| <= 1e-4 * (1 + max|want|).
struct Closeness {
  double max_error = 0.0;
  double tolerance = 0.0;
  bool ok = false;
  QString message;
};

inline Closeness compare(const at::Tensor& got, const at::Tensor& want, const std::string& name, double rel = 1e-4) {
  Closeness c;
  if (!got.defined()) {
    c.message = qs(name + ": not produced");
    return c;
  }
  if (got.sizes() != want.sizes()) {
    std::ostringstream s;
    s << name << ": shape " << got.sizes() << " != expected " << want.sizes();
    c.message = qs(s.str());
    return c;
  }
  const at::Tensor g = got.to(at::kDouble), w = want.to(at::kDouble);
  c.max_error = (g - w).abs().max().item<double>();
  c.tolerance = rel * (1.0 + w.abs().max().item<double>());
  c.ok = c.max_error <= c.tolerance;
  c.message = qs(name + ": max|delta| " + std::to_string(c.max_error) + " (bound " + std::to_string(c.tolerance) + ")");
  return c;
}

// Runs `f`, which must throw msnlens::Error; returns its message ("" when nothing was thrown).
template <typename F>
std::string error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const msnlens::Error& e) {
    return e.what();
  }
  return "";
}

// Writes bytes to a file (hostile inputs are built byte by byte in the tests).
void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

// A zip of stored members, as torch.save writes them (CRC left zero: readers here ignore it).
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace testing

// QVERIFY2 with std::string / QString messages.
#define MSN_VERIFY(cond, msg) QVERIFY2((cond), qPrintable(msg))
// The call must fail with msnlens::Error whose message contains every given fragment.
#define MSN_EXPECT_ERROR(call, ...)                                                            \
  do {                                                                                         \
    const std::string msn_msg_ = testing::error_of([&] { call; });                             \
    QVERIFY2(!msn_msg_.empty(), "expected an error from: " #call);                             \
    for (const char* msn_part_ : {__VA_ARGS__})                                                \
      QVERIFY2(msn_msg_.find(msn_part_) != std::string::npos,                                  \
               qPrintable(QString("message \"%1\" lacks \"%2\"").arg(testing::qs(msn_msg_), msn_part_))); \
  } while (0)
