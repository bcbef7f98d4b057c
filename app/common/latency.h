#pragma once
// Wall clocks and latency summaries, the same in every front end (no LibTorch: the GUI's
// headless driver uses them too).

#include <chrono>
#include <vector>

namespace msnlens::front_end {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The q-quantile of samples by nearest rank (0 for none); median() averages the middle two.
double percentile(std::vector<double> samples, double q);
double median(std::vector<double> samples);

}  // namespace msnlens::front_end
