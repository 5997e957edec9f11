#include "protocol/discovery.hpp"

#include <algorithm>

#include "protocol/transcript.hpp"

namespace u2u::protocol {

namespace {

std::string label_of(std::uint8_t type) {
  return std::string(kLabelDiscovery) + std::string(wire::discovery_name(type));
}

Event refused(const Endpoint& from, const wire::DiscoveryMessage& m, const Error& e) {
  return event(Level::kWarn, "discovery_refused")
      .with("from", from.to_string())
      .with("message", std::string(wire::discovery_name(m.type)))
      .with("sender", m.sender_user_info_id)
      .with("check", e.check)
      .with("reason", e.reason);
}

// Sends one signed discovery message to every destination, addressed to everyone in range.
Output broadcast(const LocalParty& self, const std::vector<Endpoint>& destinations, wire::DiscoveryMessage m) {
  Output out;
  auto bytes = sign_discovery(self, std::move(m));
  if (!bytes) {
    out.events.push_back(event(Level::kError, "discovery_sign_failed").with("reason", bytes.error().reason));
    return out;
  }
  for (const auto& to : destinations) {
    out.send.push_back({to, wire::encode_datagram(self.layer2_id, wire::kBroadcastLayer2Id, *bytes)});
  }
  return out;
}

// Where the sender's link procedure listens: the datagram's address with the signed signalling port.
Endpoint signalling_endpoint(const Endpoint& from, const wire::DiscoveryMessage& m) {
  Endpoint e = from;
  e.port = m.signalling_port;
  return e;
}

wire::DiscoveryMessage from_self(const LocalParty& self, const DiscoveryConfig& config, std::uint8_t type,
                                 const Now& now) {
  wire::DiscoveryMessage m;
  m.type = type;
  m.sender_user_info_id = self.user_info_id;
  m.sender_layer2_id = self.layer2_id;
  m.signalling_port = config.signalling_port;
  m.timestamp_ms = timestamp_ms(now.wall);
  m.certificate = self.certificate.der();
  return m;
}

// docs/protocol.md 10.2 steps 3-7, cheapest first: newer than `last` (the sender's last accepted timestamp, when
// it has one; it moves only after a message passed every check), the address within its rate, then certificate,
// role, skew and signature. Logs why not.
bool accepted(const LocalParty& self, const DiscoveryConfig& config, RateLimiter& limit, const Endpoint& from,
              const wire::DecodedDiscovery& d, crypto::Role role, std::optional<std::uint64_t> last, const Now& now,
              Output& out) {
  const auto& m = d.message;
  if (last && m.timestamp_ms <= *last) {
    out.events.push_back(refused(from, m,
                                 make_error(Cause::kAuthenticationFailure, "replayed",
                                            "not newer than the last message accepted from this sender")));
    return false;
  }
  if (!limit.admit(from, now.mono)) {
    out.events.push_back(dropped_event("over the rate limit of discovery messages for this address", from));
    return false;
  }
  if (auto peer = verify_discovery(self, d, role, now, config.max_clock_skew); !peer) {
    out.events.push_back(refused(from, m, peer.error()));
    return false;
  }
  return true;
}

// Decodes a discovery datagram addressed to this party or to everyone; otherwise logs why it was dropped (our
// own, looped back by multicast, silently).
std::optional<wire::DiscoveryDatagram> receive(const LocalParty& self, ByteView bytes, const Endpoint& from,
                                               Output& out) {
  auto d = wire::decode_discovery_datagram(bytes);
  if (!d) {
    out.events.push_back(dropped_event(d.error().reason, from));
    return std::nullopt;
  }
  if (d->destination != wire::kBroadcastLayer2Id && d->destination != self.layer2_id) {
    out.events.push_back(dropped_event("addressed to another Layer-2 ID", from));
    return std::nullopt;
  }
  if (d->message.message.sender_user_info_id == self.user_info_id) return std::nullopt;
  return std::move(d).value();
}

}  // namespace

std::uint64_t timestamp_ms(WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

std::optional<std::uint64_t> SenderTimestamps::last(std::string_view sender) const {
  const auto it = last_.find(sender);
  return it == last_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

void SenderTimestamps::accepted(std::string_view sender, std::uint64_t timestamp) {
  const auto it = last_.find(sender);
  if (it == last_.end()) {
    last_.emplace(std::string(sender), timestamp);
  } else {
    it->second = std::max(it->second, timestamp);
  }
}

void SenderTimestamps::forget_stale(std::uint64_t now_ms, Millis max_clock_skew) {
  const auto skew = static_cast<std::uint64_t>(std::max<Millis::rep>(max_clock_skew.count(), 0));
  std::erase_if(last_, [&](const auto& entry) { return entry.second < now_ms && now_ms - entry.second > skew; });
}

Result<Bytes> sign_discovery(const LocalParty& self, wire::DiscoveryMessage message) {
  Bytes bytes = wire::encode_discovery_unsigned(message);
  const std::string label = label_of(message.type);
  auto signature = self.signer->sign(signing_input(label, bytes));
  if (!signature) return signature.error();
  wire::append_discovery_signature(bytes, *signature);
  return bytes;
}

Result<crypto::VerifiedPeer> verify_discovery(const LocalParty& self, const wire::DecodedDiscovery& d,
                                              crypto::Role role, const Now& now, Millis max_clock_skew) {
  const auto& m = d.message;
  // Step 5, before any signature work and so on any 64-bit value from anyone: the distance between the two clocks
  // in unsigned arithmetic, which cannot overflow, with its sign apart.
  const std::uint64_t ours = timestamp_ms(now.wall);
  const bool ahead = m.timestamp_ms > ours;
  const std::uint64_t distance = ahead ? m.timestamp_ms - ours : ours - m.timestamp_ms;
  const auto allowed = static_cast<std::uint64_t>(std::max<Millis::rep>(max_clock_skew.count(), 0));
  if (distance > allowed) {
    return make_error(Cause::kAuthenticationFailure, "stale",
                      "timestamp " + std::string(ahead ? "" : "-") + std::to_string(distance) +
                          " ms from this clock (allowed +-" + std::to_string(allowed) + ")");
  }
  const std::string label = label_of(m.type);
  const StepSignature step{label, wire::discovery_name(m.type), "discovery_signature"};
  return authenticate(*self.trust, m.certificate, m.sender_user_info_id, role, step, d.covered_by_signature(),
                      m.signature, now.wall, role == crypto::Role::kRelay ? "relay" : "sender");
}

// ---------------------------------------------------------------------------------------------------------------

RelayDiscovery::RelayDiscovery(LocalParty self, DiscoveryConfig config, std::vector<RelayTarget> static_targets,
                               RandomSource random)
    : self_(std::move(self)), config_(std::move(config)), random_(std::move(random)) {
  for (auto& t : static_targets) {
    const std::string id = t.user_info_id;
    if (targets_.emplace(id, Known{std::move(t), std::nullopt, next_order_}).second) ++next_order_;
  }
}

std::optional<RelayTarget> RelayDiscovery::find(std::string_view user_info_id) const {
  auto it = targets_.find(user_info_id);
  if (it == targets_.end()) return std::nullopt;
  return it->second.target;
}

// docs/protocol.md 10.3: at most kMaxReachableTargets, the configured targets first (in configuration order; every
// one of them when there are no more than that), then the discovered ones in the order they came, so that neither
// a later target nor a chosen name pushes an earlier one out.
Output RelayDiscovery::announce(const Now& now) {
  auto m = from_self(self_, config_, wire::kRelayAnnouncementType, now);
  m.relay_service_code = config_.relay_service_code;
  std::vector<const Known*> known;
  known.reserve(targets_.size());
  for (const auto& [id, k] : targets_) known.push_back(&k);
  const auto first = [](const Known* a, const Known* b) {
    return std::pair(a->expiry.has_value(), a->order) < std::pair(b->expiry.has_value(), b->order);
  };
  const auto listed = std::min(known.size(), wire::kMaxReachableTargets);
  std::partial_sort(known.begin(), known.begin() + static_cast<std::ptrdiff_t>(listed), known.end(), first);
  for (std::size_t i = 0; i < listed; ++i) {
    m.reachable_targets.push_back({known[i]->target.user_info_id, known[i]->target.layer2_id});
  }
  return broadcast(self_, config_.destinations, std::move(m));
}

Output RelayDiscovery::respond(const Endpoint& to, wire::Layer2Id to_layer2_id, const RelayTarget& target,
                               const wire::Nonce& nonce, const Now& now) {
  Output out;
  auto m = from_self(self_, config_, wire::kResponseType, now);
  m.relay_service_code = config_.relay_service_code;
  m.target_user_info_id = target.user_info_id;
  m.target_layer2_id = target.layer2_id;
  m.nonce = nonce;
  auto bytes = sign_discovery(self_, std::move(m));
  if (!bytes) return out;
  out.send.push_back({to, wire::encode_datagram(self_.layer2_id, to_layer2_id, *bytes)});
  out.events.push_back(
      event(Level::kInfo, "discovery_response_sent").with("to", to.to_string()).with("target", target.user_info_id));
  return out;
}

// A target authenticated by its UE credential: one entry per credential (the sender User Info ID is the
// certificate's CN), never over a configured target, and none beyond kMaxDiscoveredTargets.
Output RelayDiscovery::learn(const RelayTarget& target, const Now& now) {
  Output out;
  if (const auto it = targets_.find(target.user_info_id); it != targets_.end()) {
    if (!it->second.expiry) return out;  // configured: discovery does not move it
    it->second.target = target;
    it->second.expiry = now.mono + config_.lifetime;
    return out;
  }
  if (discovered_ >= kMaxDiscoveredTargets) {
    // First come, first kept: evicting instead would let enough UE credentials push out every genuine target.
    out.events.push_back(event(full_logged_ ? Level::kDebug : Level::kWarn, "target_ignored")
                             .with("target", target.user_info_id)
                             .with("address", target.endpoint.to_string())
                             .with("reason", "the relay keeps at most " + std::to_string(kMaxDiscoveredTargets) +
                                                 " discovered targets"));
    full_logged_ = true;
    return out;
  }
  targets_.emplace(target.user_info_id, Known{target, now.mono + config_.lifetime, next_order_++});
  ++discovered_;
  out.events.push_back(event(Level::kInfo, "target_discovered")
                           .with("target", target.user_info_id)
                           .with("layer2_id", static_cast<std::int64_t>(target.layer2_id))
                           .with("address", target.endpoint.to_string()));
  return out;
}

Output RelayDiscovery::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto d = receive(self_, bytes, from, out);
  if (!d) return out;
  const auto& m = d->message.message;
  switch (m.type) {
    case wire::kTargetAnnouncementType: {  // Model A: a target in range
      const auto last = announcement_timestamps_.last(m.sender_user_info_id);
      if (!accepted(self_, config_, rate_limit_, from, d->message, crypto::Role::kUe, last, now, out)) return out;
      announcement_timestamps_.accepted(m.sender_user_info_id, m.timestamp_ms);
      out.merge(learn({m.sender_user_info_id, m.sender_layer2_id, signalling_endpoint(from, m)}, now));
      return out;
    }
    case wire::kSolicitationType: {  // Model B: a source asks who reaches a target
      const auto last = solicitation_timestamps_.last(m.sender_user_info_id);
      if (!accepted(self_, config_, rate_limit_, from, d->message, crypto::Role::kUe, last, now, out)) return out;
      solicitation_timestamps_.accepted(m.sender_user_info_id, m.timestamp_ms);
      out.events.push_back(event(Level::kInfo, "solicitation_heard")
                               .with("from", m.sender_user_info_id)
                               .with("target", m.target_user_info_id));
      if (auto target = find(m.target_user_info_id)) {
        out.merge(respond(from, m.sender_layer2_id, *target, *m.nonce, now));
        return out;
      }
      // Not known here: ask the targets in range first, and answer when (if) it answers.
      for (auto& [nonce, asked] : asking_) {
        if (asked.first == m.target_user_info_id) {
          asked.second.push_back({from, m.sender_layer2_id, *m.nonce});
          return out;
        }
      }
      wire::Nonce nonce{};
      random_(nonce);
      auto ask = from_self(self_, config_, wire::kTargetSolicitationType, now);
      ask.target_user_info_id = m.target_user_info_id;
      ask.nonce = nonce;
      asking_[nonce] = {m.target_user_info_id, {{from, m.sender_layer2_id, *m.nonce}}};
      out.merge(broadcast(self_, config_.destinations, std::move(ask)));
      return out;
    }
    case wire::kTargetResponseType: {  // Model B: the target we asked about answers
      auto asked = m.nonce ? asking_.find(*m.nonce) : asking_.end();
      if (asked == asking_.end() || asked->second.first != m.sender_user_info_id) {
        out.events.push_back(dropped_event("target response to no solicitation of ours", from));
        return out;
      }
      // Bound to our open solicitation by its nonce: no timestamp order to keep.
      if (!accepted(self_, config_, rate_limit_, from, d->message, crypto::Role::kUe, std::nullopt, now, out)) {
        return out;
      }
      out.merge(learn({m.sender_user_info_id, m.sender_layer2_id, signalling_endpoint(from, m)}, now));
      // Answered only when the relay can route to it (not when a full table ignored it).
      if (const auto target = find(m.sender_user_info_id)) {
        for (const auto& a : asked->second.second)
          out.merge(respond(a.source, a.source_layer2_id, *target, a.source_nonce, now));
      }
      asking_.erase(asked);
      return out;
    }
    default: return out;  // other relays' announcements and responses are not for a relay
  }
}

Output RelayDiscovery::on_timer(const Now& now) {
  Output out;
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (it->second.expiry && *it->second.expiry <= now.mono) {
      out.events.push_back(
          event(Level::kInfo, "target_forgotten")
              .with("target", it->first)
              .with("reason", "no announcement for " + std::to_string(config_.lifetime.count()) + " ms"));
      it = targets_.erase(it);
      --discovered_;
      full_logged_ = false;
    } else {
      ++it;
    }
  }
  announcement_timestamps_.forget_stale(timestamp_ms(now.wall), config_.max_clock_skew);
  solicitation_timestamps_.forget_stale(timestamp_ms(now.wall), config_.max_clock_skew);
  if (now.mono >= next_announcement_) {
    if (config_.announce) out.merge(announce(now));
    next_announcement_ = now.mono + config_.interval;
    asking_.clear();  // a solicitation unanswered for an interval is given up; the source asks again
  }
  return out;
}

std::optional<MonoTime> RelayDiscovery::next_deadline() const {
  MonoTime next = next_announcement_;
  for (const auto& [id, known] : targets_) {
    if (known.expiry && *known.expiry < next) next = *known.expiry;
  }
  return next;
}

// ---------------------------------------------------------------------------------------------------------------

TargetDiscovery::TargetDiscovery(LocalParty self, DiscoveryConfig config)
    : self_(std::move(self)), config_(std::move(config)) {}

Output TargetDiscovery::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto d = receive(self_, bytes, from, out);
  if (!d) return out;
  const auto& m = d->message.message;
  if (m.type != wire::kTargetSolicitationType || m.target_user_info_id != self_.user_info_id) return out;
  const auto last = last_timestamp_.last(m.sender_user_info_id);
  if (!accepted(self_, config_, rate_limit_, from, d->message, crypto::Role::kRelay, last, now, out)) return out;
  last_timestamp_.accepted(m.sender_user_info_id, m.timestamp_ms);
  auto answer = from_self(self_, config_, wire::kTargetResponseType, now);
  answer.target_user_info_id = self_.user_info_id;
  answer.target_layer2_id = self_.layer2_id;
  answer.nonce = m.nonce;
  auto signed_bytes = sign_discovery(self_, std::move(answer));
  if (!signed_bytes) return out;
  out.send.push_back({from, wire::encode_datagram(self_.layer2_id, m.sender_layer2_id, *signed_bytes)});
  out.events.push_back(event(Level::kInfo, "discovery_response_sent").with("to", m.sender_user_info_id));
  return out;
}

