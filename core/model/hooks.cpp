#include "model/hooks.h"

#include <array>

#include "common/error.h"

namespace msnlens {
namespace {

constexpr std::array<std::pair<HookPoint, const char*>, 4> kSuffixes = {{{HookPoint::ResidPre, "hook_resid_pre"},
                                                                         {HookPoint::AttnScores, "attn.hook_attn_scores"},
                                                                         {HookPoint::Pattern, "attn.hook_pattern"},
                                                                         {HookPoint::HeadOutput, "attn.hook_z"}}};

}  // namespace

std::string HookName::str() const {
  for (const auto& [p, suffix] : kSuffixes)
    if (p == point) return "blocks." + std::to_string(layer) + "." + suffix;
  return {};
}

HookName HookName::parse(const std::string& text) {
  const std::string prefix = "blocks.";
  const std::size_t dot = text.find('.', prefix.size());
  if (text.rfind(prefix, 0) == 0 && dot != std::string::npos && dot > prefix.size()) {
    const std::string number = text.substr(prefix.size(), dot - prefix.size()), rest = text.substr(dot + 1);
    if (number.find_first_not_of("0123456789") == std::string::npos && number.size() < 6)
      for (const auto& [p, suffix] : kSuffixes)
        if (rest == suffix) return {static_cast<std::size_t>(std::stoul(number)), p};
  }
  fail("hook \"" + text + "\"", "is not a hook point; expected blocks.N.hook_resid_pre, blocks.N.attn.hook_attn_scores, "
                                "blocks.N.attn.hook_pattern or blocks.N.attn.hook_z");
}

Hooks& Hooks::add(HookName name, HookFn fn) {
  hooks_.emplace_back(name, std::move(fn));
  return *this;
}

at::Tensor Hooks::apply(std::size_t layer, HookPoint point, at::Tensor t) const {
  for (const auto& [name, fn] : hooks_)
    if (name.layer == layer && name.point == point) t = fn(t);
  return t;
}

bool Hooks::has(std::size_t layer, HookPoint point) const {
  for (const auto& entry : hooks_)
    if (entry.first.layer == layer && entry.first.point == point) return true;
  return false;
}

bool Hooks::inside_attention(std::size_t layer) const {
  return has(layer, HookPoint::AttnScores) || has(layer, HookPoint::Pattern) || has(layer, HookPoint::HeadOutput);
}

}  // namespace msnlens
