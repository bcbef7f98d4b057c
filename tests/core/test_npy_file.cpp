// Maps written as .npy and CSV (common/npy_file.h), read back byte by byte: the header NumPy
// expects, exactly, and every value as it went in. No NumPy needed: the format is checked here.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "common/npy_file.h"
#include "core/support.h"

using namespace msnlens;
using namespace msntest;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Awkward values: NaN, infinities, negative zero, a subnormal, the extremes, inexact fractions.
std::vector<float> awkward(std::size_t n) {
  const std::vector<float> special = {kNaN, -kInf, kInf, -0.0f, 1e-40f, std::numeric_limits<float>::max(),
                                      std::numeric_limits<float>::lowest(), 1.0f / 3.0f, 0.1f, -2.5e-8f, 123456.789f, 1.0f};
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i < special.size() ? special[i] : std::sin(static_cast<float>(i) * 0.37f) / 7.0f;
  return v;
}

std::uint32_t bits(float f) {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

struct Npy {
  std::string magic, header;
  std::size_t data_offset = 0;
  std::vector<float> values;
};

// Splits a .npy file as NumPy reads it: magic and version, little-endian u16 header length,
// header, then little-endian float32 to the end.
Npy parse_npy(const std::string& bytes) {
  Npy npy;
  npy.magic = bytes.substr(0, 8);
  const std::size_t header_len = static_cast<std::uint8_t>(bytes[8]) | static_cast<std::size_t>(static_cast<std::uint8_t>(bytes[9])) << 8;
  npy.header = bytes.substr(10, header_len);
  npy.data_offset = 10 + header_len;
  for (std::size_t at = npy.data_offset; at + 4 <= bytes.size(); at += 4) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[at + static_cast<std::size_t>(b)])) << (8 * b);
    float f = 0;
    std::memcpy(&f, &u, sizeof f);
    npy.values.push_back(f);
  }
  EXPECT_EQ((bytes.size() - npy.data_offset) % 4, 0u) << "trailing bytes after the data";
  return npy;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

class NpyFile : public TempDirTest {};

TEST_F(NpyFile, HeaderIsNumpys) {
  // numpy.save's header for these shapes, from numpy/lib/format.py: the dict, 21 - digits of the
  // first axis spaces to grow it, spaces to align the data at 128 bytes, a newline.
  const std::vector<std::pair<std::vector<std::size_t>, std::string>> cases = {
      {{3, 4}, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"},
      {{14, 14}, "{'descr': '<f4', 'fortran_order': False, 'shape': (14, 14), }"},
      {{5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"},
      {{}, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"},
      {{2, 3, 2}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2), }"},
  };
  for (const auto& [shape, dict] : cases) {
    SCOPED_TRACE(dict);
    EXPECT_EQ(npy_header_dict(shape), dict);
    std::size_t n = 1;
    for (const std::size_t d : shape) n *= d;
    const auto path = dir_ / "a.npy";
    write_npy(path, awkward(n), shape);
    const std::string bytes = read_file(path);
    const Npy npy = parse_npy(bytes);
    EXPECT_EQ(npy.magic, std::string("\x93NUMPY\x01\x00", 8));
    ASSERT_EQ(npy.header.size(), 118u);
    EXPECT_EQ(npy.data_offset, 128u);
    EXPECT_EQ(npy.header, dict + std::string(117 - dict.size(), ' ') + "\n");
    EXPECT_EQ(bytes.size(), 128 + 4 * n);
  }
}

TEST_F(NpyFile, ValuesRoundTripBitForBit) {
  const std::vector<float> values = awkward(14 * 14);
  write_npy(dir_ / "map.npy", values, {14, 14});
  const Npy npy = parse_npy(read_file(dir_ / "map.npy"));
  ASSERT_EQ(npy.values.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(bits(npy.values[i]), bits(values[i])) << "value " << i;
  // C order, little-endian: [[0, 1, 2], [3, 4, 5]] has element [1, 0] = 3.0f (0x40400000) fourth.
  write_npy(dir_ / "order.npy", {0, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_EQ(read_file(dir_ / "order.npy").substr(128 + 3 * 4, 4), std::string("\x00\x00\x40\x40", 4));
}

TEST_F(NpyFile, CsvRowsAndValues) {
  write_csv(dir_ / "small.csv", {0.5f, kNaN, -kInf, 1e-8f, 0.1f, 3.0f}, {2, 3});
  EXPECT_EQ(read_file(dir_ / "small.csv"), "0.5,nan,-inf\n1e-08,0.1,3\n");
  // Every value reads back as the same float32, in its place.
  const std::vector<float> values = awkward(6 * 5);
  write_csv(dir_ / "map.csv", values, {6, 5});
  const std::vector<std::string> lines = split(read_file(dir_ / "map.csv"), '\n');
  ASSERT_EQ(lines.size(), 6u);
  for (std::size_t r = 0; r < lines.size(); ++r) {
    const std::vector<std::string> cells = split(lines[r], ',');
    ASSERT_EQ(cells.size(), 5u) << lines[r];
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const float want = values[r * 5 + c];
      const float got = std::strtof(cells[c].c_str(), nullptr);
      if (std::isnan(want)) EXPECT_EQ(cells[c], "nan");
      else EXPECT_EQ(bits(got), bits(want)) << "row " << r << " column " << c << ": " << cells[c];
    }
  }
}

TEST_F(NpyFile, CsvOfThreeAndOneDimensions) {
  // [h, w, c]: one line per pixel, its c values across.
  write_csv(dir_ / "rgb.csv", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3});
  EXPECT_EQ(read_file(dir_ / "rgb.csv"), "1,2,3\n4,5,6\n7,8,9\n10,11,12\n");
  write_csv(dir_ / "row.csv", {1, -2, 0.25f}, {3});
  EXPECT_EQ(read_file(dir_ / "row.csv"), "1,-2,0.25\n");
  write_csv(dir_ / "scalar.csv", {7}, {});
  EXPECT_EQ(read_file(dir_ / "scalar.csv"), "7\n");
}

TEST_F(NpyFile, ErrorsNameTheFile) {
  MSN_EXPECT_ERROR(write_npy(dir_ / "short.npy", {1, 2, 3}, {2, 2}), "short.npy", "shape holds 4 values, got 3");
  MSN_EXPECT_ERROR(write_csv(dir_ / "short.csv", {1, 2, 3, 4, 5}, {2, 2}), "short.csv", "shape holds 4 values, got 5");
  MSN_EXPECT_ERROR(write_npy(dir_ / "no-such-folder" / "map.npy", {1}, {1}), "no-such-folder/map.npy", "cannot write");
  MSN_EXPECT_ERROR(write_csv(dir_ / "no-such-folder" / "map.csv", {1}, {1}), "no-such-folder/map.csv", "cannot write");
}

}  // namespace
