#pragma once
// The source UE (seed steps 1 and 8): sends the DIRECT COMMUNICATION REQUEST through the selected relay and
// verifies the relayed DIRECT COMMUNICATION ACCEPT before it derives KD.
#include <optional>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/node.hpp"

namespace u2u::protocol {

struct SourceConfig {
  LocalParty self;
  std::string relay_user_info_id;  // the relay selected after discovery (seed step 0)
  wire::Layer2Id relay_layer2_id = 0;
  Endpoint relay_endpoint;
  std::string target_user_info_id;
  wire::Layer2Id target_layer2_id = 0;
  Millis handshake_timeout = kDefaultHandshakeTimeout;
  bool forward_secrecy = false;  // security.forward_secrecy: an ephemeral P-256 key in the request
};

class SourceUe final : public Node {
 public:
  enum class State { kIdle, kAwaitingAccept, kEstablished, kFailed };

  explicit SourceUe(SourceConfig config, RandomSource random = system_random());

  // Seed step 1. Starts a new handshake whatever the state (an established link stays until it succeeds).
  Output start(const Now& now);
  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  State state() const { return state_; }
  // The keys of the established link, or nullptr.
  const SessionKeys* keys() const { return keys_ ? &*keys_ : nullptr; }
  const std::optional<Error>& failure() const { return failure_; }
  const SourceConfig& config() const { return config_; }

 private:
  struct Pending {
    wire::Digest digest{};
    wire::Nonce nonce_1{};
    std::string session;
    MonoTime started{};
    MonoTime deadline{};
    std::shared_ptr<const crypto::PrivateKey> ephemeral;  // forward secrecy option; dropped once used
  };

  Output on_accept(const wire::Message& message, const Now& now);
  Output on_reject(const wire::DirectCommunicationReject& reject);
  Result<SessionKeys> verify_accept(const wire::Message& message, const Now& now) const;
  Output fail(Error error);
  Outbound reject_to_relay(Cause cause) const;

  SourceConfig config_;
  RandomSource random_;
  State state_ = State::kIdle;
  std::optional<Pending> pending_;
  std::optional<SessionKeys> keys_;
  std::optional<Error> failure_;
};

}  // namespace u2u::protocol
