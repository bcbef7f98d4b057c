#include "engine/mask_sweep.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>
#include <map>

namespace msnlens {

std::vector<SweepPoint> run_mask_sweep(const InferenceSession& session, const at::Tensor& pixel_values,
                                       const SweepRequest& request, const SweepProgress& progress) {
  c10::InferenceMode guard;
  const ViTMSNConfig& config = session.model().config();
  const int rows = static_cast<int>(pixel_values.size(2) / config.patch_size);
  const int cols = static_cast<int>(pixel_values.size(3) / config.patch_size);
  const bool interpolate = pixel_values.size(2) != config.image_size || pixel_values.size(3) != config.image_size;

  ForwardOptions options;
  options.output_attentions = false;
  options.output_hidden_states = false;
  options.interpolate_pos_encoding = interpolate;
  const ModelOutput base = session.forward(pixel_values, options);
  auto decision = [&](const ModelOutput& o) -> at::Tensor {
    if (o.logits.defined()) return o.logits.argmax(-1);
    if (o.prototype_probs.defined()) return o.prototype_probs.argmax(-1);
    return {};
  };
  const at::Tensor base_cls = base.cls_embedding();
  at::Tensor base_top1 = decision(base);
  if (base_top1.defined()) base_top1 = base_top1.to(at::kCPU);

  // Masks keeping the same number of patches run together (keep_patches is rectangular).
  const std::vector<SweepJob> jobs = sweep_jobs(request, rows, cols);
  std::map<int, std::vector<std::size_t>> by_kept;
  for (std::size_t i = 0; i < jobs.size(); ++i) by_kept[jobs[i].mask.size() - jobs[i].mask.count()].push_back(i);
  std::vector<double> cosine(jobs.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<double> agree(jobs.size(), std::numeric_limits<double>::quiet_NaN());
  // Fewer masks per forward for long sequences (ViT-B/4: 3137 tokens), so a batch's
  // activations stay about what eight ViT-S/16 views take.
  constexpr int kBatchTokens = 8 * 197;
  const int batch_size = std::max(1, std::min(request.batch, kBatchTokens / static_cast<int>(rows * cols + 1)));
  const int total = static_cast<int>(jobs.size());
  int done = 0;
  bool cancelled = false;
  for (const auto& [kept, indices] : by_kept) {
    for (std::size_t start = 0; start < indices.size() && !cancelled; start += static_cast<std::size_t>(batch_size)) {
      const std::size_t end = std::min(indices.size(), start + static_cast<std::size_t>(batch_size));
      const auto n = static_cast<std::int64_t>(end - start);
      at::Tensor keep = at::empty({n, kept}, at::kLong);
      for (std::size_t j = start; j < end; ++j) {
        const auto k = jobs[indices[j]].mask.kept();
        std::copy(k.begin(), k.end(), keep[static_cast<std::int64_t>(j - start)].data_ptr<std::int64_t>());
      }
      options.keep_patches = keep;
      const ModelOutput out = session.forward(pixel_values.expand({n, -1, -1, -1}), options);
      const at::Tensor cos = at::cosine_similarity(out.cls_embedding(), base_cls.expand_as(out.cls_embedding()), 1).to(at::kCPU, at::kDouble);
      at::Tensor top1 = decision(out);
      if (top1.defined()) top1 = top1.to(at::kCPU);
      for (std::size_t j = start; j < end; ++j) {
        const auto row = static_cast<std::int64_t>(j - start);
        cosine[indices[j]] = cos[row].item<double>();
        if (top1.defined()) agree[indices[j]] = top1[row].item<std::int64_t>() == base_top1[0].item<std::int64_t>() ? 1.0 : 0.0;
      }
      done += static_cast<int>(n);
      if (progress && !progress(done, total)) cancelled = true;
    }
  }

  // Average over seeds; points in request order (jobs are generated in it), cancelled ones left out.
  std::vector<SweepPoint> points;
  int seeds = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (std::isnan(cosine[i])) continue;
    if (points.empty() || points.back().strategy != jobs[i].strategy || points.back().ratio != jobs[i].ratio) {
      if (!points.empty()) points.back().cosine_mean /= seeds, points.back().top1_agreement /= seeds;
      points.push_back({jobs[i].strategy, jobs[i].ratio, 0.0, 1.0, 0.0});
      seeds = 0;
    }
    SweepPoint& p = points.back();
    p.cosine_mean += cosine[i];
    p.cosine_min = std::min(p.cosine_min, cosine[i]);
    p.top1_agreement += agree[i];
    ++seeds;
  }
  if (!points.empty()) points.back().cosine_mean /= seeds, points.back().top1_agreement /= seeds;
  return points;
}

}  // namespace msnlens
