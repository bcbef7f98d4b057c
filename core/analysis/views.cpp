#include "analysis/views.h"

namespace msnlens {

const char* to_string(MaskMode mode) {
  switch (mode) {
    case MaskMode::DropTokens: return "drop tokens (MSN)";
    case MaskMode::MaskToken: return "mask token";
    case MaskMode::FillGray: return "pixel fill: gray";
    case MaskMode::FillBlur: return "pixel fill: blur";
  }
  return "?";
}

std::optional<MaskMode> parse_mask_mode(const std::string& name) {
  if (name == "drop") return MaskMode::DropTokens;
  if (name == "token") return MaskMode::MaskToken;
  if (name == "gray") return MaskMode::FillGray;
  if (name == "blur") return MaskMode::FillBlur;
  return std::nullopt;
}

}  // namespace msnlens
