#pragma once
// Peers that a config names by host name (a relay's targets, a source's relay), resolved by the daemon itself, so
// that a peer that comes back at another address (a container replaced on another host, a new lease) is reached
// there: relay-ue resolves its targets' names at start and every kPeerResolveInterval, source-ue its relay's before
// each handshake. A name that does not resolve keeps its last address; one never resolved is no peer yet.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint.hpp"
#include "common/time.hpp"
#include "logging/event_log.hpp"

namespace boost::asio {
class io_context;
}

namespace u2u::daemon {

// Ours: a relay reaches a target task that Swarm started elsewhere within 5 s of its name's new address.
inline constexpr Millis kPeerResolveInterval{5000};

class PeerNames {
 public:
  // Resolves `host` for `port` asynchronously and calls `done` once: the addresses in the resolver's order, or none
  // and why.
  using Done = std::function<void(std::vector<Endpoint> addresses, std::string error)>;
  using Resolver = std::function<void(const std::string& host, std::uint16_t port, Done done)>;
  // The system's resolver (getaddrinfo through Boost.Asio), its answer delivered on `io`.
  static Resolver system(boost::asio::io_context& io);

  // `v6`: the family of the daemon's socket; a name's first address of that family is taken.
  PeerNames(logging::EventLog& log, Resolver resolver, bool v6);

  // A peer named `host` (the config's `key`, e.g. "targets[1]"): its index.
  std::size_t add(std::string key, std::string host, std::uint16_t port);
  std::size_t size() const { return peers_.size(); }
  const std::optional<Endpoint>& endpoint(std::size_t i) const { return peers_.at(i).endpoint; }

  // Resolves every name again: `changed(i)` for each peer whose address is new, then `done()` once all have been
  // answered. Logs peer_resolved when an address is new (or known again after a failure), peer_unresolved when a
  // name stops resolving (once, until it resolves again).
  void refresh(std::function<void(std::size_t)> changed, std::function<void()> done = {});

 private:
  struct Peer {
    std::string key, host;
    std::uint16_t port = 0;
    std::optional<Endpoint> endpoint;
    bool failing = false;
  };
  void answered(std::size_t i, const std::vector<Endpoint>& addresses, const std::string& error,
                const std::function<void(std::size_t)>& changed);

  logging::EventLog& log_;
  Resolver resolver_;
  bool v6_;
  std::vector<Peer> peers_;
};

}  // namespace u2u::daemon
