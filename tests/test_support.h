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
#include "fixtures.h"

namespace testing {

using fixture::Closeness;
using fixture::compare;
using fixture::data_path;

inline QString qs(const std::string& s) { return QString::fromStdString(s); }
inline QString qs(const QString& s) { return s; }

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
#define MSN_VERIFY(cond, msg) QVERIFY2((cond), qPrintable(testing::qs(msg)))
// The call must fail with msnlens::Error whose message contains every given fragment.
#define MSN_EXPECT_ERROR(call, ...)                                                            \
  do {                                                                                         \
    const std::string msn_msg_ = testing::error_of([&] { call; });                             \
    QVERIFY2(!msn_msg_.empty(), "expected an error from: " #call);                             \
    for (const char* msn_part_ : {__VA_ARGS__})                                                \
      QVERIFY2(msn_msg_.find(msn_part_) != std::string::npos,                                  \
               qPrintable(QString("message \"%1\" lacks \"%2\"").arg(testing::qs(msn_msg_), msn_part_))); \
  } while (0)
