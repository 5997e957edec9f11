#pragma once
// The target UE (seed steps 4 and 5): verifies SIGN-Source UE and SIGN1-relay, derives KD, and answers with a
// DIRECT COMMUNICATION ACCEPT whose signature also covers the digest of the request it answers.
#include <deque>
#include <map>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/node.hpp"

namespace u2u::protocol {

struct TargetConfig {
  LocalParty self;
  Millis session_timeout = kDefaultTargetSessionTimeout;  // how long an answered request is remembered
  std::size_t max_sessions = kDefaultTargetMaxSessions;
};

class TargetUe final : public Node {
 public:
  explicit TargetUe(TargetConfig config, RandomSource random = system_random());

  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  // Keys of the most recent link with `source_user_info_id`, or nullptr.
  const SessionKeys* keys_for(std::string_view source_user_info_id) const;
  std::size_t session_count() const { return sessions_.size(); }

 private:
  struct Session {
    std::string source_user_info_id;
    std::string session;
    Bytes accept_datagram;  // resent unchanged when the same request arrives again
    MonoTime expiry{};
  };

  Output on_request(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Result<crypto::VerifiedPeer> verify_request(const wire::Message& message, const Now& now) const;
  Outbound reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest, Cause cause) const;

  TargetConfig config_;
  RandomSource random_;
  std::map<wire::Digest, Session> sessions_;
  std::deque<std::pair<MonoTime, wire::Digest>> expiry_order_;
  std::map<std::string, SessionKeys, std::less<>> links_;  // by source User Info ID
};

}  // namespace u2u::protocol
