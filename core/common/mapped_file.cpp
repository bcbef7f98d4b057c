#include "common/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "common/error.h"

namespace msnlens {
namespace {

// Every live mapping, by start address: release() only ever advises pages inside one.
std::mutex mappings_mutex;
std::map<std::uintptr_t, std::uint64_t> mappings;

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path.string(), std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path.string(), "not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {
    // MAP_PRIVATE + PROT_WRITE: tensors built on the mapping may be written by LibTorch ops
    // without touching the file (copy-on-write), and never fault on a stray in-place op.
    data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail(path.string(), std::string("cannot map into memory: ") + std::strerror(err));
    }
  }
  ::close(fd);
  if (data != nullptr) {
    const std::lock_guard<std::mutex> lock(mappings_mutex);
    mappings[reinterpret_cast<std::uintptr_t>(data)] = size;
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size));
}

std::shared_ptr<const MappedFile> MappedFile::from_memory(std::vector<std::uint8_t> bytes, const std::string& name) {
  auto f = std::shared_ptr<MappedFile>(new MappedFile(name, nullptr, 0));
  f->memory_ = std::move(bytes);
  f->size_ = f->memory_.size();
  f->data_ = f->memory_.empty() ? nullptr : f->memory_.data();
  return f;
}

MappedFile::MappedFile(std::filesystem::path path, void* data, std::uint64_t size)
    : path_(std::move(path)), data_(data), size_(size) {}

MappedFile::~MappedFile() {
  if (data_ == nullptr || !memory_.empty()) return;
  {
    const std::lock_guard<std::mutex> lock(mappings_mutex);
    mappings.erase(reinterpret_cast<std::uintptr_t>(data_));
  }
  ::munmap(data_, size_);
}

void MappedFile::release(const void* data, std::size_t bytes) {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data), end = begin + bytes;
  const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;  // whole pages only
  if (first >= last) return;
  const std::lock_guard<std::mutex> lock(mappings_mutex);
  auto it = mappings.upper_bound(begin);
  if (it == mappings.begin()) return;
  --it;
  if (end > it->first + it->second) return;  // not inside one mapping
  // A private, read-only-in-practice file mapping: dropped pages read back from the file.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

const std::uint8_t* MappedFile::at(std::uint64_t offset, std::uint64_t length) const {
  if (offset > size_ || length > size_ - offset) {
    fail(name(), "truncated or corrupt: needs bytes " + std::to_string(offset) + ".." +
                     std::to_string(offset + length) + " but the file has " +
                     std::to_string(size_));
  }
  return static_cast<const std::uint8_t*>(data_) + offset;
}

}  // namespace msnlens
