#include "imaging/preprocessor.h"

#include <algorithm>

#include "common/error.h"
#include "common/json_file.h"

namespace msnlens {
namespace {

using nlohmann::json;

void read_triple(const json& j, const char* key, std::array<double, 3>& out, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return;
  const json& v = j[key];
  const std::string field = where + ": field \"" + key + "\"";
  if (v.is_number()) {
    out.fill(v.get<double>());
  } else if (v.is_array() && v.size() == 3 && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); })) {
    for (std::size_t i = 0; i < 3; ++i) out[i] = v[i].get<double>();
  } else {
    fail(field, "expected a number or a list of 3 numbers");
  }
}

int read_size(const json& v, const std::string& field) {
  if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > 16384)
    fail(field, "expected a positive integer up to 16384");
  return v.get<int>();
}

}  // namespace

PreprocessorConfig PreprocessorConfig::imagenet(int size) {
  PreprocessorConfig c;
  c.height = c.width = size;
  c.image_mean = {0.485, 0.456, 0.406};
  c.image_std = {0.229, 0.224, 0.225};
  return c;
}

void PreprocessorConfig::update(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "preprocessor config is not a JSON object");
  read_field(j, "do_resize", do_resize, where);
  read_field(j, "do_rescale", do_rescale, where);
  read_field(j, "do_normalize", do_normalize, where);
  if (j.contains("size") && !j["size"].is_null()) {
    const json& s = j["size"];
    const std::string field = where + ": field \"size\"";
    if (s.is_number()) {
      height = width = read_size(s, field);
    } else if (s.is_object() && s.contains("height") && s.contains("width")) {
      height = read_size(s["height"], field + " height");
      width = read_size(s["width"], field + " width");
    } else {
      fail(field, "expected an integer or {\"height\": H, \"width\": W}");
    }
  }
  if (j.contains("resample") && !j["resample"].is_null()) {
    const json& r = j["resample"];
    if (!r.is_number_integer() || r.get<int>() < 0 || r.get<int>() > 5)
      fail(where + ": field \"resample\"", "expected a PIL filter number 0..5");
    resample = static_cast<ResampleFilter>(r.get<int>());
  }
  read_field(j, "rescale_factor", rescale_factor, where);
  read_triple(j, "image_mean", image_mean, where);
  read_triple(j, "image_std", image_std, where);
  for (const double s : image_std)
    if (!(s != 0.0)) fail(where + ": field \"image_std\"", "must not be zero");
}

json PreprocessorConfig::to_json() const {
  return {{"do_resize", do_resize},     {"size", {{"height", height}, {"width", width}}},
          {"resample", static_cast<int>(resample)}, {"do_rescale", do_rescale},
          {"rescale_factor", rescale_factor}, {"do_normalize", do_normalize},
          {"image_mean", image_mean},   {"image_std", image_std}};
}

at::Tensor preprocess(const RgbImage& image, const PreprocessorConfig& config) {
  return to_pixel_values(resize_for_model(image, config), config);
}

RgbImage resize_for_model(const RgbImage& image, const PreprocessorConfig& config) {
  return config.do_resize ? pil_resize(image, config.width, config.height, config.resample) : image;
}

at::Tensor to_pixel_values(const RgbImage& resized, const PreprocessorConfig& config) {
  // uint8 HWC -> float CHW. Rescale and normalize in float32, as the processor does.
  at::Tensor x = at::from_blob(const_cast<std::uint8_t*>(resized.pixels.data()),
                               {resized.height, resized.width, 3}, at::kByte)
                     .permute({2, 0, 1})
                     .to(at::kFloat);
  if (config.do_rescale) x = x * config.rescale_factor;
  if (config.do_normalize) {
    const auto mean = at::tensor(std::vector<double>(config.image_mean.begin(), config.image_mean.end()), at::kFloat);
    const auto std = at::tensor(std::vector<double>(config.image_std.begin(), config.image_std.end()), at::kFloat);
    x = (x - mean.view({3, 1, 1})) / std.view({3, 1, 1});
  }
  return x.unsqueeze(0).contiguous();
}

}  // namespace msnlens
