#pragma once
// Seed step 0 for a testbed: a provisioning CA, role credentials, and ready daemon configs.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "crypto/certificate.hpp"
#include "wire/messages.hpp"

namespace u2u::provision {

// DIR/cert.pem and DIR/key.pem (0600). Refuses to overwrite an existing key unless `force`.
Status write_credential(const std::string& dir, const crypto::Certificate& cert, const crypto::PrivateKey& key,
                        bool force);
Result<crypto::CertificateAuthority> create_ca(const std::string& dir, const std::string& name, WallTime not_before,
                                               WallTime not_after, bool force);
Result<crypto::CertificateAuthority> load_ca(const std::string& dir);
Status issue(const crypto::CertificateAuthority& ca, const crypto::IssueRequest& request, const std::string& out_dir,
             bool force);

struct Host {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  std::string address;  // where the others reach it
  std::string listen;   // where it binds (usually = address; 0.0.0.0 for a relay with two legs)
  std::uint16_t port = 0;
};

// Discovery configs (issue #6) instead of static relay and target addresses: over a multicast group (all three on
// port base+10; each host's own addresses), or to neighbours (source base+10, relay base+11, target base+12).
enum class TestbedDiscovery { kNone, kNeighbours, kMulticast };
inline constexpr std::uint16_t kDiscoveryPortOffset = 10;
inline constexpr const char* kDefaultMulticastGroup = "239.192.85.50";  // organization-local scope (RFC 2365)

struct TestbedPlan {
  std::string out;
  TestbedDiscovery discovery = TestbedDiscovery::kNone;
  std::string discovery_model = "A";
  std::string multicast_group = kDefaultMulticastGroup;
  std::string relay_target_address;  // the relay's address on the target's segment (default: relay.address)
  Host source{"source-ue", 0x000001, "127.0.0.1", "127.0.0.1", 0};
  Host relay{"relay-ue", 0x000002, "127.0.0.1", "127.0.0.1", 0};
  Host target{"target-ue", 0x000003, "127.0.0.1", "127.0.0.1", 0};
  std::string log_format = "text";
  int days = 365;
  bool force = false;
};

inline constexpr std::uint16_t kDefaultBasePort = 40100;

// DIR/ca, DIR/<role>/{cert,key}.pem and DIR/<role>.yaml for source-ue, relay-ue and target-ue.
// Returns the files written.
Result<std::vector<std::string>> write_testbed(const TestbedPlan& plan, WallTime now);

// "2026-01-01T00:00:00Z" (or a date alone) as UTC.
std::optional<WallTime> parse_utc(const std::string& text);

}  // namespace u2u::provision
