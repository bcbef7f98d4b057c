#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

namespace msnlens {

// Config files are small; anything larger is refused before it is parsed.
constexpr std::uintmax_t kMaxJsonFileBytes = 64u << 20;

// Reads and parses a JSON file; throws Error naming it when missing, huge or invalid.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace msnlens
