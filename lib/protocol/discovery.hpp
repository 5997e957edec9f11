#pragma once
// UE-to-UE relay discovery (issue #6; TS 23.304 Model A and Model B; docs/protocol.md section 10), sans I/O like
// the link procedure: each role's agent takes datagrams and the time and returns datagrams and events.
//   RelayDiscovery:  announces itself and the targets it reaches (Model A); learns targets from their
//                    announcements; answers solicitations for a target it reaches, asking the targets first when
//                    it does not know it (Model B).
//   TargetDiscovery: announces itself to the relays in range (Model A); answers a relay's solicitation (Model B).
//   SourceDiscovery: learns relays from announcements (Model A) or solicits them (Model B); selects one by policy
//                    and reselects when it disappears or fails.
// Every message is signed with the sender's provisioned credential (the same CA and roles as the link procedure)
// and carries a timestamp: forged, stale or replayed messages are refused and logged (TR 33.740 Key Issue #1).
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "protocol/constants.hpp"
#include "protocol/node.hpp"
#include "protocol/relay.hpp"
#include "protocol/timers.hpp"
#include "wire/discovery.hpp"

namespace u2u::protocol {

struct DiscoveryConfig {
  std::vector<Endpoint> destinations;  // where announcements and solicitations go: a multicast group, neighbours
  Millis interval = kDefaultDiscoveryInterval;                  // announcements (Model A), solicitations (Model B)
  Millis lifetime = kDefaultDiscoveryLifetime;                  // a peer not heard from this long is forgotten
  Millis max_clock_skew = kDefaultDiscoveryMaxClockSkew;        // a timestamp further from our clock is stale
  std::uint32_t relay_service_code = kDefaultRelayServiceCode;  // a relay announces it; a source requires it
  bool announce = true;  // relay, target: Model A announcements (false: Model B only, answer solicitations)
  std::uint16_t signalling_port = 0;  // our link procedure's UDP port, announced (the daemon sets it)
};

// Signs a discovery message with `self`'s credential (label: docs/protocol.md 10.2).
Result<Bytes> sign_discovery(const LocalParty& self, wire::DiscoveryMessage message);
// A discovery message's sender authenticated: certificate (chain, validity, CN = sender User Info ID, `role`),
// signature, timestamp within the skew. Errors name the check (e.g. "relay_certificate_chain", "stale").
Result<crypto::VerifiedPeer> verify_discovery(const LocalParty& self, const wire::DecodedDiscovery& d,
                                              crypto::Role role, const Now& now, Millis max_clock_skew);
std::uint64_t timestamp_ms(WallTime t);  // 0 before 1970

// The last timestamp accepted from each sender: the replay check of docs/protocol.md 10.2 step 3. A sender is
// forgotten once a replay of its last message would be refused as stale anyway (step 5), whatever became of what it
// announced, so the table holds only the senders accepted within the last max_clock_skew (plus the time to the
// next forget_stale()).
class SenderTimestamps {
 public:
  std::optional<std::uint64_t> last(std::string_view sender) const;
  void accepted(std::string_view sender, std::uint64_t timestamp);  // keeps the newer
  void forget_stale(std::uint64_t now_ms, Millis max_clock_skew);
  std::size_t size() const { return last_.size(); }

 private:
  std::map<std::string, std::uint64_t, std::less<>> last_;
};

class RelayDiscovery final : public Node {
 public:
  RelayDiscovery(LocalParty self, DiscoveryConfig config, std::vector<RelayTarget> static_targets,
                 RandomSource random = system_random());
  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;
  // The directory the relay's link procedure routes by: configured targets and discovered ones.
  std::optional<RelayTarget> find(std::string_view user_info_id) const;
  // Kept beside the configured targets: at most kMaxDiscoveredTargets.
  std::size_t discovered_targets() const { return discovered_; }
  // Sources whose last solicitation's timestamp the relay keeps for the replay check.
  std::size_t remembered_solicitors() const { return solicitation_timestamps_.size(); }
  void reload(LocalParty self) { self_ = std::move(self); }

