#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw bytes. Reading maps the file and returns
// tensors that view it; every number in the header is validated before it is used.

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/tensor_map.h"

namespace msnlens {

struct SafetensorsContent {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

// Headers larger than this are refused before they are read (the reference implementation's
// own limit).
constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

SafetensorsContent read_safetensors(const std::filesystem::path& path);
SafetensorsContent read_safetensors(const MappedFilePtr& file);

// Writes tensors in the given order (any dtype the format knows; moved to CPU, contiguous).
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace msnlens