Output TargetDiscovery::on_timer(const Now& now) {
  last_timestamp_.forget_stale(timestamp_ms(now.wall), config_.max_clock_skew);
  if (now.mono < next_announcement_) return {};
  next_announcement_ = now.mono + config_.interval;
  if (!config_.announce) return {};
  return broadcast(self_, config_.destinations, from_self(self_, config_, wire::kTargetAnnouncementType, now));
}

// ---------------------------------------------------------------------------------------------------------------

SourceDiscovery::SourceDiscovery(LocalParty self, DiscoveryConfig config, std::string target_user_info_id,
                                 DiscoveryModel model, SelectionPolicy policy, std::vector<std::string> preference,
                                 RandomSource random)
    : self_(std::move(self)),
      config_(std::move(config)),
      target_(std::move(target_user_info_id)),
      model_(model),
      policy_(policy),
      preference_(std::move(preference)),
      random_(std::move(random)) {}

Output SourceDiscovery::solicit(const Now& now) {
  wire::Nonce nonce{};
  random_(nonce);
  solicited_[nonce] = now.mono;
  auto m = from_self(self_, config_, wire::kSolicitationType, now);
  m.target_user_info_id = target_;
  m.nonce = nonce;
  Output out = broadcast(self_, config_.destinations, std::move(m));
  // Logged while no relay is selected; afterwards, each interval's solicitation (which keeps the candidates
  // fresh) only at debug level.
  out.events.push_back(event(selected_ ? Level::kDebug : Level::kInfo, "solicitation_sent").with("target", target_));
  return out;
}

