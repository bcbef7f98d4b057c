#pragma once
// Helpers for the engine's GoogleTest suites, Qt-free so GPU machines without Qt build them:
// expected msnlens::Error messages, files built byte by byte, temporary folders and child
// processes. The golden fixtures and their tolerance are in fixtures.h.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "fixtures.h"
#include "model/precision.h"

namespace msntest {

using fixture::Closeness;
using fixture::compare;
using fixture::data_path;

// The device MSNLENS_TEST_DEVICE names (GPU checks set "cuda"); "cpu" by default.
std::string test_device();

// Why this CPU's kernels cannot honour `precision` on the CPU (the engine's own line, naming the
// ISA it needs and the one this CPU runs), or "" when they can. Tests of a path this CPU class
// lacks skip with it: GTEST_SKIP() << reason.
std::string unavailable_on_this_cpu(msnlens::Precision precision);

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

// A parameter as a GoogleTest name, which allows only letters, digits and '_'.
std::string test_name(const std::string& param);

// Names the cases of a suite parameterized by strings after their parameter.
struct ParamName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& p) const { return test_name(p.param); }
};

// A new folder under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A test with a fresh temporary folder of its own.
class TempDirTest : public ::testing::Test {
 protected:
  // Writes `bytes` to a file of that name in the folder; returns its path.
  std::filesystem::path file(const std::string& name, const std::string& bytes) const;
  TempDir dir_;
};

// A child process started with posix_spawn, its output captured or shared with ours. One still
// running when this is destroyed is killed, so a failing test leaves nothing behind.
class Process {
 public:
  enum class Output { Capture, Inherit };
  struct Result {
    int status = -1;  // the exit code; -1 when a signal ended it or it ran out of time
    bool timed_out = false;
    std::string out, err;
  };

  // `env` adds to (or replaces in) this process's environment.
  Process(const std::string& program, const std::vector<std::string>& args, Output output = Output::Capture,
          const std::vector<std::pair<std::string, std::string>>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits for the exit, reading captured output meanwhile; past `timeout` the child is killed.
  Result wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
};

// Runs a program to its end (two minutes at most) with its output captured.
Process::Result run_process(const std::string& program, const std::vector<std::string>& args);

}  // namespace msntest

// The call must fail with msnlens::Error whose message contains every given fragment.
#define MSN_EXPECT_ERROR(call, ...)                                                              \
  do {                                                                                           \
    const std::string msn_msg_ = msntest::error_of([&] { call; });                               \
    EXPECT_FALSE(msn_msg_.empty()) << "expected an msnlens::Error from: " #call;                 \
    if (!msn_msg_.empty()) {                                                                     \
      for (const char* msn_part_ : {__VA_ARGS__}) {                                              \
        EXPECT_TRUE(msn_msg_.find(msn_part_) != std::string::npos)                               \
            << "message \"" << msn_msg_ << "\" lacks \"" << msn_part_ << "\"";                   \
      }                                                                                          \
    }                                                                                            \
  } while (0)
