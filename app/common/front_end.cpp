#include "front_end.h"

namespace msnlens::front_end {

LoadedModel load_model(const std::string& path, const std::string& config_file) {
  return msnlens::load_model(path, config_file.empty() ? ConfigOverride{} : ConfigOverride::from_file(config_file));
}

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

}  // namespace msnlens::front_end
