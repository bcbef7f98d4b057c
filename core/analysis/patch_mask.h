#pragma once
// Which patches of the model's input grid are masked, and the ways to choose them: by hand,
// at random (ratio + seed), focal (keep one block, as MSN's focal views), inverted, or by the
// attention a map gives each patch. Converts to what the engine takes: the patches kept
// (MSN token dropping) or a boolean mask (mask token).

#include <cstdint>
#include <string>
#include <vector>

namespace msnlens {

class PatchMask {
 public:
  PatchMask() = default;
  PatchMask(int rows, int cols) : rows_(rows), cols_(cols), masked_(static_cast<std::size_t>(rows) * cols, 0) {}

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int size() const { return rows_ * cols_; }
  bool masked(int patch) const { return masked_[static_cast<std::size_t>(patch)] != 0; }
  void set(int patch, bool masked) { masked_[static_cast<std::size_t>(patch)] = masked ? 1 : 0; }
  void toggle(int patch) { set(patch, !masked(patch)); }
  void clear();
  void invert();
  int count() const;
  double ratio() const { return size() == 0 ? 0.0 : static_cast<double>(count()) / size(); }
  bool any() const { return count() > 0; }

  // Patch indices left visible, ascending (MSN's keep_patches).
  std::vector<std::int64_t> kept() const;
  // 1 where masked, per patch (transformers' bool_masked_pos).
  const std::vector<std::uint8_t>& flags() const { return masked_; }

  // round(ratio * patches) patches chosen uniformly at random; the same seed gives the same mask.
  static PatchMask random(int rows, int cols, double ratio, std::uint64_t seed);
  // Everything masked but one block of about (1 - ratio) of the patches, at a position chosen
  // by `seed` (a seeded random top-left, as MSN's focal crops are random).
  static PatchMask focal(int rows, int cols, double ratio, std::uint64_t seed);
  // The `ratio` of patches with the highest (most_attended) or lowest scores masked.
  static PatchMask by_score(int rows, int cols, const std::vector<float>& scores, double ratio, bool most_attended);
  // The command lines' --mask: "3,17,40" (patch indices), "random:RATIO[:SEED]" or
  // "focal:RATIO[:SEED]"; Error naming --mask otherwise.
  static PatchMask parse(const std::string& spec, int rows, int cols);

  bool operator==(const PatchMask& o) const { return rows_ == o.rows_ && cols_ == o.cols_ && masked_ == o.masked_; }

 private:
  int rows_ = 0, cols_ = 0;
  std::vector<std::uint8_t> masked_;
};

}  // namespace msnlens
