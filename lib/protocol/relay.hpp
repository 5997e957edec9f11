#pragma once
// The UE-to-UE relay (seed steps 2, 3, 6, 7): verifies before it forwards, countersigns what it forwards,
// never forwards what failed, and answers a failed verification with DIRECT COMMUNICATION REJECT #6.
#include <deque>
#include <map>

#include "protocol/constants.hpp"
#include "protocol/node.hpp"
#include "protocol/replay_cache.hpp"

namespace u2u::protocol {

struct RelayTarget {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  Endpoint endpoint;
};

struct RelayConfig {
  LocalParty self;
  std::vector<RelayTarget> targets;  // the target UEs this relay reaches (discovery comes later)
  std::size_t max_pending = kDefaultRelayMaxPending;
  Millis pending_timeout = kDefaultRelayPendingTimeout;
  Millis replay_window = kDefaultReplayWindow;
  std::size_t replay_cache_size = kDefaultReplayCacheSize;
};

class RelayUe final : public Node {
 public:
  explicit RelayUe(RelayConfig config);

  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  std::size_t pending_count() const { return pending_.size(); }
  const RelayConfig& config() const { return config_; }

 private:
  // One request the relay forwarded: where its answer goes back to. Keyed by the request digest.
  struct Pending {
    Endpoint source_endpoint;
    wire::Layer2Id source_layer2_id = 0;
    std::string source_user_info_id;
    std::size_t target = 0;  // index into config_.targets
    std::string session;
    Bytes forwarded_request;  // the datagram sent to the target (step 3), resent for a retransmission
    Bytes forwarded_accept;   // the datagram sent to the source (step 7), once answered
    MonoTime expiry{};
  };

  Output on_request(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_accept(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_reject(const Endpoint& from, const wire::Datagram& datagram);
  Output on_link_confirm(const Endpoint& from, const wire::Datagram& datagram);
  Outbound reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest, Cause cause) const;
  const RelayTarget* find_target(std::string_view user_info_id) const;

  RelayConfig config_;
  std::map<wire::Digest, Pending> pending_;
  ReplayCache replay_;
  std::deque<std::pair<MonoTime, wire::Digest>> expiry_order_;  // all entries share one timeout: FIFO order
};

}  // namespace u2u::protocol
