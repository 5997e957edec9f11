#pragma once
// The listening end of a UDP forward (docs/protocol.md 11.1): one 16-bit flow ID per client address, so that the
// other end can send each client's datagrams from a socket of their own and the answers find their way back.
// Bounded (kMaxFlowsPerForward) and forgetful (a flow idle for the idle time is dropped). Sans-I/O.
#include <chrono>
#include <map>
#include <optional>

#include "common/endpoint.hpp"
#include "common/time.hpp"
#include "dataplane/constants.hpp"

namespace u2u::dataplane {

class ListenFlows {
 public:
  explicit ListenFlows(Millis idle = Millis(kDefaultFlowIdleMs), std::size_t capacity = kMaxFlowsPerForward)
      : idle_(idle), capacity_(capacity) {}
  // The flow of `client`, new when it has none; nullopt when the table is full of flows that are not idle.
  std::optional<std::uint16_t> flow_of(const Endpoint& client, MonoTime now);
  // The client of `flow` (refreshing it), or nullopt for a flow this end does not know.
  std::optional<Endpoint> client_of(std::uint16_t flow, MonoTime now);
  // Forgets the flows idle for longer than the idle time.
  void expire(MonoTime now);
  std::size_t size() const { return by_flow_.size(); }

 private:
  struct Flow {
    Endpoint client;
    MonoTime used{};
  };
  Millis idle_;
  std::size_t capacity_;
  std::map<std::uint16_t, Flow> by_flow_;
  std::map<Endpoint, std::uint16_t> by_client_;
  std::uint16_t next_ = 1;
};

}  // namespace u2u::dataplane
