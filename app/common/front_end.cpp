#include "front_end.h"

namespace msnlens::front_end {

LoadedModel load_model(const std::string& path, const std::string& config_file) {
  return msnlens::load_model(path, config_file.empty() ? ConfigOverride{} : ConfigOverride::from_file(config_file));
}

WorkbenchOptions workbench_options(const std::string& device, const std::string& precision, const std::string& config_file) {
  WorkbenchOptions options;
  options.device = device;
  options.precision = precision;
  options.config_file = config_file;
  return options;
}

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

}  // namespace msnlens::front_end
