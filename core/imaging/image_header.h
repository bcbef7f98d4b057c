#pragma once
// Reads an image's format and dimensions from its first bytes, without decoding it, so that a
// file claiming 100000 x 100000 pixels is refused before anything is allocated for it.

#include <cstddef>
#include <cstdint>
#include <string>

namespace msnlens {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "TIFF", "WebP"
  std::int64_t width = 0;
  std::int64_t height = 0;
};

// Decoding stops at this many pixels (Pillow's decompression-bomb limit is 179 MP).
constexpr std::int64_t kMaxImagePixels = 178'956'970;

// Throws Error naming `where` for unknown formats and truncated or inconsistent headers.
ImageHeader read_image_header(const std::uint8_t* data, std::size_t size, const std::string& where);

// A JPEG cut short still decodes (libjpeg fills the rest with gray); a complete one has an
// end-of-image marker after its first scan. Pillow refuses truncated files, and so do we.
bool jpeg_is_complete(const std::uint8_t* data, std::size_t size);

}  // namespace msnlens
