#include "checkpoint/zip_archive.h"

#include <algorithm>

#include "common/error.h"

namespace msnlens {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDir = 0x06054b50;
constexpr std::uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint64_t kMaxMembers = 1'000'000;

std::uint64_t le(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads little-endian fields from a bounds-checked window of the mapped file.
class Reader {
 public:
  Reader(const MappedFile& file, std::uint64_t offset, std::uint64_t length)
      : p_(file.at(offset, length)), length_(length), file_(file) {}
  std::uint64_t get(std::uint64_t at, int bytes) const {
    if (at + static_cast<std::uint64_t>(bytes) > length_) fail(file_.name(), "corrupt zip record");
    return le(p_ + at, bytes);
  }
  const std::uint8_t* ptr(std::uint64_t at) const { return p_ + at; }

 private:
  const std::uint8_t* p_;
  std::uint64_t length_;
  const MappedFile& file_;
};

bool unsafe_member_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return true;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    if (name.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool ZipArchive::looks_like_zip(const MappedFile& file) {
  return file.size() >= 4 && le(file.at(0, 4), 4) == kLocalHeader;
}

ZipArchive::ZipArchive(MappedFilePtr file) : file_(std::move(file)) {
  const MappedFile& f = *file_;
  const std::string name = f.name();
  const std::uint64_t size = f.size();
  if (size < 22) fail(name, "not a zip archive (too short)");

  // The end-of-central-directory record sits in the last 22 + 65535 bytes (comment included).
  const std::uint64_t window = std::min<std::uint64_t>(size, 22 + 65535);
  const std::uint8_t* tail = f.at(size - window, window);
  std::int64_t eocd = -1;
  for (std::int64_t i = static_cast<std::int64_t>(window) - 22; i >= 0; --i) {
    if (le(tail + i, 4) == kEndOfCentralDir) {
      eocd = static_cast<std::int64_t>(size - window) + i;
      break;
    }
  }
  if (eocd < 0) fail(name, "truncated or not a zip archive (no end-of-central-directory record)");
  const Reader end(f, static_cast<std::uint64_t>(eocd), 22);
  std::uint64_t count = end.get(10, 2);
  std::uint64_t cd_size = end.get(12, 4);
  std::uint64_t cd_offset = end.get(16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20) fail(name, "corrupt ZIP64 archive (no locator)");
    const Reader locator(f, static_cast<std::uint64_t>(eocd) - 20, 20);
    if (locator.get(0, 4) != kZip64Locator) fail(name, "corrupt ZIP64 archive (bad locator)");
    const Reader end64(f, locator.get(8, 8), 56);
    if (end64.get(0, 4) != kZip64EndOfCentralDir) fail(name, "corrupt ZIP64 end record");
    count = end64.get(32, 8);
    cd_size = end64.get(40, 8);
    cd_offset = end64.get(48, 8);
  }
  if (count > kMaxMembers) fail(name, "zip archive claims " + std::to_string(count) + " members");
  const Reader cd(f, cd_offset, cd_size);  // throws when the directory lies outside the file

  std::uint64_t pos = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (cd.get(pos, 4) != kCentralHeader) fail(name, "corrupt zip central directory");
    const auto method = cd.get(pos + 10, 2);
    std::uint64_t compressed = cd.get(pos + 20, 4);
    std::uint64_t uncompressed = cd.get(pos + 24, 4);
    const auto name_len = cd.get(pos + 28, 2);
    const auto extra_len = cd.get(pos + 30, 2);
    const auto comment_len = cd.get(pos + 32, 2);
    std::uint64_t local_offset = cd.get(pos + 42, 4);
    cd.get(pos + 46 + name_len + extra_len + comment_len - 1, 1);  // whole record in range
    std::string member(reinterpret_cast<const char*>(cd.ptr(pos + 46)), name_len);

    // ZIP64 extra field: the 64-bit values, in this order, for each field saturated above.
    for (std::uint64_t e = pos + 46 + name_len; e + 4 <= pos + 46 + name_len + extra_len;) {
      const auto id = cd.get(e, 2);
      const auto len = cd.get(e + 2, 2);
      if (id == 0x0001) {
        std::uint64_t at = e + 4;
        auto take = [&](std::uint64_t& field) {
          if (field == 0xFFFFFFFF) {
            if (at + 8 > e + 4 + len) fail(name, "corrupt ZIP64 extra field");
            field = cd.get(at, 8);
            at += 8;
          }
        };
        take(uncompressed);
        take(compressed);
        take(local_offset);
      }
      e += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    if (unsafe_member_name(member))
      fail(name, "zip member \"" + member + "\" has a path outside the archive; refusing the file");
    if (method != 0)
      fail(name, "zip member \"" + member + "\" is compressed (method " + std::to_string(method) +
                     "); torch.save writes stored members only");
    if (compressed != uncompressed) fail(name, "zip member \"" + member + "\" has inconsistent sizes");
    const Reader local(f, local_offset, 30);
    if (local.get(0, 4) != kLocalHeader) fail(name, "corrupt local header for \"" + member + "\"");
    const std::uint64_t data = local_offset + 30 + local.get(26, 2) + local.get(28, 2);
    f.at(data, uncompressed);  // the member's bytes must lie inside the file
    members_.push_back({std::move(member), data, uncompressed});
  }
}

const ZipArchive::Member* ZipArchive::find(const std::string& member) const {
  for (const auto& m : members_)
    if (m.name == member) return &m;
  return nullptr;
}

}  // namespace msnlens
