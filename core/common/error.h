#pragma once
// One error type for everything the engine refuses: bad files, bad options, bad shapes.
// The message always says where (a file, a tensor, an option) and what is wrong, so front
// ends can show it as one line without a stack trace.

#include <stdexcept>
#include <string>

namespace msnlens {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<where>: <what>").
[[noreturn]] void fail(const std::string& where, const std::string& what);

}  // namespace msnlens
