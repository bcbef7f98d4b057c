#pragma once
// A pickle reader for what torch.save writes, and nothing more. Python's pickle runs code by
// design (any importable callable can be invoked while loading); this reader calls nothing.
// It recognises a short whitelist of globals: tensor and parameter rebuilders, storage types
// and OrderedDict, which it implements itself, plus a few data-only types (numpy scalars,
// sets, argparse.Namespace) that it keeps as opaque values. Any other global refuses the file.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "checkpoint/tensor_map.h"

namespace msnlens {

struct PickleContents {
  // Every tensor reachable through (nested) dicts, named by the dotted path of dict keys,
  // e.g. "target_encoder.module.cls_token" or "embeddings.cls_token".
  TensorMap tensors;
  // Scalars found the same way ("epoch" -> "800"), for summaries.
  std::map<std::string, std::string> scalars;
};

// Returns the flat storage named `key` holding `numel` elements of `dtype`.
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType dtype, std::int64_t numel)>;

// Limits that keep hostile pickles from exhausting memory or the stack.
constexpr int kMaxPickleNesting = 200;       // containers inside containers
constexpr std::size_t kMaxPickleStack = 10'000'000;
constexpr std::size_t kMaxPickleMemo = 1'000'000;  // torch.save memoises a few objects per tensor

// `where` names the file in error messages.
PickleContents read_pickle(const std::uint8_t* data, std::size_t size, const std::string& where,
                           const StorageLoader& load_storage);

}  // namespace msnlens
