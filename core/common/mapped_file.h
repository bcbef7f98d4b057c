#pragma once
// A whole file mapped read-only into memory. Weights are used straight from the mapping, so a
// ViT-B checkpoint "loads" without reading 350 MB up front; every range a parser asks for is
// checked against the file size first, because offsets come from untrusted headers.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace msnlens {

class MappedFile {
 public:
  // Throws Error naming the file when it is missing, a directory, or cannot be mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  // Bytes already in memory (pasted data, fuzz inputs) behind the same interface; `name`
  // stands in for the path in messages.
  static std::shared_ptr<const MappedFile> from_memory(std::vector<std::uint8_t> bytes, const std::string& name);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string name() const { return path_.string(); }
  std::uint64_t size() const { return size_; }

  // Pointer to [offset, offset + length); throws Error when the range leaves the file.
  const std::uint8_t* at(std::uint64_t offset, std::uint64_t length) const;

  // Drops the whole pages of [data, data + bytes) that lie in a live file mapping from this
  // process's memory; they are read from the file again if touched. Loaders call it once a
  // tensor is copied out, so a checkpoint's mapped pages and its bound copy are never all in
  // memory at once. Anything else (heap memory, bytes from from_memory) is left alone.
  static void release(const void* data, std::size_t bytes);

 private:
  MappedFile(std::filesystem::path path, void* data, std::uint64_t size);

  std::filesystem::path path_;
  void* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::vector<std::uint8_t> memory_;  // from_memory's bytes (then data_ points here, nothing is mapped)
};

using MappedFilePtr = std::shared_ptr<const MappedFile>;

}  // namespace msnlens
