#pragma once
// How much memory a new model may take: MemAvailable from /proc/meminfo, or the cap a user
// sets with MSNLENS_MEMORY_LIMIT_MB (whichever is smaller).

#include <cstdint>
#include <optional>

namespace msnlens {

// nullopt when neither source says anything (then no check is made).
std::optional<std::uint64_t> available_memory_bytes();

}  // namespace msnlens
