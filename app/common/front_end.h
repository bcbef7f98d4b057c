#pragma once
// What the engine's command-line front ends (CLI, bench) share and the engine has no business
// knowing: the config-override convention of --config, and turning a failure into the one line
// a user reads. Clocks and latency summaries, which the GUI shares too, are in latency.h.

#include <c10/util/Exception.h>

#include <exception>
#include <iostream>
#include <string>

#include "engine/model_loader.h"
#include "engine/workbench.h"
#include "latency.h"

namespace msnlens::front_end {

// load_model() with the JSON file of --config (none when empty) overriding config fields.
LoadedModel load_model(const std::string& path, const std::string& config_file);

// The Workbench options of --device, --precision and --config.
WorkbenchOptions workbench_options(const std::string& device, const std::string& precision, const std::string& config_file);

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
