#include "train/image_dataset.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "train/idx_file.h"

namespace msnlens {

IdxImageDataset::IdxImageDataset(const std::filesystem::path& images) : images_(read_idx_images(images)) {}

at::Tensor IdxImageDataset::image(std::int64_t index) const {
  return images_[index].unsqueeze(0).to(at::kFloat).div(255.0).expand({3, -1, -1});
}

ImageFolderDataset::ImageFolderDataset(const std::filesystem::path& root, Decoder decode) : decode_(std::move(decode)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) fail(root.string(), "is not a folder");
  for (auto it = std::filesystem::recursive_directory_iterator(root, std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
      if (ext == e) files_.push_back(it->path());
  }
  std::sort(files_.begin(), files_.end());
  if (files_.empty()) fail(root.string(), "holds no images (PNG, JPEG, BMP, TIFF, WebP)");
}

}  // namespace msnlens
