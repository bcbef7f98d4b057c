#pragma once
// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed: a magic number
// giving the element type and rank, the dimensions, then the raw bytes. Every size is checked
// against the data actually present.

#include <ATen/ATen.h>

#include <filesystem>

namespace msnlens {

// uint8 images as [N, H, W]; throws Error naming the file for anything else.
at::Tensor read_idx_images(const std::filesystem::path& path);
// uint8 labels as int64 [N].
at::Tensor read_idx_labels(const std::filesystem::path& path);

// Files larger than this (after decompression) are refused.
constexpr std::uint64_t kMaxIdxBytes = 1ull << 31;

}  // namespace msnlens
