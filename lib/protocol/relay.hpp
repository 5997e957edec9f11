#pragma once
// The UE-to-UE relay (seed steps 2, 3, 6, 7; step 9 and the link messages forwarded): verifies before it
// forwards, countersigns what it forwards, never forwards what failed, and answers a failed verification with
// DIRECT COMMUNICATION REJECT #6. It holds no key of the link: it routes the link messages by request digest.
#include <list>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <unordered_map>

#include "dataplane/pdu.hpp"
#include "protocol/constants.hpp"
#include "protocol/link_credentials.hpp"
#include "protocol/node.hpp"
#include "protocol/replay_cache.hpp"
#include "protocol/shares.hpp"
#include "protocol/timers.hpp"

namespace u2u::protocol {

struct RelayTarget {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  Endpoint endpoint;
};

struct RelayConfig {
  LocalParty self;
  std::vector<RelayTarget> targets;  // the target UEs this relay is configured to reach
  // The targets discovery found (RelayDiscovery::find), consulted after the configured ones.
  std::function<std::optional<RelayTarget>(std::string_view)> directory;
  // Requests forwarded and not yet linked. When full, new requests are refused with #5 before any signature
  // check; entries are never evicted early (each holds a verified request), they expire.
  std::size_t max_pending = kDefaultRelayMaxPending;
  std::size_t max_pending_per_source = kDefaultRelayMaxPendingPerSource;  // per source User Info ID
  std::size_t max_pending_per_host = kDefaultRelayMaxPendingPerHost;      // per sending host (sender_host())
  Millis pending_timeout = kDefaultRelayPendingTimeout;
  std::size_t max_links = kDefaultRelayMaxLinks;       // confirmed links routed; beyond, new requests are refused (#5)
  Millis link_timeout = kDefaultLinkTimeout;           // a link not heard from this long is forgotten
  Millis max_link_lifetime = kDefaultLinkMaxLifetime;  // (+ kLinkLifetimeGrace for the source to end it first)
  Millis replay_window = kDefaultReplayWindow;
  std::size_t replay_cache_size = kDefaultReplayCacheSize;
  double rate_limit_per_second = kDefaultRateLimitPerSecond;  // new requests per source address
  double rate_limit_burst = kDefaultRateLimitBurst;
};

class RelayUe final : public Node {
 public:
  explicit RelayUe(RelayConfig config);

  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  std::size_t pending_count() const { return routes_.size() - linked_ - released_; }
  // Pending requests of one source User Info ID, and of one sending host.
  std::size_t pending_of_source(std::string_view user_info_id) const;
  std::size_t pending_of_host(const Endpoint& sender) const;
  std::size_t link_count() const { return linked_; }
  std::size_t released_count() const { return released_; }  // released routes kept for link_timeout
  // Rekeyings relayed since start: REKEYING CONFIRMs of a generation new on their link (docs/protocol.md 12).
  std::uint64_t rekeyings_relayed() const { return rekeyings_relayed_; }
  const RelayConfig& config() const { return config_; }
  // A configured target whose address is known now or has changed (its host name resolved again): later requests
  // for it, and those it has not answered yet, go to `target.endpoint`; answered requests and links keep theirs.
  // Added when not configured yet.
  void set_target(const RelayTarget& target);
  // Data PDUs (docs/protocol.md 11.5), the fast path: when `datagram` is a data PDU of a link this relay routes and
  // came from one end of it, its per-hop header is rewritten in place for the other end, which is returned;
  // otherwise nullopt and `drop_reason` says why. No allocation, no event: the transport counts and logs.
  struct DataRoute {
    std::optional<Endpoint> to;
    std::string_view drop_reason;
  };
  DataRoute route_data(const Endpoint& from, std::span<std::uint8_t> datagram);
  // Packets and octets relayed on the link of `session` so far, each way (from the source, from the target).
  struct DataCount {
    std::uint64_t from_source_packets = 0, from_source_bytes = 0;
    std::uint64_t from_target_packets = 0, from_target_bytes = 0;
    // Rekeyings relayed (docs/protocol.md 12): REKEYING CONFIRMs of a generation not seen before on the link, as seen
    // (the relay cannot check them).
    std::uint64_t rekeyings = 0;
    std::optional<std::uint32_t> rekeying_generation;
  };

  // link_stats (issue 15): one event per link this relay routes, with what it relayed each way so far.
  std::vector<Event> link_stats() const;

  // SIGHUP: new credentials and trust for the next requests; routes and links are kept.
  void reload(LocalParty self) { config_.self = std::move(self); }
  // After reload(): every route's source and target certificates checked against the (new) trust store; a route
  // that no longer passes is forgotten (link_revoked), and nothing more is relayed on it.
  Output recheck(const Now& now);

