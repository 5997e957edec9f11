// libFuzzer target fuzz_decode: wire::decode_datagram and re-encoding: every input that decodes round-trips
// (fuzz_harness.hpp).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_harness.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  u2u::fuzz::initialize();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)u2u::fuzz::fuzz_decode_one(u2u::ByteView(data, size));
  return 0;
}
