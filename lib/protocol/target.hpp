#pragma once
// The target UE (seed steps 4 and 5): verifies SIGN1-relay and SIGN-Source UE, derives KD, and answers with a
// DIRECT COMMUNICATION ACCEPT whose signature covers the digest of the request it answers and whose MAC proves
// KD-sess. The link is established only when the source's LINK CONFIRM proves KD-sess back (step 9).
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/link_credentials.hpp"
#include "protocol/node.hpp"
#include "protocol/rekeying.hpp"
#include "protocol/replay_cache.hpp"
#include "protocol/shares.hpp"
#include "protocol/timers.hpp"

namespace u2u::protocol {

struct TargetConfig {
  LocalParty self;
  // How long an answered request waits for the source's LINK CONFIRM, and is remembered so that a
  // retransmitted request gets the same accept.
  Millis session_timeout = kDefaultTargetSessionTimeout;
  std::size_t max_sessions = kDefaultTargetMaxSessions;  // handshakes answered and not yet confirmed
  std::size_t max_sessions_per_source = kDefaultTargetMaxSessionsPerSource;  // per source User Info ID
  std::size_t max_sessions_per_relay = kDefaultTargetMaxSessionsPerRelay;    // per relay host (sender_host())
  bool require_forward_secrecy = false;  // security.forward_secrecy: refuse requests without an ephemeral key
  Millis replay_window = kDefaultReplayWindow;
  std::size_t replay_cache_size = kDefaultReplayCacheSize;
  Millis link_timeout = kDefaultLinkTimeout;           // a link not heard from (no keep-alive) this long is freed
  Millis max_link_lifetime = kDefaultLinkMaxLifetime;  // (+ kLinkLifetimeGrace for the source to end it first)
  // data.algorithms: the user-plane suites this target accepts, most preferred first; it chooses the first the
  // source offered (docs/protocol.md 11.2).
  std::vector<dataplane::Suite> data_suites{dataplane::kDefaultSuites.begin(), dataplane::kDefaultSuites.end()};
  RekeyingConfig rekeying;  // data.rekey_after_seconds (docs/protocol.md 12)
};

class TargetUe final : public Node {
 public:
  explicit TargetUe(TargetConfig config, RandomSource random = system_random());

  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  // Keys of the current link with `source_user_info_id`, or nullptr.
  const SessionKeys* keys_for(std::string_view source_user_info_id) const;
  // The current link with a source: what its data plane needs (docs/protocol.md 11).
  struct LinkView {
    wire::Digest digest{};
    const SessionKeys* keys = nullptr;
    Endpoint relay_endpoint;
    wire::Layer2Id relay_layer2_id = 0;
    const SessionKeys* next_keys = nullptr;  // a rekeying answered and not yet confirmed
  };
  std::optional<LinkView> link_of(std::string_view source_user_info_id) const;
  // A rekeying of the link of `session` (its label in the logs), or of every link (empty), for `trigger`
  // (docs/protocol.md 12).
  Output rekey(std::string_view session, std::string trigger, const Now& now);
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t sessions_of_source(std::string_view user_info_id) const;
  std::size_t sessions_of_relay(const Endpoint& relay) const;
  // Links up, and released links kept kReleaseLinger for a retransmitted RELEASE REQUEST.
  std::size_t link_count() const { return links_.size() - released_count(); }
  std::size_t released_count() const;
  // SIGHUP: new credentials and trust for the next handshakes; established links are kept.
  void reload(LocalParty self) { config_.self = std::move(self); }
  // After reload(): every session's and link's source and relay certificates checked against the (new) trust
  // store; one that no longer passes is ended (link_revoked).
  Output recheck(const Now& now);