 private:
  // One handshake the relay forwarded, and then the link it made: where each end is. Keyed by request digest.
  // The relay holds no key of the link: link messages move a route on only as far as nothing is lost if they were
  // forged (a LINK CONFIRM ACK makes it a link, which routes as before; a RELEASE ACCEPT answering a forwarded
  // RELEASE REQUEST marks it released, no longer counted against max_links but kept for link_timeout, and a
  // KEEPALIVE RESPONSE then shows that the release was not the ends').
  struct Route {
    enum class Stage { kRequested, kAnswered, kLinked, kReleased };
    Stage stage = Stage::kRequested;
    std::uint64_t id = 0;            // this route, not another of the same digest after it (a job's resume checks)
    bool verifying_accept = false;   // an accept of it is in a job
    bool release_forwarded = false;  // a RELEASE REQUEST of this link went to the target
    Endpoint source_endpoint;
    wire::Layer2Id source_layer2_id = 0;
    std::string source_user_info_id;
    RelayTarget target;  // where the request went (configured or discovered)
    std::string session;
    Bytes forwarded_request;      // the datagram sent to the target (step 3), resent for a retransmission
    Bytes forwarded_accept;       // the datagram sent to the source (step 7), once answered; kept while the route lives
    unsigned failed_accepts = 0;  // accepts that failed the relay's checks (kRelayMaxFailedAccepts)
    unsigned rejects_forwarded = 0;  // REJECTs passed on (hints, issue 13)
    // The last link message forwarded to the target that it answers (LINK CONFIRM, KEEPALIVE REQUEST, RELEASE
    // REQUEST), and the target's answer to it as sent to the source: a copy of the one from the source is forwarded
    // again and answered with the other.
    Bytes to_target;
    wire::MessageType to_target_type{};
    std::optional<std::uint32_t> to_target_counter;
    Bytes answer_to_source;
    // Issue 13: the message of this route the relay sends again on its own timer (hop_deadlines_), one at a time.
    enum class Hop { kNone, kRequest, kAccept, kToTarget, kAckCopies };
    Hop hop = Hop::kNone;
    RetransmitSchedule hop_schedule;
    LinkCredentials credentials;             // the source's certificate (step 2), then the target's (step 6)
    MonoTime end_of_life = MonoTime::max();  // once linked
    std::string end_of_life_reason;
    DataCount data;
    std::list<wire::Digest>::iterator released_at;  // its entry in released_order_, while kReleased
    bool pending() const { return stage == Stage::kRequested || stage == Stage::kAnswered; }
  };

  struct Work;
  Output on_request(const Endpoint& from, wire::Datagram datagram, const Now& now);
  Output on_request_verified(const Endpoint& from, const wire::Datagram& datagram, const RelayTarget& target,
                             const wire::Digest& digest, const Work& work, const Now& now);
  Output on_accept(const Endpoint& from, wire::Datagram datagram, const Now& now);
  Output on_accept_verified(const wire::Datagram& datagram, std::uint64_t route, const Work& work, const Now& now);
  // The checks of a new request against the tables: before its signature work, and again after it when it ran in
  // a job (the tables may have changed meanwhile).
  std::optional<Error> admission(const wire::DirectCommunicationRequest& request, const Endpoint& from, const Now& now);
  std::shared_ptr<Work> new_work(const wire::Message& message) const;
  std::optional<Error> too_large_to_relay(const wire::Message& message) const;
  // After a job: when the trust store was reloaded while it ran, the certificates checked against the new one.
  std::optional<Error> reloaded_trust_refuses(const Work& work, const LinkCredentials& credentials,
                                              const Now& now) const;
  Output on_reject(const Endpoint& from, const wire::Datagram& datagram);
  // An accept that failed a check: a hint to the source (REJECT), and a lost accept for the route, until
  // kRelayMaxFailedAccepts of them end it.
  Output on_failed_accept(std::map<wire::Digest, Route>::iterator it, const Error& error);
  // Issue 13: the route's message `hop` sent again on the relay's own schedule, from now; kNone stops it.
  void start_hop(const wire::Digest& digest, Route& route, Route::Hop hop, const Now& now);
  std::optional<Outbound> hop_message(const Route& route) const;
  Output on_link_message(const Endpoint& from, const wire::Datagram& datagram, const Now& now);
  Outbound reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest, Cause cause) const;
  std::optional<RelayTarget> find_target(std::string_view user_info_id) const;
  void erase(std::map<wire::Digest, Route>::iterator it);
  // Released routes are kept for retransmissions, at most max_links of them: beyond, the oldest are forgotten.
  void trim_released();
  void make_linked(const wire::Digest& digest, Route& route, const Now& now);
  // The link's data counters, for the event that ends it.
  Event& with_data_counts(Event& e, const Route& route) const;
  // The next deadline of a link: link_timeout of silence, or its end of life plus kLinkLifetimeGrace.
  void schedule_link(const wire::Digest& digest, const Route& route, const Now& now);

  RelayConfig config_;
  std::map<wire::Digest, Route> routes_;
  std::uint64_t route_ids_ = 0;
  std::set<wire::Digest> verifying_;        // requests in a job: a copy meanwhile is dropped
  std::size_t linked_ = 0;                  // kLinked routes
  std::size_t released_ = 0;                // kReleased routes
  std::list<wire::Digest> released_order_;  // kReleased routes, oldest first
  std::uint64_t rekeyings_relayed_ = 0;
  // Links by their label (the first octets of the request digest), for data PDUs.
  struct LabelHash {
    std::size_t operator()(const dataplane::LinkLabel& l) const noexcept {
      std::size_t h = 0;
      for (std::size_t i = 0; i < sizeof h && i < l.size(); ++i) h = (h << 8) | l[i];
      return h;
    }
  };
  std::unordered_map<dataplane::LinkLabel, wire::Digest, LabelHash> by_label_;
  Shares<std::string> pending_by_source_;
  Shares<Endpoint> pending_by_host_;
  DeadlineQueue<wire::Digest> deadlines_;
  DeadlineQueue<wire::Digest> hop_deadlines_;  // each route's next per-hop retransmission
  ReplayCache replay_;
  RateLimiter rate_limit_;
};

}  // namespace u2u::protocol
