#pragma once
// From a path a user gives (a Hugging Face folder, a .safetensors/.bin file, sharded weights,
// an original MSN .pth.tar) to a bound model plus its preprocessing and a summary.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "imaging/preprocessor.h"
#include "model/vit_msn_model.h"

namespace msnlens {

struct ModelSummary {
  std::string path;                  // as given
  std::string format;                // "safetensors", "pytorch_model.bin", "torch.save zip (original MSN)", ...
  std::string layout;                // how tensors were named (checkpoint/key_layout.h)
  std::vector<std::string> files;    // weight files read
  std::uint64_t file_bytes = 0;
  std::string stored_dtype;          // dtype(s) of the stored weights
  std::string config_source;         // "config.json", "derived from weight shapes", "+ FILE"
  std::string preprocessor_source;   // "preprocessor_config.json" or the defaults used
  std::map<std::string, std::string> training;  // scalars saved beside original weights (epoch...)
};

struct LoadedModel {
  std::shared_ptr<ViTMSNModel> model;
  PreprocessorConfig preprocessor;
  ModelSummary summary;

  // Format, config, parameter count, heads present: what `msnlens-cli info` prints.
  nlohmann::json summary_json() const;
};

// Config fields to set or override (--config): original MSN files carry no config, and their
// head count is only guessed (64 dimensions per head) from the weights.
struct ConfigOverride {
  nlohmann::json fields = nlohmann::json::object();
  std::string source;  // names it in messages and the summary

  bool empty() const { return fields.empty(); }
  static ConfigOverride from_file(const std::filesystem::path& path);
};

// Throws Error naming the file and the problem. Without an explicit override, a file
// "<checkpoint>.config.json" beside a single-file checkpoint serves as one (how the app is
// told the head count of an original MSN file that does not use 64 dimensions per head).
LoadedModel load_model(const std::filesystem::path& path, const ConfigOverride& config_override = {});

}  // namespace msnlens
