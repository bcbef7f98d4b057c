#pragma once
// Named intervention points of the forward pass, one vocabulary (ViT-Prisma's) for reading,
// ablating, knocking out and patching. Layers count from 0:
//   blocks.L.hook_resid_pre         layer L's input x_L                           [B, T, D] float32
//   blocks.L.attn.hook_attn_scores  attention logits q·kᵀ/√d, before the softmax  [B, H, T, T] float32
//   blocks.L.attn.hook_pattern      attention probabilities, after head_mask      [B, H, T, T] float32
//   blocks.L.attn.hook_z            each head's output, before the output projection [B, H, T, d]
// A hook returns the tensor the forward goes on with: its argument to only read (cache) it,
// something else to intervene. ViTMSNModel::run takes them; every analysis that changes the
// forward (engine/interventions.h) is a few hooks on that one forward.

#include <ATen/ATen.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace msnlens {

enum class HookPoint { ResidPre, AttnScores, Pattern, HeadOutput };

struct HookName {
  std::size_t layer = 0;
  HookPoint point = HookPoint::ResidPre;

  // "blocks.3.attn.hook_pattern"
  std::string str() const;
  // The inverse of str(); Error naming the text when it is not a hook name.
  static HookName parse(const std::string& text);
  bool operator==(const HookName& o) const { return layer == o.layer && point == o.point; }
};

using HookFn = std::function<at::Tensor(const at::Tensor&)>;

class Hooks {
 public:
  Hooks& add(HookName name, HookFn fn);
  // t through every hook at that point, in the order they were added.
  at::Tensor apply(std::size_t layer, HookPoint point, at::Tensor t) const;
  bool has(std::size_t layer, HookPoint point) const;
  // Whether a hook sits inside layer `layer`'s attention (the layer then runs unfused).
  bool inside_attention(std::size_t layer) const;
  bool empty() const { return hooks_.empty(); }

 private:
  std::vector<std::pair<HookName, HookFn>> hooks_;
};

}  // namespace msnlens
