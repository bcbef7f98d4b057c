#include "engine/model_loader.h"

#include <cstring>
#include <set>

#include "checkpoint/key_layout.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/torch_zip.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/system_memory.h"
#include "model/config_from_weights.h"

namespace msnlens {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RawWeights {
  TensorMap tensors;
  std::map<std::string, std::string> scalars;
  std::string format;
  std::vector<fs::path> files;
};

bool is_safetensors(const MappedFile& f) {
  return f.size() >= 9 && f.at(8, 1)[0] == '{';
}

void merge(RawWeights& into, TensorMap tensors, const fs::path& file) {
  for (auto& [k, v] : tensors)
    if (!into.tensors.emplace(k, std::move(v)).second) fail(file.string(), "tensor \"" + k + "\" appears in two shards");
  into.files.push_back(file);
}

RawWeights read_weight_file(const fs::path& file) {
  RawWeights raw;
  if (is_safetensors(*MappedFile::open(file))) {
    merge(raw, read_safetensors(file).tensors, file);
    raw.format = "safetensors";
  } else {  // torch.save zip; read_torch_zip explains what anything else is
    PickleContents pickle = read_torch_zip(file);
    raw.scalars = std::move(pickle.scalars);
    merge(raw, std::move(pickle.tensors), file);
    raw.format = "torch.save zip";
  }
  return raw;
}

// model.safetensors.index.json / pytorch_model.bin.index.json: {"weight_map": {name: shard}}.
RawWeights read_sharded(const fs::path& index) {
  const json j = read_json_file(index);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail(index.string(), "index has no weight_map object");
  std::set<std::string> shards;
  for (const auto& [name, shard] : j["weight_map"].items()) {
    if (!shard.is_string()) fail(index.string(), "weight_map entry \"" + name + "\" is not a file name");
    const std::string s = shard.get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "..")
      fail(index.string(), "shard \"" + s + "\" is not a file beside the index");
    shards.insert(s);
  }
  RawWeights all;
  for (const auto& s : shards) {
    RawWeights part = read_weight_file(index.parent_path() / s);
    merge(all, std::move(part.tensors), index.parent_path() / s);
    all.format = part.format + " (" + std::to_string(shards.size()) + " shards)";
  }
  return all;
}

fs::path find_weights(const fs::path& dir) {
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"})
    if (fs::is_regular_file(dir / name)) return dir / name;
  std::vector<fs::path> candidates;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    for (const char* ext : {".pth.tar", ".pth", ".pt", ".ckpt", ".safetensors", ".bin"})
      if (e.is_regular_file() && n.size() > std::strlen(ext) && n.compare(n.size() - std::strlen(ext), std::string::npos, ext) == 0) {
        candidates.push_back(e.path());
        break;
      }
  }
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty())
    fail(dir.string(), "no weights found (looked for model.safetensors, pytorch_model.bin, *.pth.tar)");
  fail(dir.string(), "several weight files; pass one of them as --model");
}

