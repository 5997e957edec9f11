// libFuzzer target fuzz_discovery: the three discovery agents' on_datagram and on_timer (RelayDiscovery,
// TargetDiscovery, SourceDiscovery in Model A and B), the first input octet choosing one, with the vectors' parties
// (fuzz_harness.hpp).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_harness.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  u2u::fuzz::initialize();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)u2u::fuzz::fuzz_discovery_one(u2u::ByteView(data, size));
  return 0;
}