Output SourceDiscovery::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto d = receive(self_, bytes, from, out);
  if (!d) return out;
  const auto& m = d->message.message;
  if (m.type != wire::kRelayAnnouncementType && m.type != wire::kResponseType) return out;  // not for a source
  if (m.type == wire::kResponseType && (!m.nonce || solicited_.count(*m.nonce) == 0)) {
    out.events.push_back(dropped_event("response to no solicitation of ours", from));
    return out;
  }
  auto existing = candidates_.find(m.sender_user_info_id);
  std::optional<std::uint64_t> last;
  if (existing != candidates_.end()) last = existing->second.last_timestamp;
  if (!accepted(self_, config_, rate_limit_, from, d->message, crypto::Role::kRelay, last, now, out)) return out;
  if (m.relay_service_code != config_.relay_service_code) {
    out.events.push_back(
        event(Level::kDebug, "announcement_heard")
            .with("relay", m.sender_user_info_id)
            .with("detail", "relay service code " + std::to_string(m.relay_service_code.value_or(0)) + ", not ours"));
    return out;
  }
  // Does this relay reach our target, and at which Layer-2 ID?
  std::optional<wire::Layer2Id> target_l2;
  if (m.type == wire::kResponseType) {
    if (m.target_user_info_id == target_) target_l2 = m.target_layer2_id;
  } else {
    for (const auto& t : m.reachable_targets) {
      if (t.user_info_id == target_) target_l2 = t.layer2_id;
    }
  }
  if (!target_l2) {
    out.events.push_back(event(Level::kDebug, "announcement_heard")
                             .with("relay", m.sender_user_info_id)
                             .with("detail", "does not reach " + target_));
    if (existing != candidates_.end()) {  // it no longer does
      const bool was_selected = selected_ && selected_->user_info_id == existing->first;
      candidates_.erase(existing);
      if (was_selected) {
        selected_.reset();
        out.events.push_back(event(Level::kWarn, "relay_lost")
                                 .with("relay", m.sender_user_info_id)
                                 .with("reason", "it no longer reaches " + target_));
        out.merge(consider(now));
      }
    }
    return out;
  }
  const bool is_new = existing == candidates_.end();
  Candidate& c = candidates_[m.sender_user_info_id];
  c.relay = {m.sender_user_info_id, m.sender_layer2_id, signalling_endpoint(from, m), *target_l2};
  c.heard = now.mono;
  c.last_timestamp = m.timestamp_ms;
  if (m.type == wire::kResponseType) {
    c.rtt = std::chrono::duration_cast<Millis>(now.mono - solicited_[*m.nonce]);
  }
  out.events.push_back(event(is_new ? Level::kInfo : Level::kDebug, is_new ? "relay_discovered" : "announcement_heard")
                           .with("relay", m.sender_user_info_id)
                           .with("address", c.relay.endpoint.to_string())
                           .with("model", m.type == wire::kResponseType ? "B" : "A")
                           .with("target", target_)
                           .with("rtt_ms", c.rtt ? c.rtt->count() : -1));
  if (!selected_ && !decide_at_) {
    // The first candidate: "first" selects it at once; the other policies wait one interval to compare.
    decide_at_ = policy_ == SelectionPolicy::kFirst ? now.mono : now.mono + config_.interval;
  }
  if (decide_at_ && now.mono >= *decide_at_) out.merge(consider(now));
  return out;
}

