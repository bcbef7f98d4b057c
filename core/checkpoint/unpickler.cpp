#include "checkpoint/unpickler.h"

#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace msnlens {
namespace {

// The globals this reader knows. Everything it "calls" is implemented here.
enum class Callable {
  None,
  OrderedDict,     // collections.OrderedDict() -> empty dict
  RebuildTensor,   // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
  RebuildParam,    // torch._utils._rebuild_parameter(tensor, requires_grad, hooks[, state])
  StorageType,     // torch.FloatStorage etc.: only ever used as a tag in persistent ids
  Inert,           // data-only types kept as opaque values, never constructed
};

struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Opaque };
  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;                  // String, Bytes, Global ("module.name"), Opaque (type)
  std::vector<Ref> items;            // Tuple/List; Dict as key, value, key, value...
  Callable callable = Callable::None;
  at::ScalarType dtype = at::kFloat; // StorageType globals
  at::Tensor tensor;                 // Storage (flat) and Tensor
  int depth = 0;                     // container nesting below this object
};

Ref make(Object::Kind kind) {
  auto o = std::make_shared<Object>();
  o->kind = kind;
  return o;
}

struct GlobalInfo {
  const char* name;
  Callable callable;
  at::ScalarType dtype;
};

const GlobalInfo kGlobals[] = {
    {"collections.OrderedDict", Callable::OrderedDict, at::kFloat},
    {"torch._utils._rebuild_tensor_v2", Callable::RebuildTensor, at::kFloat},
    {"torch._utils._rebuild_tensor", Callable::RebuildTensor, at::kFloat},
    {"torch._utils._rebuild_parameter", Callable::RebuildParam, at::kFloat},
    {"torch._utils._rebuild_parameter_with_state", Callable::RebuildParam, at::kFloat},
    {"torch.FloatStorage", Callable::StorageType, at::kFloat},
    {"torch.DoubleStorage", Callable::StorageType, at::kDouble},
    {"torch.HalfStorage", Callable::StorageType, at::kHalf},
    {"torch.BFloat16Storage", Callable::StorageType, at::kBFloat16},
    {"torch.LongStorage", Callable::StorageType, at::kLong},
    {"torch.IntStorage", Callable::StorageType, at::kInt},
    {"torch.ShortStorage", Callable::StorageType, at::kShort},
    {"torch.CharStorage", Callable::StorageType, at::kChar},
    {"torch.ByteStorage", Callable::StorageType, at::kByte},
    {"torch.BoolStorage", Callable::StorageType, at::kBool},
    {"torch.UntypedStorage", Callable::StorageType, at::kByte},
    // Data-only types that appear beside weights (training metadata): kept opaque.
    {"builtins.set", Callable::Inert, at::kFloat},
    {"builtins.frozenset", Callable::Inert, at::kFloat},
    {"builtins.slice", Callable::Inert, at::kFloat},
    {"builtins.complex", Callable::Inert, at::kFloat},
    {"argparse.Namespace", Callable::Inert, at::kFloat},
    {"torch.Size", Callable::Inert, at::kFloat},
    {"numpy.core.multiarray.scalar", Callable::Inert, at::kFloat},
    {"numpy._core.multiarray.scalar", Callable::Inert, at::kFloat},
    {"numpy.dtype", Callable::Inert, at::kFloat},
    {"_codecs.encode", Callable::Inert, at::kFloat},
};

class Machine {
 public:
  Machine(const std::uint8_t* data, std::size_t size, std::string where, const StorageLoader& loader)
      : p_(data), size_(size), where_(std::move(where)), loader_(loader) {}

  // All containers stay owned here until the end of load; emptying them then (instead of
  // letting shared_ptrs cascade) keeps deep or cyclic hostile graphs from overflowing the stack.
  ~Machine() {
    for (auto& c : containers_) c->items.clear();
  }

