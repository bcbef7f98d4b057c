#pragma once
// One function per parser that reads untrusted bytes. libFuzzer drives them (fuzz_entry.cpp,
// `make fuzz`); test_fuzz_regressions replays the seed corpora and every input a fuzzer ever
// crashed on through the same functions in `make test`. Each returns 0; refusing the input
// with msnlens::Error is the expected outcome for garbage, anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace msnlens::fuzz {

int safetensors(const std::uint8_t* data, std::size_t size);  // header, offsets, tensors
int torch_zip(const std::uint8_t* data, std::size_t size);    // zip container + unpickler
int pickle(const std::uint8_t* data, std::size_t size);       // the unpickler alone
int config(const std::uint8_t* data, std::size_t size);       // config.json + preprocessor_config.json
int image(const std::uint8_t* data, std::size_t size);        // header sniffing, decode, convert, resize
int fewshot(const std::uint8_t* data, std::size_t size);      // .fewshot class files

struct Target {
  const char* name;
  int (*run)(const std::uint8_t*, std::size_t);
};
const std::vector<Target>& targets();

}  // namespace msnlens::fuzz
