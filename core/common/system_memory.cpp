#include "common/system_memory.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

namespace msnlens {

std::optional<std::uint64_t> available_memory_bytes() {
  std::optional<std::uint64_t> available;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") available = kib * 1024;
  if (const char* cap = std::getenv("MSNLENS_MEMORY_LIMIT_MB")) {
    const auto limit = static_cast<std::uint64_t>(std::strtoull(cap, nullptr, 10)) << 20;
    if (limit > 0) available = available ? std::min(*available, limit) : limit;
  }
  return available;
}

}  // namespace msnlens
