#pragma once
// Runs the three state machines against each other in memory: datagrams go from one node's Output to the node
// at the addressed endpoint until nothing is left to deliver. A hook may rewrite or drop datagrams in flight.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/node.hpp"
#include "protocol/relay.hpp"
#include "protocol/source.hpp"
#include "protocol/target.hpp"
#include "unit/pki.hpp"

namespace u2u::test {

inline const Endpoint kSourceEndpoint = *Endpoint::parse("10.0.0.1", 4001);
inline const Endpoint kRelayEndpoint = *Endpoint::parse("10.0.0.2", 4002);
inline const Endpoint kTargetEndpoint = *Endpoint::parse("10.0.0.3", 4003);
inline constexpr wire::Layer2Id kSourceL2 = 0x000101;
inline constexpr wire::Layer2Id kRelayL2 = 0x000202;
inline constexpr wire::Layer2Id kTargetL2 = 0x000303;

// Host i of many (10.9.x.y), each its own sender host for the rate limits and shares.
inline Endpoint host(int i, std::uint16_t port = 5000) {
  return *Endpoint::parse("10.9." + std::to_string(i / 256) + "." + std::to_string(i % 256), port);
}

struct LoggedEvent {
  std::string role;
  protocol::Event event;
};

struct InFlight {
  Endpoint from;
  Endpoint to;
  Bytes datagram;
};

class InMemoryNetwork {
 public:
  void attach(const Endpoint& at, std::string role, protocol::Node& node) { nodes_[at] = {std::move(role), &node}; }
  // Return false to drop the datagram; it may be modified in place.
  std::function<bool(InFlight&)> on_flight;
  // How many extra copies of a datagram that passed on_flight arrive (duplication on the link).
  std::function<int(const InFlight&)> extra_copies;

  void deliver(const Endpoint& from, const std::string& role, protocol::Output out, const Now& now);
  std::vector<LoggedEvent> log;
  std::vector<InFlight> wire_log;  // every datagram that was delivered
  std::size_t jobs_run = 0;        // nodes' jobs (Output::jobs), each run in its turn after what was queued before it

  std::vector<protocol::Event> events(std::string_view role, std::string_view name) const;
  bool has(std::string_view role, std::string_view name) const { return !events(role, name).empty(); }

 private:
  std::map<Endpoint, std::pair<std::string, protocol::Node*>> nodes_;
};

// The canonical three parties of one PKI (key generation is the slow part: tests reuse them).
struct Parties {
  explicit Parties(const TestPki& pki)
      : source(pki.party("source-ue", crypto::Role::kUe, kSourceL2)),
        relay(pki.party("relay-ue", crypto::Role::kRelay, kRelayL2)),
        target(pki.party("target-ue", crypto::Role::kUe, kTargetL2)) {}
  protocol::LocalParty source, relay, target;
};

// The canonical three parties from one PKI, wired together.
struct Testbed {
  explicit Testbed(const TestPki& pki);
  Testbed(protocol::LocalParty source, protocol::LocalParty relay, protocol::LocalParty target);
  Testbed(protocol::SourceConfig source, protocol::RelayConfig relay, protocol::TargetConfig target);

  protocol::SourceUe source;
  protocol::RelayUe relay;
  protocol::TargetUe target;
  InMemoryNetwork net;

  void run(const Now& now = test_now());  // source.start() and deliver everything
  // Simulated time: fires every node's deadlines in time order up to `until` (retransmissions, keep-alives,
  // expiries), delivering what each produces. Returns the time of the last deadline fired.
  Now fire_timers(const Now& until);
};

// `now` moved forward by `by`, on both clocks.
Now later(const Now& now, std::chrono::milliseconds by);

protocol::SourceConfig source_config(protocol::LocalParty self);
protocol::RelayConfig relay_config(protocol::LocalParty self);
protocol::TargetConfig target_config(protocol::LocalParty self);

std::string str(const protocol::Event& e, std::string_view key);
std::int64_t num(const protocol::Event& e, std::string_view key);

// The checks named by an output's check_failed events, in order.
std::vector<std::string> checks(const protocol::Output& out);
// The cause of the first DIRECT COMMUNICATION REJECT an output sends, if any.
std::optional<Cause> rejected_with(const protocol::Output& out);

// A source's DIRECT COMMUNICATION REQUEST, as it leaves the source (step 1), the same bytes each time.
struct Source {
  Source(const TestPki& pki, const std::string& id, wire::Layer2Id l2)
      : ue(source_config(pki.party(id, crypto::Role::kUe, l2))) {}
  protocol::SourceUe ue;
  Bytes request() {
    if (first.empty()) first = ue.start(test_now()).send.at(0).datagram;
    return first;
  }
  Bytes first;
};

}  // namespace u2u::test
