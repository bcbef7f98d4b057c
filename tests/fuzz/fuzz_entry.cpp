// libFuzzer entry point; compiled once per target with -DMSNLENS_FUZZ_TARGET=<name>.
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return msnlens::fuzz::MSNLENS_FUZZ_TARGET(data, size);
}
