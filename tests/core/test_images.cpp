// Image files as users bring them: every supported format, EXIF orientation, 16-bit and
// alpha images converted as PIL's convert("RGB") does, and corrupt, truncated, enormous or
// foreign files refused by name before anything large is allocated.

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>

#include "imaging/image_file.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;
namespace fs = std::filesystem;

namespace {

std::string encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<std::uint8_t> buf;
  cv::imencode(ext, m, buf, params);
  return {buf.begin(), buf.end()};
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// Left half red, right half blue (OpenCV stores BGR).
cv::Mat halves(int width, int height) {
  cv::Mat m(height, width, CV_8UC3, cv::Scalar(255, 0, 0));
  m(cv::Rect(0, 0, width / 2, height)).setTo(cv::Scalar(0, 0, 255));
  return m;
}

std::array<int, 3> pixel(const RgbImage& im, int x, int y) {
  const std::uint8_t* p = im.row(y) + x * 3;
  return {p[0], p[1], p[2]};
}

using Images = TempDirTest;

TEST_F(Images, EveryFormatDecodes) {
  const cv::Mat m = halves(40, 30);
  for (const auto& [ext, params] : std::vector<std::pair<std::string, std::vector<int>>>{
           {".png", {}}, {".bmp", {}}, {".tiff", {}}, {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}}, {".jpg", {cv::IMWRITE_JPEG_QUALITY, 100}}}) {
    const RgbImage im = read_image(file("halves" + ext, encode(m, ext, params)));
    ASSERT_EQ(im.width, 40) << ext;
    ASSERT_EQ(im.height, 30) << ext;
    const auto left = pixel(im, 5, 15), right = pixel(im, 35, 15);
    EXPECT_TRUE(left[0] > 240 && left[2] < 15 && right[2] > 240 && right[0] < 15) << ext;
  }
  // Grayscale is replicated into three equal channels.
  const cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(77));
  EXPECT_EQ(pixel(read_image(file("gray.png", encode(gray, ".png"))), 3, 3), (std::array<int, 3>{77, 77, 77}));
  // Alpha is dropped, not composited (PIL's RGBA -> RGB).
  const cv::Mat bgra(8, 8, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  EXPECT_EQ(pixel(read_image(file("alpha.png", encode(bgra, ".png"))), 1, 1), (std::array<int, 3>{30, 20, 10}));
}

TEST_F(Images, ExifOrientationIsApplied) {
  // Stored 64 x 32 with red on the left; EXIF orientation 6 says "rotate 90 degrees clockwise
  // to display", which puts the left edge on top.
  const std::string jpeg = encode(halves(64, 32), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100});
  const std::string tiff = std::string("MM\0*", 4) + be32(8) + std::string("\0\x01", 2) +              // one IFD entry
                           std::string("\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", 12) + be32(0);            // Orientation = 6
  const std::string app1 = std::string("Exif\0\0", 6) + tiff;
  const std::string segment = std::string("\xFF\xE1", 2) + static_cast<char>((app1.size() + 2) >> 8) +
                              static_cast<char>((app1.size() + 2) & 0xFF) + app1;
  const RgbImage im = read_image(file("rotated.jpg", jpeg.substr(0, 2) + segment + jpeg.substr(2)));
  ASSERT_EQ(im.width, 32);
  ASSERT_EQ(im.height, 64);
  const auto top = pixel(im, 16, 8), bottom = pixel(im, 16, 56);
  EXPECT_TRUE(top[0] > 240 && top[2] < 15) << "top is " << top[0] << "," << top[1] << "," << top[2];
  EXPECT_TRUE(bottom[2] > 240 && bottom[0] < 15);
}

TEST_F(Images, SixteenBitLikePil) {
  // 16-bit gray: PIL's "I;16" -> "L" saturates; 1000 becomes 255, 200 stays 200.
  cv::Mat gray(4, 4, CV_16UC1, cv::Scalar(1000));
  gray.at<std::uint16_t>(0, 0) = 200;
  const RgbImage g = read_image(file("gray16.png", encode(gray, ".png")));
  EXPECT_EQ(pixel(g, 0, 0), (std::array<int, 3>{200, 200, 200}));
  EXPECT_EQ(pixel(g, 2, 2), (std::array<int, 3>{255, 255, 255}));
  // 16-bit colour: PIL keeps each sample's high byte (0x12FF -> 0x12, never rounded up).
  const cv::Mat color(4, 4, CV_16UC3, cv::Scalar(0x12FF, 0x3400, 0xFFFF));
  EXPECT_EQ(pixel(read_image(file("rgb16.png", encode(color, ".png"))), 1, 1), (std::array<int, 3>{0xFF, 0x34, 0x12}));
}

TEST_F(Images, CorruptAndForeignFiles) {
  const std::string png = read_file(data_path("images/chelsea.png"));
  MSN_EXPECT_ERROR(read_image(file("cut.png", png.substr(0, png.size() / 3))), "cut.png", "corrupt or truncated PNG");
  std::string scrambled = png;
  for (std::size_t i = 200; i < scrambled.size(); i += 7) scrambled[i] = static_cast<char>(scrambled[i] ^ 0x5A);
  MSN_EXPECT_ERROR(read_image(file("scrambled.png", scrambled)), "scrambled.png", "PNG");
  const std::string jpeg = encode(halves(64, 64), ".jpg");
  MSN_EXPECT_ERROR(read_image(file("cut.jpg", jpeg.substr(0, jpeg.size() - 200))), "cut.jpg", "truncated JPEG");
  MSN_EXPECT_ERROR(read_image(file("notes.png", "just some text")), "notes.png", "not an image in a supported format");
  MSN_EXPECT_ERROR(read_image(file("empty.jpg", "")), "empty.jpg");
  MSN_EXPECT_ERROR(read_image(dir_.path() / "absent.png"), "absent.png", "cannot open");
  MSN_EXPECT_ERROR(read_image(dir_.path()), "is a folder");
  MSN_EXPECT_ERROR(read_image(file("gif.gif", "GIF89a\x01\x00\x01\x00")), "not an image in a supported format");
}

TEST_F(Images, EnormousHeadersRefusedBeforeDecoding) {
  // A 100000 x 100000 PNG would need 30 GB; its 33-byte header is all it takes to refuse it.
  const std::string ihdr = std::string("IHDR") + be32(100000) + be32(100000) + std::string("\x08\x02\0\0\0", 5);
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(0);
  MSN_EXPECT_ERROR(read_image(file("bomb.png", png)), "bomb.png", "claims 100000 x 100000 pixels", "limit");
  // The same from a JPEG frame header and a BMP info header.
  std::string jpeg = encode(halves(16, 16), ".jpg");
  const std::size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = jpeg[sof + 7] = '\xFF';
  jpeg[sof + 6] = jpeg[sof + 8] = '\xFF';
  MSN_EXPECT_ERROR(read_image(file("bomb.jpg", jpeg)), "bomb.jpg", "65535 x 65535");
  std::string bmp = encode(halves(16, 16), ".bmp");
  bmp.replace(18, 8, std::string("\xA0\x86\x01\0\xA0\x86\x01\0", 8));  // 100000 x 100000
  MSN_EXPECT_ERROR(read_image(file("bomb.bmp", bmp)), "bomb.bmp", "100000 x 100000");
}

}  // namespace
