#include "front_end.h"

#include <algorithm>
#include <cmath>

namespace msnlens::front_end {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(std::max(1.0, std::ceil(q * static_cast<double>(v.size())))) - 1)];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

LoadedModel load_model(const std::string& path, const std::string& config_file) {
  return msnlens::load_model(path, config_file.empty() ? ConfigOverride{} : ConfigOverride::from_file(config_file));
}

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

}  // namespace msnlens::front_end