  Ref run();

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(where_, "pickle: " + what + " (at byte " + std::to_string(op_pos_) + ")");
  }
  const std::uint8_t* take(std::size_t n) {
    if (n > size_ - pos_) error("truncated data");
    const std::uint8_t* p = p_ + pos_;
    pos_ += n;
    return p;
  }
  std::uint64_t uint_le(int bytes) {
    const std::uint8_t* p = take(static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string line() {
    const void* nl = std::memchr(p_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr) error("unterminated text field");
    const auto n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - (p_ + pos_));
    std::string s(reinterpret_cast<const char*>(take(n)), n);
    take(1);
    return s;
  }
  std::string bytes(std::uint64_t n) {
    if (n > size_ - pos_) error("string length " + std::to_string(n) + " runs past the end");
    return {reinterpret_cast<const char*>(take(static_cast<std::size_t>(n))), static_cast<std::size_t>(n)};
  }

  void push(Ref r) {
    if (stack_.size() >= kMaxPickleStack) error("stack too deep");
    stack_.push_back(std::move(r));
  }
  Ref pop() {
    if (stack_.size() <= mark_floor()) error("stack underflow");
    Ref r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  Ref& top() {
    if (stack_.size() <= mark_floor()) error("stack underflow");
    return stack_.back();
  }
  std::size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) error("missing MARK");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                           std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  Ref container(Object::Kind kind, std::vector<Ref> items = {}) {
    Ref c = make(kind);
    c->items = std::move(items);
    for (const auto& i : c->items) note_child(*c, *i);
    containers_.push_back(c);
    return c;
  }
  void note_child(Object& parent, const Object& child) {
    parent.depth = std::max(parent.depth, child.depth + 1);
    if (parent.depth > kMaxPickleNesting)
      error("nesting deeper than " + std::to_string(kMaxPickleNesting) + " levels");
  }
  void add_items(Object& target, std::vector<Ref> items, bool pairs) {
    if (target.kind != Object::Kind::List && target.kind != Object::Kind::Dict) {
      if (target.kind == Object::Kind::Opaque) return;  // e.g. items of an opaque set
      error("cannot add items to this object");
    }
    if (pairs != (target.kind == Object::Kind::Dict)) error("list/dict operation on the wrong type");
    if (pairs && items.size() % 2 != 0) error("odd number of dict items");
    if (target.items.size() + items.size() > kMaxPickleStack) error("container too large");
    for (auto& i : items) {
      note_child(target, *i);
      target.items.push_back(std::move(i));
    }
  }

  Ref make_int(std::int64_t v) {
    Ref r = make(Object::Kind::Int);
    r->integer = v;
    return r;
  }
  Ref make_string(std::string s, Object::Kind kind = Object::Kind::String) {
    Ref r = make(kind);
    r->text = std::move(s);
    return r;
  }
  Ref opaque(const std::string& type) { return make_string(type, Object::Kind::Opaque); }

  Ref global(const std::string& module, const std::string& name);
  Ref call(const Ref& callable, const Ref& args);
  Ref rebuild_tensor(const std::vector<Ref>& args);
  Ref persistent_load(const Ref& pid);
  void memo_put(std::uint64_t key) {
    if (memo_.size() >= kMaxPickleMemo && memo_.find(key) == memo_.end())
      error("memo larger than " + std::to_string(kMaxPickleMemo) + " entries");
    memo_[key] = top();
  }
  Ref memo_get(std::uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) error("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }
  std::int64_t as_int(const Ref& r, const char* what) {
    if (r->kind == Object::Kind::Int) return r->integer;
    if (r->kind == Object::Kind::Bool) return r->boolean ? 1 : 0;
    error(std::string(what) + " is not an integer");
  }
  std::vector<std::int64_t> int_tuple(const Ref& r, const char* what) {
    if (r->kind != Object::Kind::Tuple && r->kind != Object::Kind::List)
      error(std::string(what) + " is not a tuple");
    std::vector<std::int64_t> v;
    for (const auto& i : r->items) v.push_back(as_int(i, what));
    return v;
  }

  const std::uint8_t* p_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::string where_;
  const StorageLoader& loader_;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Ref> memo_;
  std::vector<Ref> containers_;
  std::map<std::string, at::Tensor> storages_;
};

Ref Machine::global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  for (const auto& g : kGlobals) {
    if (full == g.name) {
      Ref r = make_string(full, Object::Kind::Global);
      r->callable = g.callable;
      r->dtype = g.dtype;
      return r;
    }
  }
  error("refusing to load: it references " + full +
        ", which is not a tensor, storage or container type (pickles can run code; this reader "
        "only accepts what torch.save writes for weights)");
}

