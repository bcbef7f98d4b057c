#include "imaging/image_file.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "imaging/image_header.h"

namespace msnlens {
namespace {

// PIL's convert("RGB") for the pixel layouts OpenCV returns with IMREAD_ANYDEPTH|ANYCOLOR
// (gray or BGR, 8 or 16 bits; OpenCV has already expanded palettes and dropped alpha).
RgbImage to_rgb8(const cv::Mat& m, const std::string& where) {
  cv::Mat eight;
  if (m.depth() == CV_8U) {
    eight = m;
  } else if (m.depth() == CV_16U && m.channels() == 1) {
    m.convertTo(eight, CV_8U);  // PIL's "I;16" -> "L" saturates at 255, it does not scale
  } else if (m.depth() == CV_16U) {
    // PIL decodes 16-bit colour as 8-bit by keeping each sample's high byte.
    eight.create(m.rows, m.cols, CV_MAKETYPE(CV_8U, m.channels()));
    for (int y = 0; y < m.rows; ++y) {
      const auto* src = m.ptr<std::uint16_t>(y);
      auto* dst = eight.ptr<std::uint8_t>(y);
      for (int i = 0; i < m.cols * m.channels(); ++i) dst[i] = static_cast<std::uint8_t>(src[i] >> 8);
    }
  } else {
    fail(where, "images with floating-point or 32-bit samples are not supported");
  }
  cv::Mat rgb;
  switch (eight.channels()) {
    case 1: cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(eight, rgb, cv::COLOR_BGRA2RGB); break;
    default: fail(where, "unsupported channel count " + std::to_string(eight.channels()));
  }
  RgbImage out(rgb.cols, rgb.rows);
  for (int y = 0; y < rgb.rows; ++y) std::memcpy(out.row(y), rgb.ptr(y), static_cast<std::size_t>(rgb.cols) * 3);
  return out;
}

}  // namespace

RgbImage decode_image(const std::vector<std::uint8_t>& bytes, const std::string& where) {
  const ImageHeader header = read_image_header(bytes.data(), bytes.size(), where);
  if (header.format == "JPEG" && !jpeg_is_complete(bytes.data(), bytes.size()))
    fail(where, "truncated JPEG (no end-of-image marker)");
  cv::Mat decoded;
  try {
    // Not IMREAD_UNCHANGED: with it OpenCV would skip the EXIF orientation.
    decoded = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
                           cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  } catch (const cv::Exception& e) {
    fail(where, "cannot decode " + header.format + ": " + e.msg);
  }
  if (decoded.empty()) fail(where, "corrupt or truncated " + header.format + " image");
  return to_rgb8(decoded, where);
}

RgbImage read_image(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(where, "is a folder, not an image");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(where, "cannot open: " + ec.message());
  if (size > kMaxImageFileBytes)
    fail(where, "image file of " + std::to_string(size) + " bytes is over the " +
                    std::to_string(kMaxImageFileBytes) + "-byte limit");
  if (size > static_cast<std::uintmax_t>(std::numeric_limits<int>::max())) fail(where, "image file too large");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    fail(where, "cannot read");
  return decode_image(bytes, where);
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), bgr);
  } catch (const cv::Exception&) {
  }
  if (!ok) fail(path.string(), "could not be written as PNG");
}

}  // namespace msnlens
