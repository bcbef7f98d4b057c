#include "engine/faithfulness.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "engine/explanations.h"
#include "engine/map_ops.h"

namespace msnlens {

namespace {

// One variant: the patches it keeps, and where its p_t goes.
struct Row {
  std::vector<std::int64_t> kept;  // ascending
  double* out = nullptr;
};

std::vector<std::int64_t> sorted(std::vector<int>::const_iterator first, std::vector<int>::const_iterator last) {
  std::vector<std::int64_t> out(first, last);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Faithfulness faithfulness(const InferenceSession& session, const at::Tensor& pixels, const std::vector<int>& seen,
                          const std::vector<float>& map, const ExplainTarget& target, const LinearHead& few_shot,
                          const FaithfulnessOptions& options, const Progress& progress,
                          const std::vector<FaithfulnessCurve>* random) {
  if (options.steps < 1) fail("faithfulness", "needs at least one step");
  if (options.random_orders < 0) fail("faithfulness", "the number of random orders cannot be negative");
  const ViTMSNModel& model = session.model();
  const std::int64_t patches = static_cast<std::int64_t>(model.config().grid_size() * model.config().grid_size());
  if (static_cast<std::int64_t>(map.size()) != patches) fail("faithfulness", "the map does not cover the model's " + std::to_string(patches) + " patches");
  const int n = static_cast<int>(seen.size()), s = options.steps;
  Faithfulness out;
  out.target = target;
  std::vector<int> k(static_cast<std::size_t>(s) + 1);
  for (int i = 0; i <= s; ++i) {
    k[static_cast<std::size_t>(i)] = static_cast<int>(std::floor(static_cast<double>(i) * n / s + 0.5));
    out.fractions.push_back(n > 0 ? static_cast<double>(k[static_cast<std::size_t>(i)]) / n : 0.0);
  }
  const bool reuse = random != nullptr && random->size() == static_cast<std::size_t>(options.random_orders);
  out.random = reuse ? *random : std::vector<FaithfulnessCurve>(static_cast<std::size_t>(options.random_orders));
  std::vector<Row> rows;
  auto add_curves = [&](const std::vector<int>& order, FaithfulnessCurve& curve) {
    curve.deletion.assign(k.size(), 0.0);
    curve.insertion.assign(k.size(), 0.0);
    for (std::size_t i = 0; i < k.size(); ++i) {
      const auto cut = order.begin() + k[i];
      rows.push_back({sorted(cut, order.end()), &curve.deletion[i]});
      rows.push_back({sorted(order.begin(), cut), &curve.insertion[i]});
    }
  };
  add_curves(rank_by_map(map, seen), out.map);
  for (int r = 0; r < options.random_orders && !reuse; ++r) {
    std::vector<int> order;
    for (const int i : random_order(n, options.seed + static_cast<std::uint64_t>(r))) order.push_back(seen[static_cast<std::size_t>(i)]);
    add_curves(order, out.random[static_cast<std::size_t>(r)]);
  }

  // Rows that keep as many tokens run together, at most ~32k tokens a batch.
  // Every order shares its ends (the whole view, the CLS token alone) and orders can meet
  // elsewhere: each distinct set of kept patches runs once.
  std::map<std::vector<std::int64_t>, std::vector<double*>> distinct;
  for (const Row& row : rows) distinct[row.kept].push_back(row.out);
  std::map<std::size_t, std::vector<const std::pair<const std::vector<std::int64_t>, std::vector<double*>>*>> by_length;
  for (const auto& entry : distinct) by_length[entry.first.size()].push_back(&entry);
  c10::InferenceMode guard;
  ForwardOptions o;
  o.output_attentions = false;
  o.output_hidden_states = false;
  const at::Tensor on_device = pixels.to(model.device(), at::kFloat);
  int done = 0;
  for (const auto& [length, group] : by_length) {
    const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(group.size(), 32768 / (length + 1)));
    for (std::size_t first = 0; first < group.size(); first += batch) {
      const std::size_t count = std::min(batch, group.size() - first);
      std::vector<std::int64_t> kept;
      for (std::size_t r = 0; r < count; ++r) kept.insert(kept.end(), group[first + r]->first.begin(), group[first + r]->first.end());
      o.keep_patches = at::tensor(kept, at::kLong).view({static_cast<std::int64_t>(count), static_cast<std::int64_t>(length)});
      const ModelOutput result = session.forward(on_device.expand({static_cast<std::int64_t>(count), -1, -1, -1}), o);
      const at::Tensor p = target_probabilities(model, result.cls_embedding(), target, few_shot).cpu();
      for (std::size_t r = 0; r < count; ++r)
        for (double* slot : group[first + r]->second) *slot = p[static_cast<std::int64_t>(r)].item<double>();
      done += static_cast<int>(count);
      if (progress && !progress(done, static_cast<int>(distinct.size()))) fail("faithfulness", "stopped");
    }
  }
  auto finish = [&](FaithfulnessCurve& c) {
    c.deletion_auc = trapezoid_auc(out.fractions, c.deletion);
    c.insertion_auc = trapezoid_auc(out.fractions, c.insertion);
  };
  finish(out.map);
  for (FaithfulnessCurve& c : out.random) {
    if (!reuse) finish(c);
    out.random_deletion_auc += c.deletion_auc / static_cast<double>(out.random.size());
    out.random_insertion_auc += c.insertion_auc / static_cast<double>(out.random.size());
  }
  return out;
}

}  // namespace msnlens
