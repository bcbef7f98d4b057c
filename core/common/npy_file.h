#pragma once
// Float32 arrays as files other tools read: NumPy's .npy and CSV. The app exports the maps it
// shows with them, so papers can redraw a figure from the numbers behind it.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace msnlens {

// Writes `values`, C order, with `shape` (empty: a scalar), byte for byte as numpy.save writes
// a float32 array: format 1.0, dtype '<f4', the header padded with spaces to a multiple of 64
// bytes. Throws Error naming the file when the values do not fill the shape or it cannot be
// written.
void write_npy(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape);

// The header dictionary write_npy writes for `shape`, before its padding:
// "{'descr': '<f4', 'fortran_order': False, 'shape': (14, 14), }".
std::string npy_header_dict(const std::vector<std::size_t>& shape);

// Writes `values` as CSV: the last axis across, one line per index of the axes before it in C
// order (2-D [rows, cols]: one line per row; 3-D [h, w, c]: h * w lines of c values; a scalar
// or 1-D array: one line). Values are written in their shortest form that reads back as the
// same float32, NaN as "nan", infinities as "inf" and "-inf" (numpy.loadtxt reads all three).
// Throws Error naming the file like write_npy.
void write_csv(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape);

}  // namespace msnlens
