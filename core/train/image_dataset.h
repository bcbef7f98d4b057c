#pragma once
// What the trainer samples from: images as float [C, H, W] in [0, 1], three channels (gray
// data is replicated, so trained models take RGB input like every ViT-MSN).

#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace msnlens {

class ImageDataset {
 public:
  virtual ~ImageDataset() = default;
  virtual std::int64_t size() const = 0;
  virtual at::Tensor image(std::int64_t index) const = 0;
};

// IDX image files (Fashion-MNIST, MNIST), kept in memory as uint8.
class IdxImageDataset : public ImageDataset {
 public:
  explicit IdxImageDataset(const std::filesystem::path& images);
  std::int64_t size() const override { return images_.size(0); }
  at::Tensor image(std::int64_t index) const override;

 private:
  at::Tensor images_;  // [N, H, W] uint8
};

// A folder of image files (recursive), decoded when sampled by `decode` (the trainer itself
// has no image codecs: the CLI passes OpenCV's, through imaging/image_file).
class ImageFolderDataset : public ImageDataset {
 public:
  using Decoder = std::function<at::Tensor(const std::filesystem::path&)>;
  ImageFolderDataset(const std::filesystem::path& root, Decoder decode);
  std::int64_t size() const override { return static_cast<std::int64_t>(files_.size()); }
  at::Tensor image(std::int64_t index) const override { return decode_(files_[static_cast<std::size_t>(index)]); }
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  std::vector<std::filesystem::path> files_;
  Decoder decode_;
};

}  // namespace msnlens
