#pragma once
// u2u-load's command line: what to drive through the relay, and how hard. Parsed apart from the run, so that
// tests check flags without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint.hpp"
#include "common/error.hpp"
#include "protocol/constants.hpp"
#include "protocol/timers.hpp"
#include "wire/messages.hpp"

namespace u2u::load {

inline constexpr int kExitOk = 0;          // the run completed (handshakes may have failed: the figures say so)
inline constexpr int kExitIncomplete = 1;  // --timeout-ms passed first, or the relay process (--relay-pid) died
inline constexpr int kExitUsage = 2;       // bad flags, an unreadable CA, too few file descriptors

// The relay's per-address limit on new requests (config/relay-ue.yaml rate_limit), which the bad-signature flood
// keeps to so that every request it sends reaches the signature check.
inline constexpr double kRelayRatePerSecond = protocol::kDefaultRateLimitPerSecond;
inline constexpr double kRelayRateBurst = protocol::kDefaultRateLimitBurst;

struct Options {
  // Where the sources go: one relay-ue and the target-ue behind it.
  std::string ca_dir;  // a provisioning CA (u2u-provision: DIR/cert.pem, DIR/key.pem) that issues each source
  Endpoint relay;
  std::string relay_host;  // --relay NAME:PORT: resolved at the start, and again before each --reestablish handshake
  // Credentials issued beforehand (u2u-provision issue, concatenated: each source's certificate, then its key): no
  // CA key in this process; ca_dir then only names the CA's certificate (a file, or a directory's cert.pem).
  std::string credentials_path;
  std::string relay_id = "relay-ue";  // the defaults are u2u-provision testbed's
  wire::Layer2Id relay_layer2_id = 0x000002;
  std::string target_id = "target-ue";
  wire::Layer2Id target_layer2_id = 0x000003;
  std::optional<Endpoint> bind;  // local address of every socket (default: any address of the relay's family)
  // Each socket its own host: socket n (sources first, then the floods') is bound to this IPv4 address + n, so that
  // the relay counts each simulated UE as its own host (its rate limit and quotas go per host). By default
  // 127.100.0.1 when the relay is on IPv4 loopback (any 127/8 address is local on Linux) and --bind is not given.
  std::optional<Endpoint> hosts_base;
  bool one_host = false;  // --one-host: every socket from --bind (or any address): the relay sees one host

  // Handshakes: each source has its own credential, Layer-2 ID and UDP socket.
  std::size_t sources = 0;
  std::size_t concurrency = 50;  // handshakes in progress at once
  bool hold = false;             // keep confirmed links (keep-alive) until the end, then release them
  Millis hold_time{2000};        // with --hold: how long the links stay up after the last handshake ended
  bool reestablish = false;      // with --hold: a held link that is lost is established anew, as source-ue does
  std::string id_prefix = "load-source-";
  wire::Layer2Id layer2_base = 0x100000;  // source i (from 1) gets layer2_base + i
  protocol::RetransmitPolicy t5080{protocol::kDefaultT5080, protocol::kDefaultMaxTries, 2, protocol::kJitterPercent,
                                   protocol::kDefaultT5080Max};
  Millis keepalive_interval = protocol::kDefaultKeepaliveInterval;
  protocol::RetransmitPolicy t5085{protocol::kDefaultKeepaliveTimeout, protocol::kDefaultKeepaliveMaxTries, 1,
                                   protocol::kJitterPercent, protocol::kDefaultKeepaliveTimeout};

  // Hostile traffic while the handshakes run.
  double junk_rate = 0;  // datagrams per second
  std::size_t junk_sockets = 64;
  double bad_signature_rate = 0;  // requests per second; 0 with bad_signature_max: as fast as the relay answers
  bool bad_signature_max = false;
  std::size_t bad_signature_sockets = 256;
  std::size_t bad_signature_window = 64;  // --bad-signature-rate max: requests awaiting their REJECT at once
  double relay_rate_per_second = kRelayRatePerSecond;
  double relay_rate_burst = kRelayRateBurst;
  Millis flood_lead{1000};               // the floods start this long before the first handshake
  std::size_t flood_lead_datagrams = 0;  // ... and the first handshake waits until they have sent this many
  Millis duration{0};                    // floods without handshakes (--sources 0): how long

  // Measurement.
  std::optional<int> relay_pid;  // sample its VmRSS each second
  Millis settle{0};              // after the releases, wait this long (the relay's timeouts) for the last sample
  Millis timeout{600000};        // the whole run
  std::optional<std::uint64_t> seed;
  std::string json_path;    // one JSON object with every figure
  std::string events_path;  // the sources' events, one JSON line each (as source-ue logs them)
  std::string label;

  bool help = false;
  bool version = false;

  // How many sockets the sources take: the floods' hosts come after theirs.
  std::size_t flood_host_base() const { return sources; }
  bool flooding() const { return junk_rate > 0 || bad_signature_rate > 0 || bad_signature_max; }
};

// `args` without the program name. The error's reason is the message for the person at the terminal.
Result<Options> parse(const std::vector<std::string>& args);
std::string usage();

}  // namespace u2u::load
