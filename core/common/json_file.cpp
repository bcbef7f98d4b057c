#include "common/json_file.h"

#include <fstream>

#include "common/error.h"

namespace msnlens {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path.string(), "cannot open: " + ec.message());
  if (size > kMaxJsonFileBytes)
    fail(path.string(), "JSON file of " + std::to_string(size) + " bytes is larger than any config");
  std::ifstream in(path);
  if (!in) fail(path.string(), "cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path.string(), std::string("not valid JSON: ") + e.what());
  }
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out || !(out << j.dump(2) << "\n") || !out.flush()) fail(path.string(), "cannot write");
}

}  // namespace msnlens
