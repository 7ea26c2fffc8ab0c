// libFuzzer entry points for one target (OTR_FUZZ=ON, clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>

#include "fuzzers.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  fuzz_init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz(std::span<const std::uint8_t>(data, size));
  return 0;
}
