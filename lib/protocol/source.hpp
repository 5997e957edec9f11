#pragma once
// The source UE (seed steps 1 and 8, and step 9's key confirmation): sends the DIRECT COMMUNICATION REQUEST
// through the selected relay (again on T5080 until answered), verifies the relayed DIRECT COMMUNICATION ACCEPT
// before it derives KD, then keeps the link: LINK CONFIRM until acknowledged, keep-alive (T5084/T5085), release.
#include <optional>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/link_credentials.hpp"
#include "protocol/node.hpp"
#include "protocol/rekeying.hpp"
#include "protocol/timers.hpp"

namespace u2u::protocol {

struct SourceConfig {
  LocalParty self;
  std::string relay_user_info_id;  // the relay selected after discovery (seed step 0)
  wire::Layer2Id relay_layer2_id = 0;
  Endpoint relay_endpoint;
  std::string target_user_info_id;
  wire::Layer2Id target_layer2_id = 0;
  RetransmitPolicy t5080{kDefaultT5080, kDefaultMaxTries, 2, kJitterPercent, kDefaultT5080Max};
  Millis keepalive_interval = kDefaultKeepaliveInterval;  // T5084
  RetransmitPolicy t5085{kDefaultKeepaliveTimeout, kDefaultKeepaliveMaxTries, 1, kJitterPercent,
                         kDefaultKeepaliveTimeout};
  bool forward_secrecy = false;  // security.forward_secrecy: an ephemeral P-256 key in the request
  Millis max_link_lifetime = kDefaultLinkMaxLifetime;  // then the link is released and authenticated anew
  // data.algorithms: the user-plane suites offered in step 1, most preferred first (docs/protocol.md 11.2).
  std::vector<dataplane::Suite> data_suites{dataplane::kDefaultSuites.begin(), dataplane::kDefaultSuites.end()};
  RekeyingConfig rekeying;  // data.rekey_after_seconds (docs/protocol.md 12)
};

class SourceUe final : public Node {
 public:
  // kEstablished: KD verified and LINK CONFIRM sent (link_established); confirmed() once the target acknowledged.
  enum class State { kIdle, kAwaitingAccept, kEstablished, kReleasing, kReleased, kFailed };

  explicit SourceUe(SourceConfig config, RandomSource random = system_random());

  // Seed step 1: a new handshake, whatever the state (a link this source held is dropped).
  Output start(const Now& now);
  // DIRECT LINK RELEASE REQUEST, cause #2, for the established link (sent again on T5080 until accepted).
  Output release(const Now& now);
  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  State state() const { return state_; }
  bool confirmed() const { return link_ && link_->confirmed; }
  // The keys of the established link, or nullptr.
  const SessionKeys* keys() const { return link_ ? &link_->keys : nullptr; }
  // The request digest that names the established link (its data PDUs carry its first octets), or nullptr.
  const wire::Digest* link_digest() const { return link_ ? &link_->digest : nullptr; }
  const std::optional<Error>& failure() const { return failure_; }
  // A rekeying of the confirmed link (docs/protocol.md 12), for `trigger` ("packets", "count", "signal"); nothing
  // when there is no confirmed link or one is under way.
  Output rekey(std::string trigger, const Now& now);
  // The next keys this source answered a rekeying with, installed for receiving until the switch, or nullptr.
  const SessionKeys* next_keys() const { return link_ && link_->rekeying ? link_->rekeying->next() : nullptr; }
  const SourceConfig& config() const { return config_; }
  // Discovery chose a relay and learnt the target's Layer-2 ID: the next handshake goes through it.
  void select_relay(std::string user_info_id, wire::Layer2Id layer2_id, Endpoint endpoint,
                    wire::Layer2Id target_layer2_id) {
    config_.relay_user_info_id = std::move(user_info_id);
    config_.relay_layer2_id = layer2_id;
    config_.relay_endpoint = endpoint;
    config_.target_layer2_id = target_layer2_id;
  }
  // SIGHUP: new credentials and trust for the next handshakes; the established link is kept.
  void reload(LocalParty self) { config_.self = std::move(self); }
  // After reload(): the established link's target and relay certificates checked against the (new) trust store; a
  // link that no longer passes ends (link_lost, check "<who>_certificate_<check>") so that the daemon
  // authenticates anew.
  Output recheck(const Now& now);

 private:
  struct Handshake {
    wire::Digest digest{};
    wire::Nonce nonce_1{};
    std::string session;
    MonoTime started{};
    std::shared_ptr<const crypto::PrivateKey> ephemeral;  // forward secrecy option; dropped with the handshake
    Retransmission request;
    // Why the handshake may fail, from what could not be trusted (issue 13): the cause of an unauthenticated REJECT,
    // or the check an accept failed (damaged on the way, or forged). Neither ends the handshake: T5080 goes on, and
    // this is what link_failed reports when it runs out without a valid accept.
    std::optional<Error> hint;
    unsigned rejects = 0;  // REJECTs received for this request
  };
  struct Link {
    wire::Digest digest{};
    std::string session;
    std::string relay_user_info_id;
    SessionKeys keys;
    bool confirmed = false;
    Retransmission confirm;  // LINK CONFIRM until LINK CONFIRM ACK
    std::uint32_t keepalive_counter = 0;
    MonoTime next_keepalive{};
    MonoTime keepalive_sent{};
    Retransmission keepalive;     // KEEPALIVE REQUEST until KEEPALIVE RESPONSE (T5085)
    Retransmission release;       // RELEASE REQUEST until RELEASE ACCEPT
    LinkCredentials credentials;  // the target's and the relay's certificates
    MonoTime end_of_life{};
    std::string end_of_life_reason;
    std::optional<Rekeying> rekeying;
  };
  struct Verified {
    SessionKeys keys;
    LinkCredentials credentials;
  };

  Output on_accept(const wire::Message& message, const Now& now);
  Output on_reject(const Endpoint& from, const wire::DirectCommunicationReject& reject);
  Output on_link_message(const wire::Message& message, const Now& now);
  Result<Verified> verify_accept(const wire::Message& message, const Now& now) const;
  // The link ends: one RELEASE REQUEST (not waited for), then link_lost, after which the daemon starts anew.
  Output retire_link(std::string check, std::string reason, Cause cause);
  Output fail(Error error);
  Output lose_link(std::string check, std::string reason);
  Output released(bool acknowledged);
  Bytes link_datagram(wire::LinkMessage message, std::string_view label) const;
  Event link_event(Level level, std::string name) const;

  SourceConfig config_;
  RandomSource random_;
  State state_ = State::kIdle;
  std::optional<Handshake> handshake_;
  std::optional<Link> link_;
  std::optional<Error> failure_;
};

}  // namespace u2u::protocol