Event SourceDiscovery::selection_event(const Candidate& c, std::string reason) const {
  return event(Level::kInfo, "relay_selected")
      .with("relay", c.relay.user_info_id)
      .with("address", c.relay.endpoint.to_string())
      .with("target", target_)
      .with("target_layer2_id", static_cast<std::int64_t>(c.relay.target_layer2_id))
      .with("candidates", static_cast<std::int64_t>(candidates_.size()))
      .with("reason", std::move(reason));
}

Output SourceDiscovery::consider(const Now& now) {
  Output out;
  decide_at_.reset();
  if (selected_ || candidates_.empty()) return out;
  // Relays whose link just failed are avoided while another can be had.
  std::vector<const Candidate*> pool;
  for (const auto& [id, c] : candidates_) {
    if (c.avoid_until <= now.mono) pool.push_back(&c);
  }
  const bool all_avoided = pool.empty();
  if (all_avoided) {
    for (const auto& [id, c] : candidates_) pool.push_back(&c);
  }
  const Candidate* best = nullptr;
  std::string reason;
  switch (policy_) {
    case SelectionPolicy::kFirst:
      best = *std::min_element(pool.begin(), pool.end(),
                               [](const Candidate* a, const Candidate* b) { return a->heard < b->heard; });
      reason = "first available";
      break;
    case SelectionPolicy::kPreference: {
      const auto rank = [&](const Candidate* c) {
        const auto it = std::find(preference_.begin(), preference_.end(), c->relay.user_info_id);
        return static_cast<std::size_t>(it - preference_.begin());
      };
      best = *std::min_element(pool.begin(), pool.end(),
                               [&](const Candidate* a, const Candidate* b) { return rank(a) < rank(b); });
      reason = rank(best) < preference_.size() ? "preference list position " + std::to_string(rank(best) + 1)
                                               : "none of the preference list available; first of the others";
      break;
    }
    case SelectionPolicy::kLowestRtt:
      best = *std::min_element(pool.begin(), pool.end(), [](const Candidate* a, const Candidate* b) {
        return a->rtt.value_or(Millis::max()) < b->rtt.value_or(Millis::max());
      });
      reason = best->rtt ? "lowest round-trip time " + std::to_string(best->rtt->count()) + " ms"
                         : "no round-trip time measured; first of the others";
      break;
  }
  if (all_avoided && candidates_.size() > 0) reason += " (every relay failed lately)";
  selected_ = best->relay;
  out.events.push_back(selection_event(*best, reason));
  return out;
}

