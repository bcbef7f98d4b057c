#pragma once
// Decoding image files (PNG, JPEG, BMP, TIFF, WebP) into 8-bit RGB the way the Python
// pipeline sees them: EXIF orientation applied (transformers' load_image does), then PIL's
// convert("RGB"): gray replicated, alpha dropped, palettes expanded, 16-bit RGB reduced to its
// high byte and 16-bit gray clipped to 0..255. Needs OpenCV (library msnlens_imageio).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "imaging/rgb_image.h"

namespace msnlens {

// Files above this size are refused before reading.
constexpr std::uintmax_t kMaxImageFileBytes = 512u << 20;

// Throws Error naming the file for unreadable, corrupt, unsupported or oversized images.
RgbImage read_image(const std::filesystem::path& path);
// Same for an encoded image held in memory (pasted or dragged data); `where` names it.
RgbImage decode_image(const std::vector<std::uint8_t>& bytes, const std::string& where);

// Writes `image` as PNG; Error naming the file when it cannot.
void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace msnlens
