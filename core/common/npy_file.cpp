#include "common/npy_file.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>

#include "common/error.h"

namespace msnlens {
namespace {

void check_shape(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape) {
  const std::size_t count = std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  if (count != values.size())
    fail(path.string(), "shape holds " + std::to_string(count) + " values, got " + std::to_string(values.size()));
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush())
    fail(path.string(), "cannot write");
}

}  // namespace

std::string npy_header_dict(const std::vector<std::size_t>& shape) {
  // Python's repr of a tuple: "()", "(5,)", "(3, 4)".
  std::string dims = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  dims += ")";
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + ", }";
}

void write_npy(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape) {
  check_shape(path, values, shape);
  // Padded as numpy.save pads (numpy/lib/format.py), so the bytes are the ones it writes: room
  // for the first axis to grow to 21 digits, then spaces and a newline up to a 64-byte boundary
  // (a whole 64 more when already there).
  std::string header = npy_header_dict(shape);
  if (!shape.empty()) header.append(21 - std::min<std::size_t>(21, std::to_string(shape.front()).size()), ' ');
  constexpr std::size_t kPrefix = 10;  // magic (6), version (2), header length (2)
  header.append(64 - (kPrefix + header.size() + 1) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff) fail(path.string(), "array of " + std::to_string(shape.size()) + " dimensions is beyond .npy format 1.0");
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  // Little-endian whatever the host's byte order, as '<f4' says.
  bytes.reserve(bytes.size() + values.size() * 4);
  for (const float v : values) {
    std::uint32_t u = 0;
    std::memcpy(&u, &v, sizeof u);
    for (int b = 0; b < 4; ++b) bytes += static_cast<char>((u >> (8 * b)) & 0xff);
  }
  write_bytes(path, bytes);
}

void write_csv(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape) {
  check_shape(path, values, shape);
  const std::size_t cols = shape.empty() ? 1 : shape.back();
  std::string text;
  std::array<char, 32> buffer{};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (std::isnan(v)) {
      text += "nan";
    } else if (std::isinf(v)) {
      text += v < 0 ? "-inf" : "inf";
    } else {
      // to_chars, not printf: locale-independent (the app runs under the user's LC_NUMERIC,
      // where a decimal comma would break the CSV) and the shortest exact float32 form.
      const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v).ptr;
      text.append(buffer.data(), end);
    }
    text += (i + 1) % cols == 0 ? '\n' : ',';
  }
  write_bytes(path, text);
}

}  // namespace msnlens
