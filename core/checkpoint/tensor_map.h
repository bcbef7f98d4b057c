#pragma once
// Named tensors as read from a checkpoint, before any model code looks at them.

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/mapped_file.h"

namespace msnlens {

using TensorMap = std::map<std::string, at::Tensor>;

// Number of elements of `shape`; throws Error naming `where` on negative dims or overflow
// (a hostile header can claim shapes whose product wraps around 2^64).
std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& where);

// A flat tensor of `numel` elements of `dtype` stored at `offset` in `file`. Shares the mapping
// (zero-copy) when the address is aligned for the type, copies otherwise; the range is checked.
at::Tensor tensor_from_file(const MappedFilePtr& file, std::uint64_t offset, std::int64_t numel,
                            at::ScalarType dtype);

// "float32", "bfloat16", "int64": the names PyTorch users know.
std::string dtype_name(at::ScalarType type);

}  // namespace msnlens
