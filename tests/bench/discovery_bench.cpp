// u2u-bench-discovery: what discovery's authenticity costs (docs/protocol.md 10.5). Times, side by side in one
// run, signing a relay announcement, verifying it (the certificate, its chain check cached, then the signature),
// decoding it, and a whole source-side receive (decode, replay check, rate limit, verify, selection); prints
// medians.
// Usage: u2u-bench-discovery [ROUNDS]   (default 2000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "protocol/discovery.hpp"
#include "unit/pki.hpp"

using namespace u2u;
using Clock = std::chrono::steady_clock;

namespace {

double median_us(int rounds, const std::function<void(int)>& body) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    body(i);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::nth_element(us.begin(), us.begin() + rounds / 2, us.end());
  return us[static_cast<std::size_t>(rounds / 2)];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
  test::TestPki pki;
  const auto relay = pki.party("relay-a", crypto::Role::kRelay, 0x000002);
  const auto source = pki.party("source-ue", crypto::Role::kUe, 0x000001);
  const Now now = test::test_now();
  protocol::DiscoveryConfig config;
  config.destinations = {*Endpoint::parse("10.0.0.1", 5001)};
  config.signalling_port = 4002;
  protocol::RelayDiscovery announcer(relay, config, {{"target-ue", 0x000003, *Endpoint::parse("10.0.0.3", 4003)}});
  const Bytes datagram = announcer.on_timer(now).send.at(0).datagram;
  const auto decoded = wire::decode_discovery_datagram(datagram);
  if (!decoded) return 1;

  wire::DiscoveryMessage m = decoded->message.message;
  const double sign = median_us(rounds, [&](int) { (void)protocol::sign_discovery(relay, m); });
  const double decode = median_us(rounds, [&](int) { (void)wire::decode_discovery_datagram(datagram); });
  const double verify = median_us(rounds, [&](int) {
    (void)protocol::verify_discovery(source, decoded->message, crypto::Role::kRelay, now, std::chrono::seconds(30));
  });
  // A whole receive at the source: a fresh announcement each time (the replay check passes), from a new address
  // each time (the rate limit passes).
  std::vector<Bytes> fresh;
  for (int i = 0; i < rounds; ++i) {
    Now t = now;
    t.wall += std::chrono::milliseconds(i + 1);
    t.mono += std::chrono::seconds(i + 1);
    fresh.push_back(announcer.on_timer(t).send.at(0).datagram);
  }
  protocol::SourceDiscovery listener(source, config, "target-ue", protocol::DiscoveryModel::kModelA,
                                     protocol::SelectionPolicy::kFirst, {});
  const double receive = median_us(rounds, [&](int i) {
    Now t = now;
    t.wall += std::chrono::milliseconds(i + 1);
    (void)listener.on_datagram(*Endpoint::parse("10.0.0.2", static_cast<std::uint16_t>(1024 + i)),
                               fresh[static_cast<std::size_t>(i)], t);
  });
  std::printf("relay announcement: %zu octets; %d rounds; medians in microseconds\n", datagram.size(), rounds);
  std::printf("  sign (ECDSA P-256)                          %8.1f\n", sign);
  std::printf("  decode                                      %8.1f\n", decode);
  std::printf("  verify (certificate, chain cached; ECDSA)   %8.1f\n", verify);
  std::printf("  source receive (decode..verify..select)     %8.1f\n", receive);
  std::printf("  verify / sign                               %8.2f\n", verify / sign);
  return 0;
}
