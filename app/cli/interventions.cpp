#include "interventions.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "common/error.h"
#include "common/json_file.h"
#include "common/npy_file.h"

namespace msnlens {
namespace {

// "3,17,40" as numbers, each checked against [lo, hi].
std::vector<int> number_list(const std::string& text, const char* option, int lo, int hi) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    int v = 0;
    try {
      std::size_t used = 0;
      v = std::stoi(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::logic_error&) {
      fail(option, "\"" + item + "\" is not a number");
    }
    if (v < lo || v > hi) fail(option, std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    out.push_back(v);
    start = end + 1;
  }
  return out;
}

void write_table(const std::filesystem::path& path, const std::vector<float>& values, const std::vector<std::size_t>& shape) {
  const std::string ext = path.extension().string();
  if (ext == ".npy") return write_npy(path, values, shape);
  if (ext == ".csv") return write_csv(path, values, shape);
  fail(path.string(), "write .npy or .csv");
}

std::string numbers(const std::vector<double>& v) {
  std::string out;
  char item[32];
  for (const double x : v) std::snprintf(item, sizeof item, "%s%.3f", out.empty() ? "" : " ", x), out += item;
  return out;
}

}  // namespace

bool is_intervention(const std::string& method) { return method == "head-ablation" || method == "knockout" || method == "patching"; }

void explain_intervention(Workbench& bench, const ExplainArgs& a, ImageId id, const PatchMask& mask, const ExplainTarget& target,
                          const std::filesystem::path& out, const std::string& name) {
  const ModelDescription& d = bench.model();
  const auto layers = static_cast<std::size_t>(d.layers);
  if (a.method == "head-ablation") {
    const HeadAblation h = bench.head_ablation(id, mask, target);
    write_table(out, h.delta, {layers, static_cast<std::size_t>(d.heads)});
    std::cout << name << ": head ablation, " << ablation_caption(h) << " -> " << out.string() << "\n";
  } else if (a.method == "patching") {
    if (!mask.any()) fail("--method patching", "needs --mask: it patches the masked view from the unmasked one");
    const Patching p = bench.patching(id, mask, target);
    write_table(out, p.restoration, {layers, static_cast<std::size_t>(d.grid_rows), static_cast<std::size_t>(d.grid_cols)});
    std::printf("%s: patching, y clean %.4f, masked %.4f -> %s\n  every token, by layer: %s\n  CLS token, by layer: %s\n", name.c_str(),
                p.clean_score, p.masked_score, out.string().c_str(), numbers(p.all).c_str(), numbers(p.cls).c_str());
  } else {
    KnockoutRequest r;
    if (a.knockout.empty()) fail("--method knockout", "needs --knockout \"p,q,...\": the patches to hide");
    r.patches = number_list(a.knockout, "--knockout", 0, d.grid_rows * d.grid_cols - 1);
    if (!a.knockout_layers.empty())
      for (const int l : number_list(a.knockout_layers, "--knockout-layers", 1, d.layers)) r.layers.push_back(l - 1);
    r.every_query = a.every_query;
    const KnockoutEffect k = bench.knockout(id, mask, r, target);
    if (out.extension() != ".json") fail(out.string(), "knockout writes its effect as .json");
    write_json_file(out, {{"input", name},
                          {"patches", r.patches},
                          {"layers", r.layers.empty() ? nlohmann::json("all") : nlohmann::json(a.knockout_layers)},
                          {"every_query", r.every_query},
                          {"score", k.score},
                          {"knocked_score", k.knocked_score},
                          {"cls_cosine", k.cls_cosine}});
    std::cout << name << ": knockout of " << r.patches.size() << " patches from " << (r.every_query ? "every query" : "the CLS token")
              << ", " << knockout_caption(k) << " -> " << out.string() << "\n";
  }
}

}  // namespace msnlens