 private:
  // A handshake answered and not yet confirmed. Its LINK CONFIRM makes it a Link and frees its slot.
  struct Session {
    std::string source_user_info_id;
    std::string relay_user_info_id;
    std::string session;
    Endpoint relay_endpoint;
    wire::Layer2Id relay_layer2_id = 0;
    wire::Digest relayed_request{};  // SHA-256 of the request as the relay sent it: a copy must be identical
    Bytes accept_datagram;           // resent unchanged when the same request arrives again
    Bytes accept_message;            // the accept as sent: the link confirmation MAC covers its digest
    SessionKeys keys;
    LinkCredentials credentials;  // the source's and the relay's certificates
    MonoTime started{};
    MonoTime expiry{};
  };
  struct Work;
  Output on_request(const Endpoint& from, wire::Datagram datagram, const Now& now);
  Output on_request_answered(const Endpoint& from, const wire::Datagram& datagram, const wire::Digest& digest,
                             Work& work, const Now& now);
  Output on_link_confirm(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_link_message(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Output on_reject(const Endpoint& from, const wire::Datagram& datagram);
  Output on_copy(const Endpoint& from, const wire::Datagram& datagram, const wire::Digest& digest, const Now& now);
  void erase_session(std::map<wire::Digest, Session>::iterator it);
  // What a request must name before any signature work: this target, a relay, the relay the source selected, and
  // an ephemeral key when forward secrecy is required.
  std::optional<Error> binding(const wire::DirectCommunicationRequest& request) const;
  // The checks of a new request against the tables: before its signature work, and again after it when it ran in
  // a job (the tables may have changed meanwhile).
  std::optional<Error> admission(const wire::DirectCommunicationRequest& request, const Endpoint& from, const Now& now);
  Outbound reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest, Cause cause) const;
  Event link_failed(const Session& s, const Error& error) const;

  TargetConfig config_;
  RandomSource random_;
  // A confirmed link, named by the request digest of its handshake. One per source: a new one replaces the old
  // only once it is confirmed (TS 24.554 clause 7.2.2.6.2).
  struct Link {
    std::string source_user_info_id;
    std::string session;
    Endpoint relay_endpoint;
    wire::Layer2Id relay_layer2_id = 0;
    SessionKeys keys;
    Bytes confirm_ack;  // resent for a retransmitted LINK CONFIRM
    std::uint32_t keepalive_counter = 0;
    Bytes keepalive_response;  // resent for a retransmitted KEEPALIVE REQUEST
    Bytes release_accept;      // non-empty once released; resent for a retransmitted RELEASE REQUEST
    LinkCredentials credentials;
    std::string end_of_life_reason;
    std::optional<Rekeying> rekeying;
  };
  // After a link's rekeying changed: its next deadline in rekey_deadlines_.
  void schedule_rekeying(const wire::Digest& digest, const Link& link);
  Bytes link_datagram(const Link& link, wire::LinkMessage message, std::string_view label) const;
  // Forgets a link (and the source's pointer to it, when it is that source's current link).
  void erase_link(std::map<wire::Digest, Link>::iterator it);
  Event link_event(Level level, std::string name, const Link& link) const;

  std::map<wire::Digest, Session> sessions_;
  std::set<wire::Digest> verifying_;  // requests in a job: a copy meanwhile is dropped
  Shares<std::string> sessions_by_source_;
  Shares<Endpoint> sessions_by_relay_;
  std::deque<std::pair<MonoTime, wire::Digest>> expiry_order_;  // one timeout for all: FIFO order
  std::map<wire::Digest, Link> links_;
  std::map<std::string, wire::Digest, std::less<>> link_of_source_;
  DeadlineQueue<wire::Digest> link_deadlines_;
  DeadlineQueue<wire::Digest> end_of_life_;
  DeadlineQueue<wire::Digest> rekey_deadlines_;  // each link's end of life, plus kLinkLifetimeGrace
  ReplayCache replay_;
  RateLimiter copy_rate_limit_;
  // Requests refused after their signature work, by the digest of their octets as the relay sent them: an identical
  // copy (the relay sending it again, issue 13) gets the same REJECT without the work again, as an answered one gets
  // its accept. A damaged copy differs, so it is verified afresh. Bounded: max_sessions entries, the oldest forgotten
  // first, each kept session_timeout.
  struct Refusal {
    Endpoint relay;
    Bytes reject_datagram;
  };
  std::map<wire::Digest, Refusal> refusals_;
  std::deque<std::pair<MonoTime, wire::Digest>> refusal_order_;
  void remember_refusal(const wire::Digest& relayed, Refusal refusal, const Now& now);
};

}  // namespace u2u::protocol
