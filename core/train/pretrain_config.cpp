#include "train/pretrain_config.h"

#include "common/error.h"
#include "common/json_file.h"

namespace msnlens {

PretrainConfig PretrainConfig::preset(const std::string& name) {
  PretrainConfig c;
  c.model.hidden_size = 384;
  c.model.num_attention_heads = 6;
  c.model.intermediate_size = 1536;
  c.head = {2048, 256, true};
  if (name == "msn-vits16") return c;
  if (name == "fmnist-small") {
    // A small ViT for 28x28 images (49 patches of 4x4), a few hundred prototypes for ten
    // classes' worth of data, short warm-up, views cut to the data's size.
    c.model.hidden_size = 192;
    c.model.num_hidden_layers = 6;
    c.model.num_attention_heads = 3;
    c.model.intermediate_size = 768;
    c.model.image_size = 28;
    c.model.patch_size = 4;
    c.head = {1024, 256, true};
    c.num_prototypes = 256;
    c.target_view = {28, 0.4, 1.0, true, 0.2};
    c.focal_view = {12, 0.1, 0.35, true, 0.2};
    c.focal_views = 4;
    c.patch_drop = 0.3;
    c.mean = {0.2860, 0.2860, 0.2860};  // Fashion-MNIST statistics
    c.std = {0.3530, 0.3530, 0.3530};
    c.epochs = 20;
    c.batch_size = 128;
    c.lr = 1e-3;
    c.start_lr = 1e-4;
    c.final_lr = 1e-6;
    c.warmup_epochs = 1;
    c.precision = "bf16";
    return c;
  }
  fail("preset", "unknown preset \"" + name + "\" (msn-vits16, fmnist-small)");
}

namespace {

void read_view(const nlohmann::json& j, const char* key, ViewSpec& v, const std::string& where) {
  if (!j.contains(key)) return;
  const std::string w = where + ": " + key;
  read_field(j[key], "size", v.size, w);
  read_field(j[key], "scale_min", v.scale_min, w);
  read_field(j[key], "scale_max", v.scale_max, w);
  read_field(j[key], "flip", v.flip, w);
  read_field(j[key], "jitter", v.jitter, w);
}

nlohmann::json view_json(const ViewSpec& v) {
  return {{"size", v.size}, {"scale_min", v.scale_min}, {"scale_max", v.scale_max}, {"flip", v.flip}, {"jitter", v.jitter}};
}

}  // namespace

void PretrainConfig::update(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "pretraining config is not a JSON object");
  if (j.contains("model")) model.update(j["model"], where + ": model");
  if (j.contains("head")) {
    read_field(j["head"], "hidden", head.hidden, where + ": head");
    read_field(j["head"], "output", head.output, where + ": head");
    read_field(j["head"], "batch_norm", head.batch_norm, where + ": head");
  }
  read_field(j, "num_prototypes", num_prototypes, where);
  read_field(j, "temperature", loss.temperature, where);
  read_field(j, "sharpen", loss.sharpen, where);
  read_field(j, "sinkhorn", loss.sinkhorn, where);
  read_field(j, "me_max_weight", loss.me_max_weight, where);
  read_view(j, "target_view", target_view, where);
  read_view(j, "focal_view", focal_view, where);
  read_field(j, "anchor_views", anchor_views, where);
  read_field(j, "focal_views", focal_views, where);
  read_field(j, "patch_drop", patch_drop, where);
  read_field(j, "epochs", epochs, where);
  read_field(j, "batch_size", batch_size, where);
  read_field(j, "lr", lr, where);
  read_field(j, "start_lr", start_lr, where);
  read_field(j, "final_lr", final_lr, where);
  read_field(j, "warmup_epochs", warmup_epochs, where);
  read_field(j, "weight_decay", weight_decay, where);
  read_field(j, "final_weight_decay", final_weight_decay, where);
  read_field(j, "clip_grad", clip_grad, where);
  read_field(j, "ema_start", ema_start, where);
  read_field(j, "ema_end", ema_end, where);
  read_field(j, "precision", precision, where);
  read_field(j, "seed", seed, where);
  read_field(j, "steps_per_epoch", steps_per_epoch, where);
  read_field(j, "export_every", export_every, where);
  if (j.contains("mean")) {
    const auto& m = j["mean"];
    if (!m.is_array() || m.size() != 3) fail(where + ": field \"mean\"", "expected 3 numbers");
    for (std::size_t i = 0; i < 3; ++i) mean[i] = m[i].get<double>();
  }
  if (j.contains("std")) {
    const auto& s = j["std"];
    if (!s.is_array() || s.size() != 3) fail(where + ": field \"std\"", "expected 3 numbers");
    for (std::size_t i = 0; i < 3; ++i) std[i] = s[i].get<double>();
  }
  model.validate(where + ": model");
  if (epochs <= 0 || batch_size <= 0 || num_prototypes <= 0 || anchor_views < 1 || focal_views < 0)
    fail(where, "epochs, batch_size, num_prototypes and anchor_views must be positive");
  if (precision != "fp32" && precision != "bf16") fail(where + ": field \"precision\"", "fp32 or bf16");
  if (!(patch_drop >= 0 && patch_drop < 1)) fail(where + ": field \"patch_drop\"", "must be in [0, 1)");
}

nlohmann::json PretrainConfig::to_json() const {
  return {{"model", model.to_json()},
          {"head", {{"hidden", head.hidden}, {"output", head.output}, {"batch_norm", head.batch_norm}}},
          {"num_prototypes", num_prototypes},
          {"temperature", loss.temperature},
          {"sharpen", loss.sharpen},
          {"sinkhorn", loss.sinkhorn},
          {"me_max_weight", loss.me_max_weight},
          {"target_view", view_json(target_view)},
          {"focal_view", view_json(focal_view)},
          {"anchor_views", anchor_views},
          {"focal_views", focal_views},
          {"patch_drop", patch_drop},
          {"mean", mean},
          {"std", std},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"start_lr", start_lr},
          {"final_lr", final_lr},
          {"warmup_epochs", warmup_epochs},
          {"weight_decay", weight_decay},
          {"final_weight_decay", final_weight_decay},
          {"clip_grad", clip_grad},
          {"ema_start", ema_start},
          {"ema_end", ema_end},
          {"precision", precision},
          {"seed", seed},
          {"steps_per_epoch", steps_per_epoch},
          {"export_every", export_every}};
}

}  // namespace msnlens
