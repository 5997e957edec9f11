#pragma once
// The target UE (seed steps 4 and 5): verifies SIGN1-relay and SIGN-Source UE, derives KD, and answers with a
// DIRECT COMMUNICATION ACCEPT whose signature covers the digest of the request it answers and whose MAC proves
// KD-sess. The link is established only when the source's LINK CONFIRM proves KD-sess back (step 9).
#include <deque>
#include <map>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/node.hpp"
#include "protocol/replay_cache.hpp"

namespace u2u::protocol {

struct TargetConfig {
  LocalParty self;
  // How long an answered request waits for the source's LINK CONFIRM, and is remembered so that a
  // retransmitted request gets the same accept.
  Millis session_timeout = kDefaultTargetSessionTimeout;
  std::size_t max_sessions = kDefaultTargetMaxSessions;
  bool require_forward_secrecy = false;  // security.forward_secrecy: refuse requests without an ephemeral key
  Millis replay_window = kDefaultReplayWindow;
  std::size_t replay_cache_size = kDefaultReplayCacheSize;
};

class TargetUe final : public Node {
 public:
  explicit TargetUe(TargetConfig config, RandomSource random = system_random());

  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  // Keys of the most recent confirmed link with `source_user_info_id`, or nullptr.
  const SessionKeys* keys_for(std::string_view source_user_info_id) const;
  std::size_t session_count() const { return sessions_.size(); }

 private:
  struct Session {
    std::string source_user_info_id;
    std::string relay_user_info_id;
    std::string session;
    Endpoint relay_endpoint;
    Bytes accept_datagram;  // resent unchanged when the same request arrives again
    Bytes accept_message;   // the accept as sent: the link confirmation MAC covers its digest
    SessionKeys keys;
    MonoTime started{};
    MonoTime expiry{};
    bool confirmed = false;
  };

  Output on_request(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_link_confirm(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_reject(const Endpoint& from, const wire::Datagram& datagram);
  Result<crypto::VerifiedPeer> verify_request(const wire::Message& message, const Now& now) const;
  Outbound reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest, Cause cause) const;
  Event link_failed(const Session& s, const Error& error) const;

  TargetConfig config_;
  RandomSource random_;
  std::map<wire::Digest, Session> sessions_;
  std::deque<std::pair<MonoTime, wire::Digest>> expiry_order_;  // one timeout for all: FIFO order
  std::map<std::string, SessionKeys, std::less<>> links_;       // by source User Info ID
  ReplayCache replay_;
};

}  // namespace u2u::protocol
