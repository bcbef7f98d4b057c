#include "imaging/image_header.h"

#include <cstring>

#include "common/error.h"

namespace msnlens {
namespace {

class Bytes {
 public:
  Bytes(const std::uint8_t* d, std::size_t n, const std::string& where) : d_(d), n_(n), where_(where) {}
  std::uint32_t be(std::size_t at, int bytes) const { return read(at, bytes, true); }
  std::uint32_t le(std::size_t at, int bytes) const { return read(at, bytes, false); }
  bool has(std::size_t at, std::size_t len) const { return at <= n_ && len <= n_ - at; }
  bool match(std::size_t at, const char* s) const {
    const std::size_t len = std::strlen(s);
    return has(at, len) && std::memcmp(d_ + at, s, len) == 0;
  }
  std::size_t size() const { return n_; }

 private:
  std::uint32_t read(std::size_t at, int bytes, bool big) const {
    if (!has(at, static_cast<std::size_t>(bytes))) fail(where_, "truncated image header");
    std::uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      const std::uint32_t b = d_[at + static_cast<std::size_t>(big ? i : bytes - 1 - i)];
      v = (v << 8) | b;
    }
    return v;
  }
  const std::uint8_t* d_;
  std::size_t n_;
  const std::string& where_;
};

ImageHeader jpeg(const Bytes& b, const std::string& where) {
  std::size_t pos = 2;
  while (b.has(pos, 4)) {
    if (b.be(pos, 1) != 0xFF) fail(where, "corrupt JPEG marker stream");
    const std::uint32_t marker = b.be(pos + 1, 1);
    if (marker == 0xFF) { ++pos; continue; }  // fill byte
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { pos += 2; continue; }
    const std::uint32_t len = b.be(pos + 2, 2);
    if (len < 2) fail(where, "corrupt JPEG segment length");
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) return {"JPEG", b.be(pos + 7, 2), b.be(pos + 5, 2)};
    pos += 2 + len;
  }
  fail(where, "truncated JPEG: no frame header");
}

ImageHeader tiff(const Bytes& b, const std::string& where) {
  const bool little = b.match(0, "II");
  auto u16 = [&](std::size_t at) { return little ? b.le(at, 2) : b.be(at, 2); };
  auto u32 = [&](std::size_t at) { return little ? b.le(at, 4) : b.be(at, 4); };
  const std::size_t ifd = u32(4);
  const std::uint32_t entries = u16(ifd);
  ImageHeader h{"TIFF", 0, 0};
  for (std::uint32_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * static_cast<std::size_t>(i);
    const std::uint32_t tag = u16(e), type = u16(e + 2);
    const std::int64_t value = type == 3 ? u16(e + 8) : u32(e + 8);  // SHORT or LONG
    if (tag == 256) h.width = value;
    if (tag == 257) h.height = value;
  }
  if (h.width == 0 || h.height == 0) fail(where, "TIFF without image dimensions");
  return h;
}

ImageHeader webp(const Bytes& b, const std::string& where) {
  if (b.match(12, "VP8X")) return {"WebP", 1 + static_cast<std::int64_t>(b.le(24, 3)), 1 + static_cast<std::int64_t>(b.le(27, 3))};
  if (b.match(12, "VP8L")) {
    const std::uint32_t bits = b.le(21, 4);
    return {"WebP", 1 + static_cast<std::int64_t>(bits & 0x3FFF), 1 + static_cast<std::int64_t>((bits >> 14) & 0x3FFF)};
  }
  if (b.match(12, "VP8 ")) return {"WebP", b.le(26, 2) & 0x3FFF, b.le(28, 2) & 0x3FFF};
  fail(where, "unknown WebP variant");
}

// Offset of the first start-of-scan segment's data, or 0.
std::size_t jpeg_scan_start(const Bytes& b) {
  std::size_t pos = 2;
  while (b.has(pos, 4)) {
    if (b.be(pos, 1) != 0xFF) return 0;
    const std::uint32_t marker = b.be(pos + 1, 1);
    if (marker == 0xFF) { ++pos; continue; }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { pos += 2; continue; }
    const std::uint32_t len = b.be(pos + 2, 2);
    if (marker == 0xDA) return pos + 2 + len;
    if (len < 2) return 0;
    pos += 2 + len;
  }
  return 0;
}

}  // namespace

bool jpeg_is_complete(const std::uint8_t* data, std::size_t size) {
  const std::string where = "jpeg";
  const std::size_t scan = jpeg_scan_start(Bytes(data, size, where));
  if (scan == 0 || scan >= size) return false;
  // Entropy-coded data escapes 0xFF as FF 00, so FF D9 there can only be the end marker.
  for (std::size_t i = scan; i + 1 < size; ++i)
    if (data[i] == 0xFF && data[i + 1] == 0xD9) return true;
  return false;
}

ImageHeader read_image_header(const std::uint8_t* data, std::size_t size, const std::string& where) {
  const Bytes b(data, size, where);
  ImageHeader h;
  if (b.match(0, "\x89PNG\r\n\x1a\n")) {
    if (!b.match(12, "IHDR")) fail(where, "corrupt PNG: first chunk is not IHDR");
    h = {"PNG", b.be(16, 4), b.be(20, 4)};
  } else if (b.has(0, 3) && b.be(0, 2) == 0xFFD8 && b.be(2, 1) == 0xFF) {
    h = jpeg(b, where);
  } else if (b.match(0, "BM")) {
    const std::uint32_t info = b.le(14, 4);
    if (info == 12) {
      h = {"BMP", b.le(18, 2), b.le(20, 2)};
    } else {
      const auto w = static_cast<std::int32_t>(b.le(18, 4)), ht = static_cast<std::int32_t>(b.le(22, 4));
      h = {"BMP", w, ht < 0 ? -static_cast<std::int64_t>(ht) : ht};  // negative height: top-down rows
    }
  } else if (b.match(0, "II*") || (b.has(0, 4) && std::memcmp(data, "MM\0*", 4) == 0)) {
    h = tiff(b, where);
  } else if (b.match(0, "RIFF") && b.match(8, "WEBP")) {
    h = webp(b, where);
  } else {
    fail(where, "not an image in a supported format (PNG, JPEG, BMP, TIFF, WebP)");
  }
  if (h.width <= 0 || h.height <= 0) fail(where, h.format + " header gives an empty image");
  if (h.width > kMaxImagePixels / h.height)
    fail(where, h.format + " header claims " + std::to_string(h.width) + " x " + std::to_string(h.height) +
                    " pixels, more than the " + std::to_string(kMaxImagePixels) + "-pixel limit");
  return h;
}

}  // namespace msnlens
