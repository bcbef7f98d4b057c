#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw bytes. Reading maps the file and returns
// tensors that view it; every number in the header is validated before it is used.

#include <filesystem>
#include <fstream>
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

// Writes a file tensor by tensor, so outputs larger than memory can be streamed: every
// tensor's name, dtype and shape is declared first (the header leads the file), then each is
// written in that order.
class SafetensorsWriter {
 public:
  struct Entry {
    std::string name;
    at::ScalarType dtype;
    std::vector<std::int64_t> shape;
  };
  SafetensorsWriter(const std::filesystem::path& path, const std::vector<Entry>& entries,
                    const std::map<std::string, std::string>& metadata = {});
  void write(const at::Tensor& tensor);  // the next declared tensor
  void finish();                         // every declared tensor written, flushed

 private:
  std::filesystem::path path_;
  std::vector<Entry> entries_;
  std::size_t next_ = 0;
  std::ofstream out_;
};

// Writes tensors in the given order (any dtype the format knows; moved to CPU, contiguous).
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace msnlens