// The dtypes weights are stored in (BatchNorm's integer step counter aside).
std::string stored_dtypes(const TensorMap& weights) {
  std::set<std::string> names;
  for (const auto& [k, t] : weights)
    if (t.is_floating_point()) names.insert(dtype_name(t.scalar_type()));
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

ConfigOverride ConfigOverride::from_file(const fs::path& path) {
  ConfigOverride o{read_json_file(path), path.string()};
  if (!o.fields.is_object()) fail(path.string(), "config is not a JSON object");
  return o;
}

LoadedModel load_model(const fs::path& path, const ConfigOverride& explicit_override) {
  const std::string where = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(where, "no such file or folder");
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path weights_path = is_dir ? find_weights(path) : path;
  const fs::path sidecar = weights_path.string() + ".config.json";
  const ConfigOverride config_override =
      explicit_override.empty() && fs::is_regular_file(sidecar, ec) ? ConfigOverride::from_file(sidecar) : explicit_override;
  const fs::path dir = weights_path.parent_path();
  RawWeights raw = weights_path.extension() == ".json" ? read_sharded(weights_path) : read_weight_file(weights_path);

  const CanonicalWeights weights = to_canonical_names(raw.tensors, weights_path.string());
  // The model keeps float32 copies of its weights; refuse up front what cannot fit.
  std::uint64_t needed = 0;
  for (const auto& [name, t] : weights.tensors) needed += static_cast<std::uint64_t>(t.numel()) * 4;
  if (const auto available = available_memory_bytes(); available && needed > *available)
    fail(weights_path.string(), "needs " + std::to_string(needed >> 20) + " MiB of memory for its weights, but only " +
                                    std::to_string(*available >> 20) + " MiB are available");
  const bool original = weights.layout.rfind("original", 0) == 0;

  LoadedModel out;
  ModelSummary& s = out.summary;
  s.path = where;
  s.layout = weights.layout;
  s.format = raw.format + (original ? " (original MSN)" : "");
  for (const auto& f : raw.files) {
    s.files.push_back(f.string());
    s.file_bytes += fs::file_size(f, ec);
  }
  s.stored_dtype = stored_dtypes(weights.tensors);
  if (original)
    for (const auto& key : {"epoch", "lr", "batch_size", "world_size", "loss", "temperature"})
      if (raw.scalars.count(key)) s.training[key] = raw.scalars[key];

  // Folder configs describe transformers-format weights; original files carry none.
  const json& fields = config_override.fields;
  ViTMSNConfig config;
  const fs::path config_json = dir / "config.json";
  std::string config_where = weights_path.string();
  if (!original && fs::is_regular_file(config_json)) {
    config.update(read_json_file(config_json), config_json.string());
    s.config_source = "config.json";
    config_where = config_json.string();
  } else {
    const std::int64_t heads = fields.contains("num_attention_heads") && fields["num_attention_heads"].is_number_integer()
                                   ? fields["num_attention_heads"].get<std::int64_t>()
                                   : 0;
    config = config_from_weights(weights.tensors, weights_path.string(), heads);
    s.config_source = "derived from weight shapes";
  }
  if (!config_override.empty()) {
    config.update(fields, config_override.source);
    s.config_source += " + " + config_override.source;
    config_where = config_override.source;
  }
  config.validate(config_where);

  out.model = std::make_shared<ViTMSNModel>(config, weights.tensors, weights_path.string());

  out.preprocessor = PreprocessorConfig::imagenet(static_cast<int>(config.image_size));
  const fs::path pre_json = dir / "preprocessor_config.json";
  if (!original && fs::is_regular_file(pre_json)) {
    out.preprocessor = PreprocessorConfig();  // ViTImageProcessor's own defaults under the file
    out.preprocessor.update(read_json_file(pre_json), pre_json.string());
    s.preprocessor_source = "preprocessor_config.json";
  } else {
    s.preprocessor_source = "defaults: ImageNet mean/std, bilinear resize to " +
                            std::to_string(config.image_size) + "x" + std::to_string(config.image_size);
  }
  return out;
}

json LoadedModel::summary_json() const {
  const ViTMSNConfig& c = model->config();
  json j = {{"path", summary.path},
            {"format", summary.format},
            {"layout", summary.layout},
            {"files", summary.files},
            {"file_bytes", summary.file_bytes},
            {"stored_dtype", summary.stored_dtype},
            {"config_source", summary.config_source},
            {"config", c.to_json()},
            {"preprocessor_source", summary.preprocessor_source},
            {"preprocessor", preprocessor.to_json()},
            {"parameters", model->num_parameters()},
            {"has_classifier", model->has_classifier()},
            {"num_labels", model->num_labels()},
            {"has_mask_token", model->has_mask_token()},
            {"has_projection_head", model->has_projection_head()},
            {"has_prototypes", model->has_prototypes()},
            {"num_prototypes", model->num_prototypes()}};
  if (!summary.training.empty()) j["training"] = summary.training;
  return j;
}

}  // namespace msnlens
