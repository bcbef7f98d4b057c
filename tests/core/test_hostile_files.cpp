// Files built to break the loaders: truncated and lying safetensors headers, pickles that try
// to run code, zips that climb out of their folder, broken configs and mismatched weights.
// Each must be refused with an msnlens::Error whose message names the file and the problem.

#include <gtest/gtest.h>

#include "checkpoint/safetensors.h"
#include "checkpoint/torch_zip.h"
#include "checkpoint/unpickler.h"
#include "engine/model_loader.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;
namespace fs = std::filesystem;

namespace {

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}
std::string le32(std::uint32_t v) { return le64(v).substr(0, 4); }
// A string literal with embedded NULs, whole.
template <std::size_t N>
std::string raw(const char (&s)[N]) { return std::string(s, N - 1); }
// Pickle BINUNICODE.
std::string unicode(const std::string& s) {
  std::string out = "X";  // appended piecewise: GCC 12 -O3 misreads "X" + ... (bogus -Wstringop-overflow)
  out += le32(static_cast<std::uint32_t>(s.size()));
  out += s;
  return out;
}

// A safetensors file from a header text and a data section.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// A torch.save-style zip around a pickle; `storages` become archive/data/<key>.
std::string torch_zip(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> members = {{"archive/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages) members.emplace_back("archive/data/" + key, bytes);
  members.emplace_back("archive/version", "3\n");
  return stored_zip(members);
}

// Pickle of {"w": _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, (size,), (1,), False, OrderedDict())}.
std::string tensor_pickle(int storage_numel, int offset, int size) {
  return raw("\x80\x02}") + unicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n" +               //
         "((" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") +  //
         "J" + le32(static_cast<std::uint32_t>(storage_numel)) + "tQ" +                           // storage
         "J" + le32(static_cast<std::uint32_t>(offset)) +                                         // offset
         "J" + le32(static_cast<std::uint32_t>(size)) + raw("\x85") + raw("K\x01\x85") +       // (size,), (1,)
         raw("\x89") + "ccollections\nOrderedDict\n)R" + "tRs.";
}

class HostileFiles : public TempDirTest {
 protected:
  // A copy of the tiny224-cls folder whose weights and config can be edited.
  fs::path model_dir(const std::string& name, const TensorMap& weights, const std::string& config_text = "") const {
    const fs::path d = dir_ / name;
    fs::create_directories(d);
    std::vector<std::pair<std::string, at::Tensor>> list(weights.begin(), weights.end());
    write_safetensors(d / "model.safetensors", list);
    const fs::path src = data_path("models/tiny224-cls");
    write_file(d / "config.json", config_text.empty() ? read_file(src / "config.json") : config_text);
    fs::copy_file(src / "preprocessor_config.json", d / "preprocessor_config.json", fs::copy_options::overwrite_existing);
    return d;
  }
  static TensorMap cls_weights() {
    TensorMap m;
    for (const auto& [k, v] : read_safetensors(data_path("models/tiny224-cls/model.safetensors")).tensors) m[k] = v.clone();
    return m;
  }
};

TEST_F(HostileFiles, SafetensorsHeaders) {
  MSN_EXPECT_ERROR(read_safetensors(file("short.safetensors", "abc")), "short.safetensors", "shorter than");
  MSN_EXPECT_ERROR(read_safetensors(file("huge.safetensors", le64(1ull << 40) + "{}")), "huge.safetensors", "limit");
  MSN_EXPECT_ERROR(read_safetensors(file("cut.safetensors", le64(5000) + "{\"a\":")), "cut.safetensors", "truncated");
  MSN_EXPECT_ERROR(read_safetensors(file("json.safetensors", safetensors_bytes("{not json", ""))), "not valid JSON");
  MSN_EXPECT_ERROR(read_safetensors(file("array.safetensors", safetensors_bytes("[1,2]", ""))), "not a JSON object");
  MSN_EXPECT_ERROR(read_safetensors(file("past.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')))),
                   "past.safetensors", "\"w\"", "outside");
  MSN_EXPECT_ERROR(read_safetensors(file("overflow.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", ""))),
                   "more elements than can be addressed");
  MSN_EXPECT_ERROR(read_safetensors(file("mismatch.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')))),
                   "shape needs 3 elements");
  MSN_EXPECT_ERROR(read_safetensors(file("dtype.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')))),
                   "unsupported dtype \"F8_E9\"");
  MSN_EXPECT_ERROR(read_safetensors(file("negative.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')))),
                   "non-negative integer");
  MSN_EXPECT_ERROR(read_safetensors(file("backwards.safetensors",
                       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')))),
                   "outside");
  // A well-formed file still loads after all that.
  const auto ok = read_safetensors(file("ok.safetensors",
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", raw("\0\0\x80?\0\0\0@"))));
  EXPECT_FLOAT_EQ(ok.tensors.at("w")[1].item<float>(), 2.0f);
}

TEST_F(HostileFiles, PicklesNeverRunCode) {
  const fs::path marker = dir_.path() / "pwned";
  const std::string cmd = "touch " + marker.string();
  // os.system("touch ...") through GLOBAL + REDUCE, the classic exploit.
  const std::string system_pickle = std::string("\x80\x02") + "cos\nsystem\nX" + le32(static_cast<std::uint32_t>(cmd.size())) + cmd + "\x85R.";
  MSN_EXPECT_ERROR(read_torch_zip(file("system.pth", torch_zip(system_pickle))), "system.pth", "os.system");
  MSN_EXPECT_ERROR(load_model(file("system2.pth", torch_zip(system_pickle))), "system2.pth", "os.system", "not a tensor");
  // builtins.eval through STACK_GLOBAL (protocol 4).
  const std::string eval_pickle = std::string("\x80\x04\x8c\x08") + "builtins\x8c\x04" "eval\x93\x8c\x0b" "print('hi')\x85R.";
  MSN_EXPECT_ERROR(read_torch_zip(file("eval.pth", torch_zip(eval_pickle))), "builtins.eval");
  // INST constructs an arbitrary class; not an opcode torch.save uses.
  const std::string inst_pickle = raw("\x80\x02(") + unicode("x") + "ios\nsystem\n.";
  MSN_EXPECT_ERROR(read_torch_zip(file("inst.pth", torch_zip(inst_pickle))), "unsupported opcode 0x69");
  // Persistent loads with foreign ids, and a tensor rebuilt from something that is not a storage.
  MSN_EXPECT_ERROR(read_torch_zip(file("pid.pth", torch_zip(raw("\x80\x02") + unicode("abc") + "Q."))),
                   "unsupported persistent id");
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(HostileFiles, PickleLimits) {
  // A list nested 100000 deep: refused before it can exhaust the stack.
  const std::string deep = "\x80\x02" + std::string(100000, ']') + std::string(99999, 'a') + ".";
  MSN_EXPECT_ERROR(read_torch_zip(file("deep.pth", torch_zip(deep))), "nesting deeper than");
  MSN_EXPECT_ERROR(read_torch_zip(file("memo.pth", torch_zip(raw("\x80\x02h\x05.")))), "memo key 5 was never stored");
  // A memo grown past any real checkpoint's (None, MEMOIZE, POP, repeated): refused, not kept.
  std::string memo = "\x80\x04";
  for (std::size_t i = 0; i <= kMaxPickleMemo; ++i) memo += "N\x94" "0";
  MSN_EXPECT_ERROR(read_torch_zip(file("bigmemo.pth", torch_zip(memo + "N."))), "memo larger than");
  MSN_EXPECT_ERROR(read_torch_zip(file("long.pth", torch_zip(raw("\x80\x02X\xff\xff\xff\x7f" "abc")))),
                   "runs past the end");
  MSN_EXPECT_ERROR(read_torch_zip(file("empty.pth", torch_zip(raw("\x80\x02.")))), "stack underflow");
  MSN_EXPECT_ERROR(read_torch_zip(file("nostop.pth", torch_zip(raw("\x80\x02N")))), "truncated data");
}

TEST_F(HostileFiles, StorageBounds) {
  const std::string sixteen(16, '\0');
  MSN_EXPECT_ERROR(read_torch_zip(file("claims.pth", torch_zip(tensor_pickle(1000, 0, 10), {{"0", sixteen}}))),
                   "claims.pth", "storage 0 claims 1000 elements but holds 16 bytes");
  MSN_EXPECT_ERROR(read_torch_zip(file("view.pth", torch_zip(tensor_pickle(4, 2, 3), {{"0", sixteen}}))),
                   "reaches past its storage");
  MSN_EXPECT_ERROR(read_torch_zip(file("nostorage.pth", torch_zip(tensor_pickle(4, 0, 4)))), "storage 0 is missing");
  const PickleContents ok = read_torch_zip(file("ok.pth", torch_zip(tensor_pickle(4, 1, 3), {{"0", sixteen}})));
  EXPECT_EQ(ok.tensors.at("w").numel(), 3);
}

TEST_F(HostileFiles, ZipContainers) {
  const std::string pickle = tensor_pickle(4, 0, 4);
  MSN_EXPECT_ERROR(read_torch_zip(file("escape.pth",
                       stored_zip({{"archive/data.pkl", pickle}, {"../../etc/cron.d/evil", "x"}}))),
                   "escape.pth", "../../etc/cron.d/evil", "outside the archive");
  MSN_EXPECT_ERROR(read_torch_zip(file("absolute.pth", stored_zip({{"/archive/data.pkl", pickle}}))), "outside the archive");
  const std::string whole = torch_zip(pickle, {{"0", std::string(16, '\0')}});
  MSN_EXPECT_ERROR(read_torch_zip(file("half.pth", whole.substr(0, whole.size() / 2))), "half.pth", "end-of-central-directory");
  // Method 8 (deflate) in both headers: torch.save never compresses.
  std::string deflated = stored_zip({{"archive/data.pkl", pickle}});
  for (std::size_t at = deflated.find("PK\x03\x04"); at != std::string::npos; at = deflated.find("PK\x03\x04", at + 1)) deflated[at + 8] = 8;
  for (std::size_t at = deflated.find("PK\x01\x02"); at != std::string::npos; at = deflated.find("PK\x01\x02", at + 1)) deflated[at + 10] = 8;
  MSN_EXPECT_ERROR(read_torch_zip(file("deflate.pth", deflated)), "is compressed");
  MSN_EXPECT_ERROR(read_torch_zip(file("nopickle.pth", stored_zip({{"archive/other", "x"}}))), "no data.pkl");
  // A central directory pointing past the end of the file.
  std::string lying = whole;
  lying.replace(lying.size() - 6, 4, le32(0x7FFFFFF0));
  MSN_EXPECT_ERROR(read_torch_zip(file("lying.pth", lying)), "lying.pth", "truncated or corrupt");
}

TEST_F(HostileFiles, LegacyAndUnknownFiles) {
  MSN_EXPECT_ERROR(load_model(file("legacy.pth.tar", raw("\x80\x02\x8a\x0al\xfc\x9c" "F\xf9 j\xa8P\x19."))),
                   "legacy.pth.tar", "legacy torch.save format");
  MSN_EXPECT_ERROR(load_model(file("notes.bin", "hello, this is text")), "notes.bin", "not a torch.save file");
  MSN_EXPECT_ERROR(load_model(file("empty.bin", "")), "empty.bin");
  MSN_EXPECT_ERROR(load_model(dir_.path() / "missing"), "missing", "no such file");
  const fs::path empty_dir = dir_.path() / "nothing";
  fs::create_directories(empty_dir);
  MSN_EXPECT_ERROR(load_model(empty_dir), "nothing", "no weights found");
}

TEST_F(HostileFiles, BrokenConfigs) {
  const TensorMap w = cls_weights();
  MSN_EXPECT_ERROR(load_model(model_dir("badjson", w, "{\"hidden_size\": 48,")), "badjson/config.json", "not valid JSON");
  MSN_EXPECT_ERROR(load_model(model_dir("heads", w, R"({"hidden_size": 48, "num_attention_heads": 5})")),
                   "config.json", "num_attention_heads (5) does not divide hidden_size (48)");
  MSN_EXPECT_ERROR(load_model(model_dir("act", w, R"({"hidden_size": 48, "num_attention_heads": 3, "hidden_act": "gelu_fancy"})")),
                   "unknown hidden_act \"gelu_fancy\"");
  MSN_EXPECT_ERROR(load_model(model_dir("neg", w, R"({"hidden_size": -48})")), "hidden_size must be positive");
  MSN_EXPECT_ERROR(load_model(model_dir("type", w, R"({"hidden_size": "big"})")), "field \"hidden_size\"", "expected an integer");
  MSN_EXPECT_ERROR(load_model(model_dir("labels", w, R"({"id2label": {"x": "cat"}})")), "id2label");
  // The config and the weights disagree: the model names the first tensor that does not fit.
  MSN_EXPECT_ERROR(load_model(model_dir("layers", w, R"({"hidden_size": 48, "num_attention_heads": 3, "intermediate_size": 96, "num_hidden_layers": 3})")),
                   "missing tensor \"encoder.layer.2.layernorm_before.weight\"");
  MSN_EXPECT_ERROR(load_model(model_dir("size", w, R"({"hidden_size": 48, "num_attention_heads": 3, "intermediate_size": 96, "image_size": 96})")),
                   "\"embeddings.position_embeddings\" has shape [1, 197, 48], expected [1, 37, 48]");
  const fs::path pre = model_dir("pre", w);
  write_file(pre / "preprocessor_config.json", R"({"image_std": [0.2, 0.0, 0.2]})");
  MSN_EXPECT_ERROR(load_model(pre), "preprocessor_config.json", "image_std", "must not be zero");
  write_file(pre / "preprocessor_config.json", R"({"size": {"shortest_edge": 224}})");
  MSN_EXPECT_ERROR(load_model(pre), "preprocessor_config.json", "size");
  // Original checkpoints with a hidden size that is no multiple of 64 need their head count.
  MSN_EXPECT_ERROR(load_model(data_path("models/tiny96-msn-original/vit_tiny96_msn.pth.tar")),
                   "vit_tiny96_msn.pth.tar", "cannot infer the number of attention heads", "--config");
}

TEST_F(HostileFiles, MismatchedWeights) {
  TensorMap missing = cls_weights();
  missing.erase("vit.layernorm.bias");
  MSN_EXPECT_ERROR(load_model(model_dir("missing", missing)), "model.safetensors", "missing tensor \"layernorm.bias\"");
  TensorMap shaped = cls_weights();
  shaped["vit.encoder.layer.1.intermediate.dense.weight"] = at::zeros({97, 48});
  MSN_EXPECT_ERROR(load_model(model_dir("shaped", shaped)),
                   "\"encoder.layer.1.intermediate.dense.weight\" has shape [97, 48], expected [96, 48]");
  TensorMap extra = cls_weights();
  extra["vit.pooler.dense.weight"] = at::zeros({48, 48});
  MSN_EXPECT_ERROR(load_model(model_dir("extra", extra)), "unexpected tensors", "pooler.dense.weight");
  TensorMap ints = cls_weights();
  ints["vit.layernorm.weight"] = at::ones({48}, at::kLong);
  MSN_EXPECT_ERROR(load_model(model_dir("ints", ints)), "\"layernorm.weight\"", "floating point");
  TensorMap classifier = cls_weights();
  classifier["classifier.bias"] = at::zeros({6});
  MSN_EXPECT_ERROR(load_model(model_dir("classifier", classifier)), "\"classifier.bias\" has shape [6], expected [5]");
}

TEST_F(HostileFiles, BadForwardInputs) {
  const LoadedModel m = load_model(data_path("models/tiny224-cls"));
  const at::Tensor pixels = at::zeros({1, 3, 224, 224});
  ForwardOptions o;
  o.bool_masked_pos = at::zeros({1, 196}, at::kBool);
  MSN_EXPECT_ERROR(m.model->forward(pixels, o), "bool_masked_pos", "no mask token", "keep_patches");
  o = {};
  o.keep_patches = at::tensor({0, 5, 196}, at::kLong);
  MSN_EXPECT_ERROR(m.model->forward(pixels, o), "keep_patches", "196 is outside 0..195");
  o = {};
  o.head_mask = at::ones({4});
  MSN_EXPECT_ERROR(m.model->forward(pixels, o), "head_mask", "expected [3] or [2, 3]");
  MSN_EXPECT_ERROR(m.model->forward(at::zeros({1, 3, 160, 224})), "160x224", "doesn't match the model (224x224)");
  MSN_EXPECT_ERROR(m.model->forward(at::zeros({1, 1, 224, 224})), "pixel_values", "expected [batch, 3, height, width]");
  o = {};
  o.interpolate_pos_encoding = true;
  MSN_EXPECT_ERROR(m.model->forward(at::zeros({1, 3, 8, 224}), o), "smaller than one 16-pixel patch");
}

}  // namespace