Ref Machine::persistent_load(const Ref& pid) {
  // torch.save writes ('storage', storage_type, key, location, numel).
  if (pid->kind != Object::Kind::Tuple || pid->items.size() < 5 ||
      pid->items[0]->kind != Object::Kind::String || pid->items[0]->text != "storage")
    error("unsupported persistent id");
  const Ref& type = pid->items[1];
  if (type->kind != Object::Kind::Global || type->callable != Callable::StorageType)
    error("persistent id does not name a storage type");
  if (pid->items[2]->kind != Object::Kind::String) error("storage key is not a string");
  const std::string key = pid->items[2]->text;
  const std::int64_t numel = as_int(pid->items[4], "storage size");
  if (numel < 0) error("negative storage size");
  Ref r = make(Object::Kind::Storage);
  auto it = storages_.find(key);
  if (it == storages_.end()) {
    at::Tensor t = loader_(key, type->dtype, numel);
    it = storages_.emplace(key, std::move(t)).first;
  } else if (it->second.scalar_type() != type->dtype || it->second.numel() != numel) {
    error("storage " + key + " is used with two different types or sizes");
  }
  r->tensor = it->second;
  return r;
}

Ref Machine::rebuild_tensor(const std::vector<Ref>& args) {
  if (args.size() < 4 || args[0]->kind != Object::Kind::Storage)
    error("malformed tensor record");
  const at::Tensor& storage = args[0]->tensor;
  const std::int64_t offset = as_int(args[1], "storage offset");
  const auto sizes = int_tuple(args[2], "tensor size");
  const auto strides = int_tuple(args[3], "tensor stride");
  if (sizes.size() != strides.size()) error("tensor size and stride differ in length");
  if (offset < 0) error("negative storage offset");
  // The last element the view can touch must lie inside the storage.
  const std::int64_t numel = checked_numel(sizes, where_);
  if (numel > 0) {
    std::int64_t last = offset;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (strides[i] < 0) error("negative stride");
      const std::int64_t span = sizes[i] - 1;
      if (span > 0 && strides[i] > (std::numeric_limits<std::int64_t>::max() - last) / span)
        error("tensor extent overflows");
      last += span * strides[i];
    }
    if (last >= storage.numel())
      error("tensor of size " + std::to_string(numel) + " at offset " + std::to_string(offset) +
            " reaches past its storage of " + std::to_string(storage.numel()) + " elements");
  }
  Ref r = make(Object::Kind::Tensor);
  r->tensor = storage.as_strided(sizes, strides, offset);
  return r;
}

Ref Machine::call(const Ref& callable, const Ref& args) {
  if (callable->kind == Object::Kind::Opaque) return opaque(callable->text);
  if (callable->kind != Object::Kind::Global) error("call of a non-callable object");
  if (args->kind != Object::Kind::Tuple) error("call arguments are not a tuple");
  switch (callable->callable) {
    case Callable::OrderedDict:
      if (!args->items.empty()) error("OrderedDict with arguments");
      return container(Object::Kind::Dict);
    case Callable::RebuildTensor:
      return rebuild_tensor(args->items);
    case Callable::RebuildParam:
      if (args->items.empty() || args->items[0]->kind != Object::Kind::Tensor)
        error("malformed parameter record");
      return args->items[0];
    case Callable::Inert:
      return opaque(callable->text);
    case Callable::StorageType:
    case Callable::None:
      break;
  }
  error("refusing to construct " + callable->text);
}

