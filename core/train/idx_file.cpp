#include "train/idx_file.h"

#include <zlib.h>

#include <vector>

#include "common/error.h"

namespace msnlens {
namespace {

// Whole file, decompressed when it is gzip (zlib reads plain files through the same call).
std::vector<std::uint8_t> read_all(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) fail(path.string(), "cannot open");
  std::vector<std::uint8_t> data;
  std::uint8_t buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) {
    if (data.size() + static_cast<std::size_t>(n) > kMaxIdxBytes) {
      gzclose(f);
      fail(path.string(), "larger than " + std::to_string(kMaxIdxBytes) + " bytes");
    }
    data.insert(data.end(), buf, buf + n);
  }
  int err = 0;
  const char* message = gzerror(f, &err);
  const std::string what = message ? message : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) fail(path.string(), "corrupt or truncated: " + what);
  return data;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

at::Tensor read_idx(const std::filesystem::path& path, int rank) {
  const std::vector<std::uint8_t> data = read_all(path);
  const std::string where = path.string();
  if (data.size() < 4 || data[0] != 0 || data[1] != 0) fail(where, "not an IDX file (bad magic number)");
  if (data[2] != 0x08) fail(where, "IDX element type " + std::to_string(data[2]) + " is not unsigned bytes");
  if (data[3] != rank) fail(where, "IDX file has " + std::to_string(data[3]) + " dimensions, expected " + std::to_string(rank));
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (data.size() < header) fail(where, "truncated IDX header");
  std::vector<std::int64_t> shape;
  std::uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const std::uint32_t d = be32(data.data() + 4 + 4 * i);
    if (d == 0) fail(where, "IDX dimension of size 0");
    count *= d;
    if (count > kMaxIdxBytes) fail(where, "IDX dimensions claim more than " + std::to_string(kMaxIdxBytes) + " bytes");
    shape.push_back(d);
  }
  if (data.size() - header != count)
    fail(where, "IDX dimensions need " + std::to_string(count) + " bytes of data, the file has " +
                    std::to_string(data.size() - header));
  at::Tensor t = at::empty(shape, at::kByte);
  std::memcpy(t.data_ptr(), data.data() + header, count);
  return t;
}

}  // namespace

at::Tensor read_idx_images(const std::filesystem::path& path) { return read_idx(path, 3); }

at::Tensor read_idx_labels(const std::filesystem::path& path) { return read_idx(path, 1).to(at::kLong); }

}  // namespace msnlens
