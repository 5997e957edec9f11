#pragma once
// The daemons' YAML configuration (config/*.yaml documents every key). Loading is strict: an unknown key, a
// missing key, a value of the wrong type or out of range is an error naming the file and the key path.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "logging/event_log.hpp"
#include "protocol/discovery.hpp"
#include "protocol/node.hpp"
#include "protocol/relay.hpp"
#include "protocol/source.hpp"
#include "protocol/target.hpp"

namespace u2u::config {

struct Listen {
  std::string address;
  std::uint16_t port = 0;
};

struct Credentials {
  std::string ca;                         // path of the provisioning CA certificate (PEM): the trust anchor
  std::string certificate;                // own certificate (PEM)
  std::string private_key;                // own P-256 private key (PEM)
  std::set<std::string> revoked_serials;  // deny list: certificate serials (hex) refused as revoked
};

struct Log {
  logging::Format format = logging::Format::kText;
  protocol::Level level = protocol::Level::kInfo;
  // Opt-in, for researchers decrypting captures: session IDs with KD-sess (SSLKEYLOGFILE-like). Off when empty.
  std::string key_log_file;
};

// Keys every daemon has.
struct Common {
  std::string file;  // the config file, for error messages
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  Listen listen;
  Credentials credentials;
  Log log;
  std::optional<Listen> metrics;  // metrics.listen: the Prometheus endpoint (issue 14); off when absent
};

// discovery: (issue #6; config/*.yaml documents each key)
struct DiscoveryFile {
  Listen listen;                          // the discovery socket (a multicast port is shared by the host's daemons)
  std::optional<Listen> multicast_group;  // group address and port
  std::vector<std::string> interfaces;    // local addresses to join the group on and send out of
  std::vector<Listen> neighbours;         // unicast destinations, where multicast is not available
  Millis interval{};
  Millis lifetime{};
  Millis max_clock_skew{};
  std::uint32_t relay_service_code = 0;
  protocol::DiscoveryModel model = protocol::DiscoveryModel::kModelA;
  protocol::SelectionPolicy selection = protocol::SelectionPolicy::kFirst;  // source
  std::vector<std::string> preference;                                      // source
};

// data: the user data a link carries (issue 10; docs/protocol.md 11; config/source-ue.yaml documents each key).
struct TunFile {
  std::string name;     // interface name
  std::string address;  // IPv4 address with prefix length, e.g. 10.77.0.1/24
  std::uint32_t address_v4 = 0;
  unsigned prefix = 0;
  std::uint32_t mtu = 0;
};
struct ForwardFile {
  std::string name;  // for the logs; the two ends match forwards by `bearer`
  std::uint8_t bearer = 0;
  std::optional<Listen> listen;  // at this end: datagrams arriving here are sent from the other end
  std::optional<Listen> to;      // at this end: datagrams of this bearer from the other end are sent here
};
struct DataFile {
  std::vector<dataplane::Suite> algorithms{dataplane::kDefaultSuites.begin(), dataplane::kDefaultSuites.end()};
  std::optional<TunFile> tun;
  std::vector<ForwardFile> forwards;
  Millis link_stats_interval = protocol::kDefaultLinkStatsInterval;  // 0: no link_stats
  // Rekeying (docs/protocol.md 12): when the keys are this old (0: never by time), and after this many PDUs sent
  // under them (0: only when COUNT nears its end).
  Millis rekey_after = protocol::kDefaultRekeyAfter;
  std::uint64_t rekey_after_packets = dataplane::kDefaultRekeyAfterPackets;
  bool enabled() const { return tun.has_value() || !forwards.empty(); }
};

struct SourceFile {
  Common common;
  std::optional<DiscoveryFile> discovery;  // without it, `relay` names the relay
  std::string relay_user_info_id;
  wire::Layer2Id relay_layer2_id = 0;
  Listen relay;
  std::string target_user_info_id;
  wire::Layer2Id target_layer2_id = 0;
  // timers: (TS 24.554 T5080, T5084, T5085; lib/protocol/timers.hpp)
  Millis t5080{};
  Millis t5080_max{};
  unsigned max_tries = 0;
  Millis keepalive_interval{};
  Millis link_max_lifetime{};
  Millis keepalive_timeout{};
  unsigned keepalive_max_tries = 0;
  Millis retry_interval{};  // without --once: the wait before trying again after a failure
  bool forward_secrecy = false;
  DataFile data;
};

struct RelayTargetFile {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  Listen endpoint;
};

struct RelayFile {
  Common common;
  std::optional<DiscoveryFile> discovery;
  std::vector<RelayTargetFile> targets;
  std::size_t max_pending = 0;
  std::size_t max_pending_per_source = 0;
  std::size_t max_pending_per_host = 0;
  Millis pending_timeout{};
  std::size_t max_links = 0;
  Millis link_timeout{};
  Millis link_max_lifetime{};
  double rate_limit_per_second = 0;
  double rate_limit_burst = 0;
  Millis replay_window{};
  std::size_t replay_cache_size = 0;
  std::optional<std::size_t> workers;  // threads for the signature work; nullopt (auto): one per core
  Millis link_stats_interval{};        // 0 (the default): no link_stats
};

struct TargetFile {
  Common common;
  std::optional<DiscoveryFile> discovery;
  std::size_t max_sessions = 0;
  std::size_t max_sessions_per_source = 0;
  std::size_t max_sessions_per_relay = 0;
  Millis session_timeout{};
  bool forward_secrecy = false;  // required of every request
  DataFile data;
  Millis link_timeout{};
  Millis link_max_lifetime{};
  Millis replay_window{};
  std::size_t replay_cache_size = 0;
  std::optional<std::size_t> workers;  // threads for the signature work; nullopt (auto): one per core
};

Result<SourceFile> load_source(const std::string& path);
Result<RelayFile> load_relay(const std::string& path);
Result<TargetFile> load_target(const std::string& path);

// Seed step 0 from files: reads and cross-checks the credentials. Errors (exit 2): unreadable file, bad PEM,
// a key that is not P-256, a certificate that does not match the key or names another User Info ID, a CA
// certificate that is not a CA. Warnings (the daemon starts; peers will refuse it): own certificate not
// chaining to the configured CA, outside its validity, or without the role; a key file others can read.
Result<protocol::LocalParty> load_party(const Common& common, crypto::Role role, WallTime now,
                                        std::vector<std::string>& warnings);

Result<Endpoint> resolve(const Listen& listen, const std::string& file, const std::string& key);
// A peer's address in a config (a relay's targets, a source's relay): a numeric address, or a host name that the
// daemon resolves itself (lib/daemon/peer_names.hpp).
struct PeerAddress {
  std::optional<Endpoint> endpoint;  // numeric
  std::string host;                  // else a host name
  std::uint16_t port = 0;
};
Result<PeerAddress> peer_address(const Listen& listen, const std::string& file, const std::string& key);
// The discovery destinations (the multicast group, the neighbours) and timers for the protocol core;
// `signalling_port`: the daemon's own listen port, which its announcements and responses carry.
Result<protocol::DiscoveryConfig> discovery_config(const DiscoveryFile& d, const std::string& file,
                                                   std::uint16_t signalling_port);

}  // namespace u2u::config
