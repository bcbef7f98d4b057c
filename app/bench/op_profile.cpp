#include "op_profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

namespace msnlens {
namespace {

using Clock = std::chrono::steady_clock;

struct Frame {
  Clock::time_point start;
  double children_ms = 0;
};

struct Context : at::ObserverContext {
  std::size_t depth = 0;
};

thread_local std::vector<Frame> stack;
std::mutex mutex;
std::map<std::string, double> self_ms;
at::CallbackHandle handle = 0;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  stack.push_back({Clock::now(), 0});
  auto ctx = std::make_unique<Context>();
  ctx->depth = stack.size();
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  if (stack.empty() || static_cast<Context*>(ctx)->depth != stack.size()) return;
  const Frame frame = stack.back();
  stack.pop_back();
  const double total = std::chrono::duration<double, std::milli>(Clock::now() - frame.start).count();
  if (!stack.empty()) stack.back().children_ms += total;
  const std::lock_guard<std::mutex> lock(mutex);
  self_ms[fn.name()] += total - frame.children_ms;
}

}  // namespace

OpProfile::OpProfile() {
  const std::lock_guard<std::mutex> lock(mutex);
  self_ms.clear();
  handle = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end).scopes({at::RecordScope::FUNCTION}));
}

OpProfile::~OpProfile() { at::removeCallback(handle); }

std::vector<std::pair<std::string, double>> OpProfile::totals() {
  const std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::pair<std::string, double>> out(self_ms.begin(), self_ms.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace msnlens
