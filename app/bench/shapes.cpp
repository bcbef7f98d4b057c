#include <cstdio>
#include <iostream>

#include "build_config.h"
#include "common/error.h"
#include "engine/workbench.h"
#include "front_end.h"
#include "model/random_init.h"
#include "modes.h"

namespace msnlens::bench {

using front_end::Clock;
using front_end::ms_since;

int run_flow(const Options& o) {
  const int edits = o.flow_edits;
  Workbench bench;
  WorkbenchOptions options;
  options.device = o.device;
  options.precision = o.precision;
  options.cuda_graphs = o.graphs == "on";
  const auto t0 = Clock::now();
  const ModelDescription& d = bench.load_model(o.flow_model, options);
  bench.apply_cpu_threads();
  const double load_ms = ms_since(t0);
  bench.add_image(1, flow_image());
  MapRequest request;  // the Attention tab, as the app opens
  request.heads = true;
  const auto t1 = Clock::now();
  bench.maps(1, {}, MaskMode::DropTokens, request);
  const double first_ms = ms_since(t1);
  auto timed = [&](auto&& mask_of) {
    std::vector<double> ms;
    for (int i = 0; i < edits; ++i) {
      const PatchMask mask = mask_of(i);
      const auto t = Clock::now();
      bench.maps(1, mask, MaskMode::DropTokens, request);
      ms.push_back(ms_since(t));
    }
    return summarize(ms).median_ms;
  };
  const int patches = d.grid_rows * d.grid_cols;
  // Patches toggled one after another, as the app's --benchmark-clicks does: every edit
  // changes how many tokens the model sees.
  PatchMask clicked(d.grid_rows, d.grid_cols);
  const double one_ms = timed([&](int i) {
    clicked.toggle((i * 37 + 11) % patches);
    return clicked;
  });
  const double half_ms = timed([&](int i) { return PatchMask::random(d.grid_rows, d.grid_cols, 0.5, static_cast<std::uint64_t>(i)); });
  // The other views of the unmasked image, each recomputed from the kept layer inputs.
  auto view_ms = [&](const MapRequest& r) {
    const auto t = Clock::now();
    bench.maps(1, {}, MaskMode::DropTokens, r);
    return ms_since(t);
  };
  MapRequest layer = request, overview, rollout, lens;
  layer.map.layer = 0;
  overview.overview = true;
  rollout.map.source = MapSpec::Source::Rollout;
  lens.lens = true;
  std::cout << json{{"load_ms", load_ms}, {"first_ms", first_ms}, {"edit_one_ms", one_ms}, {"edit_half_ms", half_ms},
                    {"layer_ms", view_ms(layer)}, {"overview_ms", view_ms(overview)}, {"rollout_ms", view_ms(rollout)},
                    {"lens_ms", view_ms(lens)}, {"device", d.device_name}, {"precision", d.precision}, {"patches", patches}}
                   .dump()
            << std::endl;
  return 0;
}

int run_shapes(const Options& o, const fs::path& scratch, const JsonOut& json_out) {
  const bool graphs = o.graphs == "on";
  json rows = json::array();
  std::printf("\n%-9s %-8s %7s %8s %11s %12s %9s %9s %9s %9s %9s %9s %12s %9s %7s\n", "shape", "patches", "load s", "first s",
              "edit 1 p50", "edit 50% p50", "layer", "overview", "rollout", "lens", "flow RSS", "app RSS", "app edit p50",
              "cli RSS", "cli s");
  for (const std::string& name : o.shapes) {
    const ReleasedShape& shape = released_shape(name);
    const fs::path folder = scratch / ("vit-msn-" + shape.name);
    write_random_checkpoint(shape, folder);
    json row = {{"shape", shape.name}, {"title", shape.title}, {"cuda_graphs", graphs}};
    const ChildRun flow = run_child({fs::canonical("/proc/self/exe").string(), "--flow", folder.string(), "--device", o.device,
                                     "--precision", o.precision, "--cuda-graphs", graphs ? "on" : "off", "--flow-edits",
                                     std::to_string(o.flow_edits)});
    if (flow.status != 0) fail(shape.name, "the flow failed: " + flow.out);
    row["flow"] = json::parse(flow.out.substr(flow.out.rfind('\n') + 1));
    row["flow"]["peak_rss_mb"] = flow.peak_rss_mb;
    std::string app_rss = "-", app_edit = "-", cli_rss = "-", cli_s = "-";
    if (o.gui_clicks > 0 && o.device == "cpu") {
      if (const auto app = measure_gui(folder, o.gui_clicks, scratch); app && app->run.status == 0) {
        row["app"] = {{"output", app->run.out}, {"measures", app->measures}, {"peak_rss_mb", app->run.peak_rss_mb}};
        app_rss = fmt(app->run.peak_rss_mb / 1024.0, "%.2f GB");
        if (app->measures.contains("edit_to_result_p50_ms"))
          app_edit = fmt(app->measures["edit_to_result_p50_ms"].get<double>() / 1000.0, "%.2f s");
      }
    }
    if (o.cli_rss) {
      const ChildRun infer = run_child({sibling("msnlens-cli").string(), "infer", "--model", folder.string(), "--image",
                                        (fs::path(MSNLENS_SOURCE_DIR) / "resources/images/chelsea.png").string(), "--device", o.device});
      if (infer.status == 0) {
        row["cli_infer"] = {{"peak_rss_mb", infer.peak_rss_mb}, {"seconds", infer.seconds}};
        cli_rss = fmt(infer.peak_rss_mb / 1024.0, "%.2f GB");
        cli_s = fmt(infer.seconds, "%.1f");
      }
    }
    const json& f = row["flow"];
    auto ms = [&](const char* key) { return fmt(f[key].get<double>(), "%.1f ms"); };
    std::printf("%-9s %-8d %7.2f %8.2f %11s %12s %9s %9s %9s %9s %9s %9s %12s %9s %7s\n", (shape.name + (graphs ? "+g" : "")).c_str(), f["patches"].get<int>(),
                f["load_ms"].get<double>() / 1000.0, f["first_ms"].get<double>() / 1000.0, ms("edit_one_ms").c_str(),
                ms("edit_half_ms").c_str(), ms("layer_ms").c_str(), ms("overview_ms").c_str(), ms("rollout_ms").c_str(),
                ms("lens_ms").c_str(), fmt(flow.peak_rss_mb / 1024.0, "%.2f GB").c_str(), app_rss.c_str(), app_edit.c_str(),
                cli_rss.c_str(), cli_s.c_str());
    std::fflush(stdout);
    rows.push_back(row);
  }
  json_out.write({{"device", o.device}, {"shapes", rows}});
  return 0;
}

}  // namespace msnlens::bench
