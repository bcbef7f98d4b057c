#include "analysis/sweep_plan.h"

#include <algorithm>

namespace msnlens {

const char* to_string(MaskStrategy s) {
  switch (s) {
    case MaskStrategy::Random: return "random";
    case MaskStrategy::Focal: return "focal";
    case MaskStrategy::MostAttended: return "most attended";
    case MaskStrategy::LeastAttended: return "least attended";
  }
  return "?";
}

std::vector<SweepJob> sweep_jobs(const SweepRequest& request, int rows, int cols) {
  std::vector<SweepJob> jobs;
  for (const MaskStrategy s : request.strategies) {
    for (const double ratio : request.ratios) {
      const bool seeded = s == MaskStrategy::Random || s == MaskStrategy::Focal;
      for (int seed = 0; seed < (seeded ? std::max(1, request.seeds) : 1); ++seed) {
        PatchMask m;
        const auto salt = static_cast<std::uint64_t>(seed) * 1000003u + static_cast<std::uint64_t>(ratio * 1000);
        switch (s) {
          case MaskStrategy::Random: m = PatchMask::random(rows, cols, ratio, salt); break;
          case MaskStrategy::Focal: m = PatchMask::focal(rows, cols, ratio, salt); break;
          case MaskStrategy::MostAttended: m = PatchMask::by_score(rows, cols, request.patch_scores, ratio, true); break;
          case MaskStrategy::LeastAttended: m = PatchMask::by_score(rows, cols, request.patch_scores, ratio, false); break;
        }
        if (m.count() == m.size()) m.set(0, false);  // at least one patch token stays
        jobs.push_back({s, ratio, std::move(m)});
      }
    }
  }
  return jobs;
}

}  // namespace msnlens
