#pragma once
// What every front end (GUI, CLI, bench) shares and the engine has no business knowing: wall
// clocks, latency summaries, the config-override convention of --config, and turning a failure
// into the one line a user reads.

#include <c10/util/Exception.h>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/model_loader.h"

namespace msnlens::front_end {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The q-quantile of samples by nearest rank (0 for none); median() averages the middle two.
double percentile(std::vector<double> samples, double q);
double median(std::vector<double> samples);

// load_model() with the JSON file of --config (none when empty) overriding config fields.
LoadedModel load_model(const std::string& path, const std::string& config_file);

// The first line of a message: LibTorch appends context and backtraces on further lines.
std::string first_line(const std::string& message);

// Runs body() and returns its exit status; any failure becomes "<program>: <one line>" on
// stderr and exit status 1.
template <typename F>
int guarded_main(const char* program, F&& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::cerr << program << ": " << first_line(e.what_without_backtrace()) << "\n";
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
  }
  return 1;
}

}  // namespace msnlens::front_end
