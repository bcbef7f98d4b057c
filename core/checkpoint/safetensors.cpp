#include "checkpoint/safetensors.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "common/error.h"

namespace msnlens {
namespace {

using nlohmann::json;

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, at::ScalarType>> names = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},   {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort},  {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool},
  };
  return names;
}

at::ScalarType parse_dtype(const std::string& name, const std::string& where) {
  for (const auto& [n, t] : dtype_names())
    if (n == name) return t;
  fail(where, "unsupported dtype \"" + name + "\"");
}

std::string dtype_name(at::ScalarType type, const std::string& where) {
  for (const auto& [n, t] : dtype_names())
    if (t == type) return n;
  fail(where, std::string("cannot store dtype ") + c10::toString(type));
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer from the header, or an error naming the field.
std::uint64_t unsigned_field(const json& v, const std::string& where) {
  if (!v.is_number_unsigned()) fail(where, "expected a non-negative integer");
  return v.get<std::uint64_t>();
}

}  // namespace

SafetensorsContent read_safetensors(const std::filesystem::path& path) { return read_safetensors(MappedFile::open(path)); }

SafetensorsContent read_safetensors(const MappedFilePtr& file) {
  const std::string name = file->name();
  if (file->size() < 8) fail(name, "not a safetensors file (shorter than its 8-byte header length)");
  const std::uint64_t header_len = read_u64_le(file->at(0, 8));
  if (header_len > kMaxSafetensorsHeader)
    fail(name, "safetensors header claims " + std::to_string(header_len) +
                   " bytes (limit " + std::to_string(kMaxSafetensorsHeader) + ")");
  if (header_len > file->size() - 8)
    fail(name, "truncated: safetensors header claims " + std::to_string(header_len) +
                   " bytes but the file has " + std::to_string(file->size() - 8) + " after it");
  const auto* text = reinterpret_cast<const char*>(file->at(8, header_len));
  json header;
  try {
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {
    fail(name, std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(name, "safetensors header is not a JSON object");

  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = file->size() - data_start;
  SafetensorsContent out;
  for (const auto& [key, entry] : header.items()) {
    const std::string where = name + ": tensor \"" + key + "\"";
    if (key == "__metadata__") {
      if (!entry.is_object()) fail(name, "__metadata__ is not an object");
      for (const auto& [mk, mv] : entry.items()) {
        if (!mv.is_string()) fail(name, "__metadata__ value \"" + mk + "\" is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      fail(where, "entry needs dtype, shape and data_offsets");
    if (!entry["dtype"].is_string()) fail(where, "dtype is not a string");
    const at::ScalarType dtype = parse_dtype(entry["dtype"].get<std::string>(), where);
    const json& shape_json = entry["shape"];
    const json& offsets = entry["data_offsets"];
    if (!shape_json.is_array()) fail(where, "shape is not an array");
    if (!offsets.is_array() || offsets.size() != 2) fail(where, "data_offsets is not [begin, end]");
    std::vector<std::int64_t> shape;
    for (const auto& d : shape_json) {
      const std::uint64_t v = unsigned_field(d, where + " shape");
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(where, "shape dimension too large");
      shape.push_back(static_cast<std::int64_t>(v));
    }
    const std::int64_t numel = checked_numel(shape, where);
    const std::uint64_t begin = unsigned_field(offsets[0], where + " data_offsets");
    const std::uint64_t end = unsigned_field(offsets[1], where + " data_offsets");
    if (begin > end || end > data_size)
      fail(where, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                      "] lie outside the " + std::to_string(data_size) + " data bytes");
    const auto elem = static_cast<std::uint64_t>(c10::elementSize(dtype));
    if (static_cast<std::uint64_t>(numel) > (end - begin) / elem ||
        static_cast<std::uint64_t>(numel) * elem != end - begin)
      fail(where, "shape needs " + std::to_string(numel) + " elements but data_offsets hold " +
                      std::to_string(end - begin) + " bytes");
    out.tensors[key] = tensor_from_file(file, data_start + begin, numel, dtype).view(shape);
  }
  return out;
}

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, const std::vector<Entry>& entries,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path), entries_(entries) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const Entry& e : entries_) {
    const auto bytes = static_cast<std::uint64_t>(checked_numel(e.shape, path_.string() + ": " + e.name)) *
                       static_cast<std::uint64_t>(c10::elementSize(e.dtype));
    header[e.name] = {{"dtype", dtype_name(e.dtype, path_.string() + ": " + e.name)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(path_.string(), "cannot open for writing");
  std::uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(text.size() >> (8 * i));
  out_.write(reinterpret_cast<const char*>(len), 8);
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void SafetensorsWriter::write(const at::Tensor& tensor) {
  if (next_ >= entries_.size()) fail(path_.string(), "more tensors written than declared");
  const Entry& e = entries_[next_++];
  const at::Tensor t = tensor.to(at::kCPU).contiguous();
  if (t.scalar_type() != e.dtype || t.sizes().vec() != e.shape) fail(path_.string() + ": " + e.name, "differs from its declared dtype or shape");
  out_.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!out_) fail(path_.string(), "write failed");
}

void SafetensorsWriter::finish() {
  if (next_ != entries_.size()) fail(path_.string(), std::to_string(entries_.size() - next_) + " declared tensors were not written");
  if (!out_.flush()) fail(path_.string(), "write failed");
  out_.close();
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsWriter::Entry> entries;
  for (const auto& [key, t] : tensors) entries.push_back({key, t.scalar_type(), t.sizes().vec()});
  SafetensorsWriter writer(path, entries, metadata);
  for (const auto& [key, t] : tensors) writer.write(t);
  writer.finish();
}

}  // namespace msnlens