Output SourceDiscovery::relay_failed(std::string_view relay, std::string reason, const Now& now) {
  Output out;
  if (auto it = candidates_.find(relay); it != candidates_.end()) it->second.avoid_until = now.mono + kRelayAvoidance;
  if (selected_ && selected_->user_info_id == relay) {
    selected_.reset();
    out.events.push_back(
        event(Level::kWarn, "relay_reselecting").with("relay", std::string(relay)).with("reason", std::move(reason)));
    out.merge(consider(now));
  }
  return out;
}

Output SourceDiscovery::on_timer(const Now& now) {
  Output out;
  for (auto it = candidates_.begin(); it != candidates_.end();) {
    if (it->second.heard + config_.lifetime <= now.mono) {
      const bool was_selected = selected_ && selected_->user_info_id == it->first;
      const std::string relay = it->first;
      it = candidates_.erase(it);
      if (was_selected) {
        selected_.reset();
        out.events.push_back(
            event(Level::kWarn, "relay_lost")
                .with("relay", relay)
                .with("reason", "nothing heard from it for " + std::to_string(config_.lifetime.count()) + " ms"));
      }
    } else {
      ++it;
    }
  }
  for (auto it = solicited_.begin(); it != solicited_.end();) {
    it = it->second + config_.lifetime <= now.mono ? solicited_.erase(it) : std::next(it);
  }
  if (!selected_ && (!decide_at_ || now.mono >= *decide_at_)) out.merge(consider(now));
  if (model_ == DiscoveryModel::kModelB && now.mono >= next_solicitation_) {
    out.merge(solicit(now));
    next_solicitation_ = now.mono + config_.interval;
  }
  return out;
}

std::optional<MonoTime> SourceDiscovery::next_deadline() const {
  std::optional<MonoTime> next;
  const auto consider_time = [&](MonoTime t) {
    if (!next || t < *next) next = t;
  };
  if (model_ == DiscoveryModel::kModelB) consider_time(next_solicitation_);
  if (decide_at_) consider_time(*decide_at_);
  for (const auto& [id, c] : candidates_) consider_time(c.heard + config_.lifetime);
  return next;
}

}  // namespace u2u::protocol
