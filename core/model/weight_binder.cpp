#include "model/weight_binder.h"

#include <sstream>

#include "common/error.h"
#include "common/mapped_file.h"

namespace msnlens {
namespace {

std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

}  // namespace

at::Tensor WeightBinder::take_any(const std::string& name) {
  const auto it = weights_.find(name);
  if (it == weights_.end()) fail(where_, "missing tensor \"" + name + "\"");
  const at::Tensor& t = it->second;
  if (!t.is_floating_point())
    fail(where_, "tensor \"" + name + "\" has dtype " + c10::toString(t.scalar_type()) +
                     "; weights must be floating point");
  used_.insert(name);
  // Always a copy: the model must not keep views into a memory-mapped file, which another
  // program may truncate or rewrite while the app runs (a read would then be a SIGBUS).
  at::Tensor copy = t.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  if (t.is_cpu() && t.is_contiguous()) MappedFile::release(t.data_ptr(), t.nbytes());
  return copy;
}

at::Tensor WeightBinder::take(const std::string& name, const std::vector<std::int64_t>& shape) {
  at::Tensor t = take_any(name);
  if (t.sizes() != at::IntArrayRef(shape))
    fail(where_, "tensor \"" + name + "\" has shape " + shape_string(t.sizes()) + ", expected " +
                     shape_string(shape));
  return t;
}

at::Tensor WeightBinder::take_optional(const std::string& name, const std::vector<std::int64_t>& shape) {
  return has(name) ? take(name, shape) : at::Tensor();
}

void WeightBinder::finish() const {
  std::vector<std::string> extra;
  for (const auto& [name, t] : weights_)
    if (used_.count(name) == 0) extra.push_back(name);
  if (extra.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < extra.size() && i < 8; ++i) list += (i ? ", " : "") + extra[i];
  if (extra.size() > 8) list += ", ... (" + std::to_string(extra.size()) + " in all)";
  fail(where_, "unexpected tensors not used by ViT-MSN: " + list);
}

}  // namespace msnlens
