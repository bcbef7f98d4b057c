#include "analysis/views.h"

#include <array>
#include <utility>

namespace msnlens {
namespace {

constexpr std::array<std::pair<MapSpec::Source, const char*>, 8> kSourceNames = {{
    {MapSpec::Source::Attention, "attention"},
    {MapSpec::Source::Rollout, "rollout"},
    {MapSpec::Source::GradRollout, "grad-rollout"},
    {MapSpec::Source::Chefer, "chefer"},
    {MapSpec::Source::Occlusion, "occlusion"},
    {MapSpec::Source::Similarity, "similarity"},
    {MapSpec::Source::TokenNorm, "token-norms"},
    {MapSpec::Source::Pca, "pca"},
}};

}  // namespace

const char* to_string(MapSpec::Source source) {
  for (const auto& [s, name] : kSourceNames)
    if (s == source) return name;
  return "?";
}

std::optional<MapSpec::Source> parse_map_source(const std::string& name) {
  for (const auto& [s, n] : kSourceNames)
    if (name == n) return s;
  return std::nullopt;
}

bool uses_target(MapSpec::Source source) {
  return source == MapSpec::Source::GradRollout || source == MapSpec::Source::Chefer || source == MapSpec::Source::Occlusion;
}

bool uses_query(MapSpec::Source source) {
  return source != MapSpec::Source::Occlusion && source != MapSpec::Source::TokenNorm && source != MapSpec::Source::Pca;
}

int map_channels(MapSpec::Source source) { return source == MapSpec::Source::Pca ? 3 : 1; }

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
