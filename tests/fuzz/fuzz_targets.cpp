#include "fuzz_targets.h"

#include <nlohmann/json.hpp>

#include "checkpoint/safetensors.h"
#include "checkpoint/torch_zip.h"
#include "common/error.h"
#include "engine/few_shot.h"
#include "imaging/image_file.h"
#include "imaging/pil_resize.h"
#include "imaging/preprocessor.h"
#include "model/vit_msn_config.h"

namespace msnlens::fuzz {
namespace {

MappedFilePtr bytes(const std::uint8_t* data, std::size_t size, const char* name) {
  return MappedFile::from_memory(std::vector<std::uint8_t>(data, data + size), name);
}

// Runs `f`; msnlens::Error is a clean refusal. Everything else propagates to the fuzzer.
template <typename F>
int refusing(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
  return 0;
}

// Touches every byte of every tensor: views must stay inside their storage.
void touch(const TensorMap& tensors) {
  for (const auto& [name, t] : tensors)
    if (t.numel() > 0) (void)t.to(at::kDouble).sum().item<double>();
}

}  // namespace

int safetensors(const std::uint8_t* data, std::size_t size) {
  return refusing([&] { touch(read_safetensors(bytes(data, size, "fuzz.safetensors")).tensors); });
}

int torch_zip(const std::uint8_t* data, std::size_t size) {
  return refusing([&] { touch(read_torch_zip(bytes(data, size, "fuzz.pth")).tensors); });
}

int pickle(const std::uint8_t* data, std::size_t size) {
  return refusing([&] {
    // Storages come from a flat buffer of zeros sized as the pickle asks (capped).
    const StorageLoader storage = [](const std::string& key, at::ScalarType dtype, std::int64_t numel) {
      if (numel > (1 << 20)) fail(key, "storage too large for fuzzing");
      return at::zeros({numel}, at::TensorOptions().dtype(dtype));
    };
    touch(read_pickle(data, size, "fuzz.pkl", storage).tensors);
  });
}

int config(const std::uint8_t* data, std::size_t size) {
  return refusing([&] {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(data, data + size);
    } catch (const nlohmann::json::exception&) {
      return;
    }
    ViTMSNConfig c;
    c.update(j, "config.json");
    c.validate("config.json");
    (void)c.to_json().dump();
    PreprocessorConfig p;
    p.update(j, "preprocessor_config.json");
    (void)p.to_json().dump();
  });
}

int image(const std::uint8_t* data, std::size_t size) {
  return refusing([&] {
    const RgbImage rgb = decode_image(std::vector<std::uint8_t>(data, data + size), "fuzz image");
    (void)pil_resize(rgb, 24, 24, ResampleFilter::Bicubic);
  });
}

int fewshot(const std::uint8_t* data, std::size_t size) {
  return refusing([&] {
    const FewShotClassifier c = FewShotClassifier::load(bytes(data, size, "fuzz.fewshot"));
    (void)c.predict(at::ones({1, c.dim()}));
  });
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"safetensors", safetensors}, {"torch_zip", torch_zip}, {"pickle", pickle},
                                          {"config", config},           {"image", image},         {"fewshot", fewshot}};
  return all;
}

}  // namespace msnlens::fuzz
