#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <type_traits>

#include "common/error.h"

namespace msnlens {

// Config files are small; anything larger is refused before it is parsed.
constexpr std::uintmax_t kMaxJsonFileBytes = 64u << 20;

// Reads and parses a JSON file; throws Error naming it when missing, huge or invalid.
nlohmann::json read_json_file(const std::filesystem::path& path);
// Writes `j` indented, with a final newline; throws Error naming the file when it cannot.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);

// Sets `out` from j[key] when present and not null; a value of the wrong JSON type is an Error
// naming "<where>: field \"key\"". T is bool, an integer, a floating point type or std::string.
template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return;
  const nlohmann::json& v = j[key];
  const std::string field = where + ": field \"" + key + "\"";
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) fail(field, "expected true or false");
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) fail(field, "expected an integer");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) fail(field, "expected a number");
  } else {
    if (!v.is_string()) fail(field, "expected a string");
  }
  out = v.get<T>();
}

}  // namespace msnlens