Ref Machine::run() {
  while (true) {
    op_pos_ = pos_;
    const std::uint8_t op = *take(1);
    switch (op) {
      case 0x80: take(1); break;                        // PROTO
      case 0x95: take(8); break;                        // FRAME
      case '.': {                                       // STOP
        Ref r = pop();
        return r;
      }
      case '(':                                         // MARK
        if (marks_.size() >= kMaxPickleStack) error("too many marks");
        marks_.push_back(stack_.size());
        break;
      case '0': pop(); break;                           // POP
      case '1': pop_mark(); break;                      // POP_MARK
      case '2': push(top()); break;                     // DUP
      case 'N': push(make(Object::Kind::None)); break;
      case 0x88:
      case 0x89: {                                      // NEWTRUE / NEWFALSE
        Ref r = make(Object::Kind::Bool);
        r->boolean = op == 0x88;
        push(r);
        break;
      }
      case 'J': push(make_int(static_cast<std::int32_t>(uint_le(4)))); break;  // BININT
      case 'K': push(make_int(static_cast<std::int64_t>(uint_le(1)))); break;  // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(uint_le(2)))); break;  // BININT2
      case 0x8a: {                                                           // LONG1
        const auto n = uint_le(1);
        if (n > 8) error("integer wider than 64 bits");
        std::uint64_t v = n == 0 ? 0 : uint_le(static_cast<int>(n));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~std::uint64_t{0} << (8 * n);  // sign
        push(make_int(static_cast<std::int64_t>(v)));
        break;
      }
      case 'G': {                                       // BINFLOAT (big-endian double)
        const std::uint8_t* p = take(8);
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        Ref r = make(Object::Kind::Float);
        std::memcpy(&r->real, &bits, 8);
        push(r);
        break;
      }
      case 'X': push(make_string(bytes(uint_le(4)))); break;     // BINUNICODE
      case 0x8c: push(make_string(bytes(uint_le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: push(make_string(bytes(uint_le(8)))); break;    // BINUNICODE8
      case 'T': push(make_string(bytes(uint_le(4)))); break;     // BINSTRING
      case 'U': push(make_string(bytes(uint_le(1)))); break;     // SHORT_BINSTRING
      case 'B': push(make_string(bytes(uint_le(4)), Object::Kind::Bytes)); break;   // BINBYTES
      case 'C': push(make_string(bytes(uint_le(1)), Object::Kind::Bytes)); break;   // SHORT_BINBYTES
      case 0x8e: push(make_string(bytes(uint_le(8)), Object::Kind::Bytes)); break;  // BINBYTES8
      case ')': push(container(Object::Kind::Tuple)); break;     // EMPTY_TUPLE
      case 't': push(container(Object::Kind::Tuple, pop_mark())); break;
      case 0x85:
      case 0x86:
      case 0x87: {                                      // TUPLE1..3
        std::vector<Ref> items(static_cast<std::size_t>(op - 0x84));
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(container(Object::Kind::Tuple, std::move(items)));
        break;
      }
      case ']': push(container(Object::Kind::List)); break;      // EMPTY_LIST
      case 'l': push(container(Object::Kind::List, pop_mark())); break;
      case 0x8f: push(container(Object::Kind::List)); break;     // EMPTY_SET, kept as a list
      case '}': push(container(Object::Kind::Dict)); break;      // EMPTY_DICT
      case 'd': {                                                // DICT
        Ref d = container(Object::Kind::Dict);
        add_items(*d, pop_mark(), true);
        push(d);
        break;
      }
      case 'a': {                                                // APPEND
        Ref item = pop();
        add_items(*top(), {item}, false);
        break;
      }
      case 'e':                                                  // APPENDS
      case 0x90: {                                               // ADDITEMS
        auto items = pop_mark();
        add_items(*top(), std::move(items), false);
        break;
      }
      case 0x91: {                                               // FROZENSET
        auto items = pop_mark();
        push(container(Object::Kind::List, std::move(items)));
        break;
      }
      case 's': {                                                // SETITEM
        Ref value = pop();
        Ref key = pop();
        add_items(*top(), {key, value}, true);
        break;
      }
      case 'u': {                                                // SETITEMS
        auto items = pop_mark();
        add_items(*top(), std::move(items), true);
        break;
      }
      case 'q': memo_put(uint_le(1)); break;                     // BINPUT
      case 'r': memo_put(uint_le(4)); break;                     // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;                  // MEMOIZE
      case 'h': push(memo_get(uint_le(1))); break;               // BINGET
      case 'j': push(memo_get(uint_le(4))); break;               // LONG_BINGET
      case 'c': {                                                // GLOBAL "module\nname\n"
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {                                               // STACK_GLOBAL
        Ref name = pop();
        Ref module = pop();
        if (name->kind != Object::Kind::String || module->kind != Object::Kind::String)
          error("STACK_GLOBAL needs two strings");
        push(global(module->text, name->text));
        break;
      }
      case 'R': {                                                // REDUCE
        Ref args = pop();
        Ref callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {                                               // NEWOBJ cls.__new__(cls, *args)
        Ref args = pop();
        Ref cls = pop();
        if (cls->kind != Object::Kind::Global || cls->callable != Callable::Inert)
          error("refusing to construct " + cls->text);
        push(opaque(cls->text));
        break;
      }
      case 'b': {                                                // BUILD: set state
        Ref state = pop();
        const Object& target = *top();
        // OrderedDict state (e.g. state_dict._metadata) and opaque objects' state are ignored.
        if (target.kind != Object::Kind::Dict && target.kind != Object::Kind::Opaque &&
            target.kind != Object::Kind::Tensor)
          error("BUILD on an unsupported object");
        break;
      }
      case 'Q': {                                                // BINPERSID
        Ref pid = pop();
        push(persistent_load(pid));
        break;
      }
      default: {
        std::ostringstream s;
        s << "unsupported opcode 0x" << std::hex << static_cast<int>(op)
          << " (only what torch.save writes is accepted)";
        error(s.str());
      }
    }
  }
}

// Walks dicts (not lists) collecting tensors and scalars by dotted key path.
void flatten(const Ref& node, const std::string& prefix, int depth, PickleContents& out) {
  const std::string name = prefix.empty() ? "" : prefix;
  switch (node->kind) {
    case Object::Kind::Tensor:
      out.tensors[name] = node->tensor;
      return;
    case Object::Kind::Int:
      out.scalars[name] = std::to_string(node->integer);
      return;
    case Object::Kind::Float: {
      std::ostringstream s;
      s << node->real;
      out.scalars[name] = s.str();
      return;
    }
    case Object::Kind::Bool:
      out.scalars[name] = node->boolean ? "true" : "false";
      return;
    case Object::Kind::String:
      out.scalars[name] = node->text;
      return;
    case Object::Kind::Dict:
      if (depth >= 8) return;  // weights never sit this deep; optimizer internals may
      for (std::size_t i = 0; i + 1 < node->items.size(); i += 2) {
        const Ref& key = node->items[i];
        std::string k;
        if (key->kind == Object::Kind::String) k = key->text;
        else if (key->kind == Object::Kind::Int) k = std::to_string(key->integer);
        else continue;
        flatten(node->items[i + 1], prefix.empty() ? k : prefix + "." + k, depth + 1, out);
      }
      return;
    default:
      return;
  }
}

}  // namespace

PickleContents read_pickle(const std::uint8_t* data, std::size_t size, const std::string& where,
                           const StorageLoader& load_storage) {
  Machine machine(data, size, where, load_storage);
  const Ref root = machine.run();
  PickleContents out;
  flatten(root, "", 0, out);
  return out;
}

}  // namespace msnlens