 private:
  struct Known {
    RelayTarget target;
    std::optional<MonoTime> expiry;  // none: configured
    std::uint64_t order = 0;         // configured ones in configuration order, then discovered ones as they came
  };
  struct Asked {  // a source's solicitation for a target the relay is asking its targets about
    Endpoint source;
    wire::Layer2Id source_layer2_id = 0;
    wire::Nonce source_nonce{};
  };
  Output announce(const Now& now);
  Output respond(const Endpoint& to, wire::Layer2Id to_layer2_id, const RelayTarget& target, const wire::Nonce& nonce,
                 const Now& now);
  Output learn(const RelayTarget& target, const Now& now);

  LocalParty self_;
  DiscoveryConfig config_;
  RandomSource random_;
  std::map<std::string, Known, std::less<>> targets_;
  std::size_t discovered_ = 0;  // the entries of targets_ that discovery made: at most kMaxDiscoveredTargets
  std::uint64_t next_order_ = 0;
  bool full_logged_ = false;  // a target ignored for a full table was logged at warn level (once until room)
  std::map<wire::Nonce, std::pair<std::string, std::vector<Asked>>> asking_;  // our nonce -> target, who asked
  SenderTimestamps announcement_timestamps_;  // per target, kept after it is forgotten: replays refused
  SenderTimestamps solicitation_timestamps_;  // per source
  RateLimiter rate_limit_{kDiscoveryRateLimitPerSecond, kDiscoveryRateLimitBurst, kRateLimitSources};
  MonoTime next_announcement_{};
};

class TargetDiscovery final : public Node {
 public:
  TargetDiscovery(LocalParty self, DiscoveryConfig config);
  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override { return next_announcement_; }
  void reload(LocalParty self) { self_ = std::move(self); }

 private:
  LocalParty self_;
  DiscoveryConfig config_;
  MonoTime next_announcement_{};
  SenderTimestamps last_timestamp_;  // per relay: replays refused
  RateLimiter rate_limit_{kDiscoveryRateLimitPerSecond, kDiscoveryRateLimitBurst, kRateLimitSources};
};

enum class DiscoveryModel { kModelA, kModelB };
enum class SelectionPolicy { kFirst, kPreference, kLowestRtt };

// The relay a source selected, and how to reach the target through it.
struct SelectedRelay {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  Endpoint endpoint;
  wire::Layer2Id target_layer2_id = 0;
};

class SourceDiscovery final : public Node {
 public:
  SourceDiscovery(LocalParty self, DiscoveryConfig config, std::string target_user_info_id, DiscoveryModel model,
                  SelectionPolicy policy, std::vector<std::string> preference, RandomSource random = system_random());
  Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) override;
  Output on_timer(const Now& now) override;
  std::optional<MonoTime> next_deadline() const override;

  // The current selection, if any. A new one is announced by a "relay_selected" event.
  const std::optional<SelectedRelay>& selected() const { return selected_; }
  // The link through `relay` failed or was lost: avoid it for a while and select another.
  Output relay_failed(std::string_view relay, std::string reason, const Now& now);
  void reload(LocalParty self) { self_ = std::move(self); }

 private:
  struct Candidate {
    SelectedRelay relay;
    MonoTime heard{};
    std::uint64_t last_timestamp = 0;
    std::optional<Millis> rtt;  // Model B: solicitation to response
    MonoTime avoid_until{};
  };
  Output solicit(const Now& now);
  Output consider(const Now& now);
  Event selection_event(const Candidate& c, std::string reason) const;

  LocalParty self_;
  DiscoveryConfig config_;
  std::string target_;
  DiscoveryModel model_;
  SelectionPolicy policy_;
  std::vector<std::string> preference_;
  RandomSource random_;
  std::map<std::string, Candidate, std::less<>> candidates_;
  std::optional<SelectedRelay> selected_;
  std::optional<MonoTime> decide_at_;  // the first candidate waits one interval for others (policies compare)
  std::map<wire::Nonce, MonoTime> solicited_;
  RateLimiter rate_limit_{kDiscoveryRateLimitPerSecond, kDiscoveryRateLimitBurst, kRateLimitSources};
  MonoTime next_solicitation_{};
};

}  // namespace u2u::protocol
