#include "checkpoint/tensor_map.h"

#include <limits>

#include "common/error.h"

namespace msnlens {

std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& where) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t n = 1;
  for (const auto d : shape) {
    if (d < 0) fail(where, "negative dimension " + std::to_string(d));
    if (d != 0 && n > kMax / d) fail(where, "shape has more elements than can be addressed");
    n *= d;
  }
  return n;
}

at::Tensor tensor_from_file(const MappedFilePtr& file, std::uint64_t offset, std::int64_t numel,
                            at::ScalarType dtype) {
  const auto elem = static_cast<std::uint64_t>(c10::elementSize(dtype));
  const auto count = static_cast<std::uint64_t>(numel);
  if (count > std::numeric_limits<std::uint64_t>::max() / elem) fail(file->name(), "tensor too large");
  const std::uint8_t* ptr = file->at(offset, count * elem);
  const auto options = at::TensorOptions().dtype(dtype);
  if (count == 0) return at::empty({0}, options);  // no bytes to view, and none to copy
  if (reinterpret_cast<std::uintptr_t>(ptr) % elem != 0) {
    // Unaligned data cannot be viewed as typed elements; copy it into fresh storage.
    at::Tensor copy = at::empty({numel}, options);
    std::memcpy(copy.data_ptr(), ptr, count * elem);
    return copy;
  }
  // The deleter keeps the mapping alive for as long as any view of this tensor exists.
  return at::from_blob(const_cast<std::uint8_t*>(ptr), {numel}, [keep = file](void*) {}, options);
}

std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

}  // namespace msnlens
