#include "protocol/relay.hpp"

#include "protocol/transcript.hpp"

namespace u2u::protocol {

namespace {

// Whether link message `m` from the target answers the one the relay forwarded to it (type and keep-alive counter).
bool answers(wire::MessageType forwarded, std::optional<std::uint32_t> counter, const wire::LinkMessage& m) {
  switch (forwarded) {
    case wire::MessageType::kLinkConfirm: return m.type == wire::MessageType::kLinkConfirmAck;
    case wire::MessageType::kKeepaliveRequest:
      return m.type == wire::MessageType::kKeepaliveResponse && m.keepalive_counter == counter;
    case wire::MessageType::kReleaseRequest: return m.type == wire::MessageType::kReleaseAccept;
    default: return false;
  }
}

}  // namespace

RelayUe::RelayUe(RelayConfig config)
    : config_(std::move(config)),
      replay_(config_.replay_window, config_.replay_cache_size),
      rate_limit_(config_.rate_limit_per_second, config_.rate_limit_burst, kRateLimitSources) {}

Output RelayUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(undecodable_event(datagram.error(), bytes, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id) {
    out.events.push_back(dropped_event("destination Layer-2 ID is not this relay's", from));
    return out;
  }
  const auto type = datagram->message.type();
  if (wire::is_link_message(type)) return on_link_message(from, *datagram, now);
  switch (type) {
    case wire::MessageType::kDirectCommunicationRequest: return on_request(from, std::move(*datagram), now);
    case wire::MessageType::kDirectCommunicationAccept: return on_accept(from, std::move(*datagram), now);
    case wire::MessageType::kDirectCommunicationReject: return on_reject(from, *datagram);
    default: break;
  }
  out.events.push_back(dropped_event("a relay takes no such message", from));
  return out;
}

void RelayUe::set_target(const RelayTarget& target) {
  // Requests the target has not answered yet go to its new address too: the source's copies and the relay's own
  // retransmissions reach a target that came back elsewhere, without waiting for a new handshake.
  for (auto& [digest, r] : routes_) {
    if (r.stage == Route::Stage::kRequested && r.target.user_info_id == target.user_info_id &&
        r.target.layer2_id == target.layer2_id) {
      r.target.endpoint = target.endpoint;
    }
  }
  for (auto& t : config_.targets) {
    if (t.user_info_id == target.user_info_id) {
      t = target;
      return;
    }
  }
  config_.targets.push_back(target);
}

std::optional<RelayTarget> RelayUe::find_target(std::string_view user_info_id) const {
  for (const auto& t : config_.targets) {
    if (t.user_info_id == user_info_id) return t;
  }
  if (config_.directory) return config_.directory(user_info_id);
  return std::nullopt;
}

Outbound RelayUe::reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest,
                         Cause cause) const {
  const Bytes message = wire::encode_reject({digest, cause, wire::RejectedBy::kRelay});
  return {to, wire::encode_datagram(config_.self.layer2_id, to_layer2_id, message)};
}

std::size_t RelayUe::pending_of_source(std::string_view user_info_id) const {
  return pending_by_source_.of(user_info_id);
}

std::size_t RelayUe::pending_of_host(const Endpoint& sender) const { return pending_by_host_.of(sender_host(sender)); }

void RelayUe::make_linked(const wire::Digest& digest, Route& route, const Now& now) {
  by_label_.emplace(dataplane::link_label(digest), digest);  // a label in use stays with its first link
  route.end_of_life = route.credentials.end_of_life(now, config_.max_link_lifetime) + kLinkLifetimeGrace;
  route.end_of_life_reason = route.credentials.end_of_life_reason(now, config_.max_link_lifetime);
  pending_by_source_.remove(route.source_user_info_id);
  pending_by_host_.remove(sender_host(route.source_endpoint));
  route.stage = Route::Stage::kLinked;
  route.forwarded_request = Bytes{};  // the target answered: no copy of the request goes to it again (freed)
  ++linked_;
}

void RelayUe::schedule_link(const wire::Digest& digest, const Route& route, const Now& now) {
  deadlines_.schedule(digest, std::min(now.mono + config_.link_timeout, route.end_of_life));
}

Event& RelayUe::with_data_counts(Event& e, const Route& route) const {
  return e
      .with("data_packets", static_cast<std::int64_t>(route.data.from_source_packets + route.data.from_target_packets))
      .with("data_bytes", static_cast<std::int64_t>(route.data.from_source_bytes + route.data.from_target_bytes))
      .with("rekeys", static_cast<std::int64_t>(route.data.rekeyings));
}

RelayUe::DataRoute RelayUe::route_data(const Endpoint& from, std::span<std::uint8_t> datagram) {
  if (datagram.size() < dataplane::kPduPrefixSize || datagram.size() > wire::kMaxDatagramSize) {
    return {std::nullopt, "data PDU of a size no PDU has"};
  }
  dataplane::LinkLabel label{};
  std::copy_n(datagram.begin() + wire::kHeaderSize + 1, label.size(), label.begin());
  const auto l = by_label_.find(label);
  if (l == by_label_.end()) return {std::nullopt, "data PDU of no link this relay routes"};
  const auto it = routes_.find(l->second);
  if (it == routes_.end() || it->second.stage != Route::Stage::kLinked) {
    return {std::nullopt, "data PDU of no link this relay routes"};
  }
  Route& r = it->second;
  const wire::Layer2Id sender = (std::uint32_t{datagram[1]} << 16) | (std::uint32_t{datagram[2]} << 8) | datagram[3];
  const wire::Layer2Id to_relay = (std::uint32_t{datagram[4]} << 16) | (std::uint32_t{datagram[5]} << 8) | datagram[6];
  if (to_relay != config_.self.layer2_id) return {std::nullopt, "destination Layer-2 ID is not this relay's"};
  if (from == r.source_endpoint && sender == r.source_layer2_id) {
    ++r.data.from_source_packets;
    r.data.from_source_bytes += datagram.size();
    dataplane::readdress(datagram, config_.self.layer2_id, r.target.layer2_id);
    return {r.target.endpoint, {}};
  }
  if (from == r.target.endpoint && sender == r.target.layer2_id) {
    ++r.data.from_target_packets;
    r.data.from_target_bytes += datagram.size();
    dataplane::readdress(datagram, config_.self.layer2_id, r.source_layer2_id);
    return {r.source_endpoint, {}};
  }
  return {std::nullopt, "data PDU from neither end of its link"};
}

void RelayUe::erase(std::map<wire::Digest, Route>::iterator it) {
  if (const auto l = by_label_.find(dataplane::link_label(it->first)); l != by_label_.end() && l->second == it->first) {
    by_label_.erase(l);
  }
  if (it->second.pending()) {
    pending_by_source_.remove(it->second.source_user_info_id);
    pending_by_host_.remove(sender_host(it->second.source_endpoint));
  } else if (it->second.stage == Route::Stage::kLinked) {
    --linked_;
  } else {
    --released_;
    released_order_.erase(it->second.released_at);
  }
  deadlines_.cancel(it->first);
  hop_deadlines_.cancel(it->first);
  routes_.erase(it);
}

std::optional<Error> RelayUe::admission(const wire::DirectCommunicationRequest& request, const Endpoint& from,
                                        const Now& now) {
  // A request seen before that is not a retransmission of a pending one.
  if (replay_.seen(request.source_user_info_id, request.nonce_1, now.mono)) {
    return make_error(Cause::kAuthenticationFailure, "replay",
                      "Nonce_1 of \"" + request.source_user_info_id + "\" was already used");
  }
  if (pending_count() >= config_.max_pending || linked_ >= config_.max_links) {
    return make_error(Cause::kLackOfResources, "pending_table_full",
                      "the relay holds " + std::to_string(pending_count()) + " pending requests and " +
                          std::to_string(linked_) + " links");
  }
  // One identity, or one host, holds at most its share of the table (counted over verified requests only, so a
  // claim of another's User Info ID costs that identity nothing).
  return share_used_up(
      {{"pending_quota_source", "\"" + request.source_user_info_id + "\"",
        pending_of_source(request.source_user_info_id), config_.max_pending_per_source},
       {"pending_quota_host", "the host of " + from.to_string(), pending_of_host(from), config_.max_pending_per_host}},
      "pending requests at this relay");
}

// Section 2, sizes per hop: a message this relay cannot forward within one datagram is refused before any signature
// work, so that what a relay accepts, the next party accepts too.
std::optional<Error> RelayUe::too_large_to_relay(const wire::Message& message) const {
  const std::size_t relayed = wire::relayed_datagram_size(message.bytes.size(), config_.self.user_info_id,
                                                          config_.self.certificate.der().size());
  if (relayed <= wire::kMaxDatagramSize) return std::nullopt;
  return make_error(Cause::kProtocolErrorUnspecified, "message_too_large",
                    "the " + std::string(wire::message_name(message.type())) + " of " +
                        std::to_string(message.bytes.size()) + " octets would take " + std::to_string(relayed) +
                        " once relayed, more than " + std::to_string(wire::kMaxDatagramSize));
}

// What a step's job leaves for the step to continue with (Node::run_job).
struct RelayUe::Work {
  std::shared_ptr<const crypto::TrustStore> trust;  // as when the step began: a reload meanwhile is checked after
  std::shared_ptr<const crypto::Signer> signer;
  Bytes forwarded;  // the message with the relay's identity appended: what the relay signs
  std::optional<Result<crypto::VerifiedPeer>> peer;
  std::optional<Result<wire::Signature>> signature;

  // Verify the peer's Authentication_Info, and countersign only what verified.
  void run(ByteView certificate, std::string_view user_info_id, const StepSignature& peer_step, ByteView covered,
           const wire::Signature& peer_signature, WallTime now, std::string_view who, const StepSignature& own_step) {
    peer = authenticate(*trust, certificate, user_info_id, crypto::Role::kUe, peer_step, covered, peer_signature, now,
                        who);
    if (*peer) signature = sign_step(*signer, own_step, forwarded);
  }
};

std::optional<Error> RelayUe::reloaded_trust_refuses(const Work& work, const LinkCredentials& credentials,
                                                     const Now& now) const {
  if (auto s = recheck_if_reloaded(credentials, *work.trust, *config_.self.trust, now.wall); !s) return s.error();
  return std::nullopt;
}

std::shared_ptr<RelayUe::Work> RelayUe::new_work(const wire::Message& message) const {
  auto w = std::make_shared<Work>();
  w->trust = config_.self.trust;
  w->signer = config_.self.signer;
  w->forwarded.assign(message.bytes.begin(), message.bytes.end());
  wire::append_relay_identity(w->forwarded, config_.self.user_info_id, config_.self.certificate.der());
  return w;
}

Output RelayUe::on_request(const Endpoint& from, wire::Datagram received, const Now& now) {
  Output out;
  const auto datagram = std::make_shared<const wire::Datagram>(std::move(received));
  const wire::Message& message = datagram->message;
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  const wire::Digest digest = request_digest(message);
  const std::string session = session_id(digest);
  if (request.relay) {
    out.events.push_back(dropped_event("request already countersigned by a relay", from, digest));
    return out;
  }
  // A retransmission: forward again what was forwarded, without new state or a new signature. Once the route is a
  // link (which an unauthenticated LINK CONFIRM ACK may have made it), the source can still be missing the accept.
  if (auto it = routes_.find(digest); it != routes_.end()) {
    const Route& r = it->second;
    if (from != r.source_endpoint) {
      out.events.push_back(dropped_event("copy of a pending request from another address", from, digest));
      return out;
    }
    if (r.stage == Route::Stage::kReleased) {
      out.events.push_back(dropped_event("request of a released link", from, digest));
      return out;
    }
    const bool answered = !r.forwarded_accept.empty();
    out.send.push_back(answered ? Outbound{r.source_endpoint, r.forwarded_accept}
                                : Outbound{r.target.endpoint, r.forwarded_request});
    out.events.push_back(event(Level::kDebug, "retransmission")
                             .with("session", session)
                             .with("detail", answered ? "accept resent to source" : "request resent to target"));
    return out;
  }
  if (verifying_.count(digest) != 0) {
    out.events.push_back(dropped_event("copy of a request being verified", from, digest));
    return out;
  }
  // Cheap checks first, in order of cost: the rate of new requests from this host, the selected relay, a known target,
  // the replay cache, room in the tables, a free worker. Only then the certificate and the signature.
  if (!rate_limit_.admit(from, now.mono)) {
    out.events.push_back(dropped_event("over the rate limit of new requests for this host", from, digest));
    return out;
  }
  const auto refuse_request = [&](const Error& e) {
    refuse(out, 2, session, e, reject(from, datagram->source, digest, e.cause), "source-ue");
    return std::move(out);
  };
  if (auto e = too_large_to_relay(message)) return refuse_request(*e);
  // The source selected another relay: this one is being used as the next hop of a relay chain.
  if (request.selected_relay_user_info_id != config_.self.user_info_id) {
    return refuse_request(make_error(Cause::kAuthenticationFailure, "relay_binding",
                                     "the source selected relay \"" + request.selected_relay_user_info_id +
                                         "\", not \"" + config_.self.user_info_id + "\""));
  }
  std::optional<RelayTarget> target = find_target(request.target_user_info_id);
  if (!target || target->layer2_id != request.target_layer2_id) {
    return refuse_request(make_error(Cause::kDirectCommunicationNotAllowed, "unknown_target",
                                     "this relay does not reach \"" + request.target_user_info_id +
                                         "\" at Layer-2 ID " + std::to_string(request.target_layer2_id)));
  }
  if (auto e = admission(request, from, now)) return refuse_request(*e);
  if (jobs_saturated()) {
    return refuse_request(make_error(
        Cause::kLackOfResources, "workers_busy",
        std::to_string(jobs_in_flight()) + " requests are being verified, as many as the relay's workers take"));
  }
  // Seed step 2: verify SIGN-Source UE with the source UE's certified public key, and countersign the whole request
  // plus the relay's User Info ID and certificate (SIGN1-relay).
  auto work = new_work(message);
  verifying_.insert(digest);
  run_job(
      out,
      [work, datagram, wall = now.wall] {
        const auto& r = std::get<wire::DirectCommunicationRequest>(datagram->message.body);
        work->run(r.source_certificate, r.source_user_info_id, kSignSource,
                  datagram->message.covered_by_first_signature(), r.sign_source, wall, "source", kSign1Relay);
      },
      [work, datagram, from, target = std::move(*target), digest](Node& self, const Now& at) {
        return static_cast<RelayUe&>(self).on_request_verified(from, *datagram, target, digest, *work, at);
      },
      now);
  return out;
}

Output RelayUe::on_request_verified(const Endpoint& from, const wire::Datagram& datagram, const RelayTarget& target,
                                    const wire::Digest& digest, const Work& work, const Now& now) {
  Output out;
  verifying_.erase(digest);
  const auto& request = std::get<wire::DirectCommunicationRequest>(datagram.message.body);
  const std::string session = session_id(digest);
  LinkCredentials credentials;
  std::optional<Error> refused;
  if (!*work.peer) {
    refused = work.peer->error();
  } else {
    credentials.add("source", request.source_user_info_id, request.source_certificate, crypto::Role::kUe,
                    (*work.peer)->not_after);
    // The job ran while other datagrams were handled: the tables are checked again, and the certificate against a
    // trust store reloaded meanwhile.
    if (offloading()) refused = admission(request, from, now);
    if (!refused) refused = reloaded_trust_refuses(work, credentials, now);
  }
  if (refused) {
    refuse(out, 2, session, *refused, reject(from, datagram.source, digest, refused->cause), "source-ue");
    return out;
  }
  replay_.remember(request.source_user_info_id, request.nonce_1, now.mono);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 2)
                           .with("session", session)
                           .with("detail", "SIGN-Source UE verified; SIGN1-relay generated")
                           .with("peer", request.source_user_info_id));
  if (!*work.signature) {
    out.events.push_back(check_failed_event(2, session, work.signature->error()));
    return out;
  }
  Bytes forwarded = work.forwarded;
  wire::append_signature(forwarded, wire::Iei::kSign1Relay, **work.signature);

  // Seed step 3: forward to the target UE.
  Route r;
  r.id = ++route_ids_;
  r.source_endpoint = from;
  r.source_layer2_id = datagram.source;
  r.source_user_info_id = request.source_user_info_id;
  r.credentials = std::move(credentials);
  r.target = target;
  r.session = session;
  r.forwarded_request = wire::encode_datagram(config_.self.layer2_id, target.layer2_id, forwarded);
  out.send.push_back({target.endpoint, r.forwarded_request});
  out.events.push_back(sent_event(3, session, "DIRECT COMMUNICATION REQUEST", "target-ue",
                                  "with the source's and the relay's Authentication_Info")
                           .with("peer", target.user_info_id));
  pending_by_source_.add(r.source_user_info_id);
  pending_by_host_.add(sender_host(r.source_endpoint));
  auto& route = routes_.emplace(digest, std::move(r)).first->second;
  deadlines_.schedule(digest, now.mono + config_.pending_timeout);
  start_hop(digest, route, Route::Hop::kRequest, now);  // until the target's accept comes
  return out;
}

Output RelayUe::on_accept(const Endpoint& from, wire::Datagram received, const Now& now) {
  Output out;
  const auto datagram = std::make_shared<const wire::Datagram>(std::move(received));
  const wire::Message& message = datagram->message;
  const auto& accept = std::get<wire::DirectCommunicationAccept>(message.body);
  auto it = routes_.find(accept.request_digest);
  if (accept.relay || it == routes_.end() || !it->second.pending()) {
    out.events.push_back(dropped_event("accept matches no pending request", from, accept.request_digest));
    return out;
  }
  Route& r = it->second;
  const RelayTarget& target = r.target;
  if (from != target.endpoint || datagram->source != target.layer2_id) {
    out.events.push_back(dropped_event("accept not from the target the request went to", from, accept.request_digest));
    return out;
  }
  if (r.stage == Route::Stage::kAnswered) {
    // The target answers a retransmitted request with its cached accept: send ours again.
    out.send.push_back({r.source_endpoint, r.forwarded_accept});
    return out;
  }
  if (r.verifying_accept) {
    out.events.push_back(dropped_event("copy of an accept being verified", from, accept.request_digest));
    return out;
  }
  if (accept.target_user_info_id != target.user_info_id) {
    return on_failed_accept(it, make_error(Cause::kAuthenticationFailure, "target_identity",
                                           "accept from \"" + accept.target_user_info_id + "\", request went to \"" +
                                               target.user_info_id + "\""));
  }
  if (auto e = too_large_to_relay(message)) return on_failed_accept(it, *e);
  // Seed step 6: verify SIGN-Target UE with the target UE's certified public key, and countersign (SIGN2-relay). No
  // worker limit here: each pending route has at most one accept being verified.
  auto work = new_work(message);
  r.verifying_accept = true;
  run_job(
      out,
      [work, datagram, wall = now.wall] {
        const auto& a = std::get<wire::DirectCommunicationAccept>(datagram->message.body);
        work->run(a.target_certificate, a.target_user_info_id, kSignTarget,
                  datagram->message.covered_by_first_signature(), a.sign_target, wall, "target", kSign2Relay);
      },
      [work, datagram, route = r.id](Node& self, const Now& at) {
        return static_cast<RelayUe&>(self).on_accept_verified(*datagram, route, *work, at);
      },
      now);
  return out;
}

Output RelayUe::on_accept_verified(const wire::Datagram& datagram, std::uint64_t route, const Work& work,
                                   const Now& now) {
  Output out;
  const auto& accept = std::get<wire::DirectCommunicationAccept>(datagram.message.body);
  auto it = routes_.find(accept.request_digest);
  if (it == routes_.end() || it->second.id != route || it->second.stage != Route::Stage::kRequested) {
    return out;  // the route expired, or was rejected, while the accept was being verified
  }
  Route& r = it->second;
  r.verifying_accept = false;
  std::optional<Error> refused;
  if (!*work.peer) {
    refused = work.peer->error();
  } else {
    r.credentials.add("target", accept.target_user_info_id, accept.target_certificate, crypto::Role::kUe,
                      (*work.peer)->not_after);
    refused = reloaded_trust_refuses(work, r.credentials, now);
  }
  if (refused) return on_failed_accept(it, *refused);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 6)
                           .with("session", r.session)
                           .with("detail", "SIGN-Target UE verified; SIGN2-relay generated")
                           .with("peer", accept.target_user_info_id));
  if (!*work.signature) {
    out.events.push_back(check_failed_event(6, r.session, work.signature->error()));
    return out;
  }
  Bytes forwarded = work.forwarded;
  wire::append_signature(forwarded, wire::Iei::kSign2Relay, **work.signature);
  // Seed step 7: forward to the source UE.
  r.forwarded_accept = wire::encode_datagram(config_.self.layer2_id, r.source_layer2_id, forwarded);
  r.forwarded_request = Bytes{};  // a retransmitted request is answered with the accept from now on (freed)
  r.stage = Route::Stage::kAnswered;
  start_hop(it->first, r, Route::Hop::kAccept, now);  // until the source's LINK CONFIRM shows it has the accept
  out.send.push_back({r.source_endpoint, r.forwarded_accept});
  out.events.push_back(sent_event(7, r.session, "DIRECT COMMUNICATION ACCEPT", "source-ue",
                                  "with the target's and the relay's Authentication_Info")
                           .with("peer", r.source_user_info_id));
  deadlines_.schedule(it->first, now.mono + config_.pending_timeout);
  return out;
}

Output RelayUe::on_failed_accept(std::map<wire::Digest, Route>::iterator it, const Error& error) {
  Output out;
  Route& r = it->second;
  const Outbound hint = reject(r.source_endpoint, r.source_layer2_id, it->first, error.cause);
  if (++r.failed_accepts < kRelayMaxFailedAccepts) {
    // Issue 13: damaged on the way, or forged: a lost accept. The source learns the cause (a hint) and the request
    // goes on being sent to the target, which answers a copy with the accept it holds.
    refuse(out, 6, r.session, error, hint, "source-ue");
    return out;
  }
  Error last = error;
  last.reason += " (the " + std::to_string(r.failed_accepts) + "th accept of this request that failed: refused)";
  refuse(out, 6, r.session, last, hint, "source-ue");
  erase(it);
  return out;
}

// Issue 13: a REJECT proves nothing about its sender (docs/protocol.md 3.3). It is passed on along the path as a
// hint, and changes nothing here: the route ends as every route does, so that a forged one cannot end a handshake.
Output RelayUe::on_reject(const Endpoint& from, const wire::Datagram& datagram) {
  Output out;
  const auto& rej = std::get<wire::DirectCommunicationReject>(datagram.message.body);
  auto it = routes_.find(rej.request_digest);
  if (it == routes_.end() || !it->second.pending()) {
    out.events.push_back(dropped_event("reject matches no pending request", from, rej.request_digest));
    return out;
  }
  Route& r = it->second;
  const RelayTarget& target = r.target;
  const bool from_target = from == target.endpoint && datagram.source == target.layer2_id;
  const bool from_source = from == r.source_endpoint && datagram.source == r.source_layer2_id;
  if (!from_target && !from_source) {
    out.events.push_back(dropped_event("reject from neither end of the pending request", from, rej.request_digest));
    return out;
  }
  // Pass the reject on along the path, readdressed for the next hop.
  out.send.push_back(
      from_target ? Outbound{r.source_endpoint,
                             wire::encode_datagram(config_.self.layer2_id, r.source_layer2_id, datagram.message.bytes)}
                  : Outbound{target.endpoint,
                             wire::encode_datagram(config_.self.layer2_id, target.layer2_id, datagram.message.bytes)});
  // The first at info; the copies (a refusing target answers each retransmission) at debug.
  out.events.push_back(event(r.rejects_forwarded++ == 0 ? Level::kInfo : Level::kDebug, "reject_forwarded")
                           .with("session", r.session)
                           .with("cause", static_cast<std::int64_t>(rej.cause))
                           .with("cause_name", std::string(cause_name(rej.cause)))
                           .with("to", from_target ? "source-ue" : "target-ue")
                           .with("check", "reject_unauthenticated")
                           .with("detail", "passed on as a hint; the pending request is kept"));
  return out;
}

void RelayUe::start_hop(const wire::Digest& digest, Route& route, Route::Hop hop, const Now& now) {
  route.hop = hop;
  if (hop == Route::Hop::kNone) {
    route.hop_schedule.stop();
    hop_deadlines_.cancel(digest);
    return;
  }
  const unsigned tries = hop == Route::Hop::kAckCopies ? 1 + kRelayAckCopies : kRelayHopMaxTries;
  const RetransmitPolicy policy{kRelayHopRetransmit, tries, 2, 0, kRelayHopRetransmitMax};
  route.hop_schedule.start(now.mono, policy, RandomSource{});  // no jitter: no random number is drawn
  hop_deadlines_.schedule(digest, *route.hop_schedule.deadline());
}

std::optional<Outbound> RelayUe::hop_message(const Route& r) const {
  const auto message = [](const Endpoint& to, const Bytes& datagram) {
    return datagram.empty() ? std::nullopt : std::optional<Outbound>(Outbound{to, datagram});
  };
  switch (r.hop) {
    case Route::Hop::kRequest: return message(r.target.endpoint, r.forwarded_request);
    case Route::Hop::kAccept: return message(r.source_endpoint, r.forwarded_accept);
    case Route::Hop::kToTarget: return message(r.target.endpoint, r.to_target);
    case Route::Hop::kAckCopies: return message(r.source_endpoint, r.answer_to_source);
    case Route::Hop::kNone: break;
  }
  return std::nullopt;
}

// Step 9 and every later link message: the relay holds no key to check them; it routes them by request digest
// between the two ends of an answered request, readdressed, and keeps the route while the link lives. What it
// cannot check never ends a route at once (docs/protocol.md 7).
Output RelayUe::on_link_message(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const auto& m = std::get<wire::LinkMessage>(datagram.message.body);
  auto it = routes_.find(m.request_digest);
  if (it == routes_.end() || it->second.stage == Route::Stage::kRequested) {
    out.events.push_back(dropped_event("link message matches no answered request", from, m.request_digest));
    return out;
  }
  Route& r = it->second;
  const RelayTarget& target = r.target;
  const bool from_source = from == r.source_endpoint && datagram.source == r.source_layer2_id;
  const bool from_target = from == target.endpoint && datagram.source == target.layer2_id;
  if (wire::is_rekeying_message(m.type)) {
    // Docs/protocol.md 12: from either end of a link up, to the other, unchanged; the ends send them again
    // themselves. Like every link message, they keep the route alive.
    if (r.stage != Route::Stage::kLinked || (!from_source && !from_target)) {
      out.events.push_back(
          dropped_event("rekeying message of no link up between its sender and this relay", from, m.request_digest));
      return out;
    }
    out.send.push_back(
        from_source ? Outbound{target.endpoint,
                               wire::encode_datagram(config_.self.layer2_id, target.layer2_id, datagram.message.bytes)}
                    : Outbound{r.source_endpoint, wire::encode_datagram(config_.self.layer2_id, r.source_layer2_id,
                                                                        datagram.message.bytes)});
    if (m.type == wire::MessageType::kRekeyingConfirm && r.data.rekeying_generation != m.rekeying_generation) {
      r.data.rekeying_generation = m.rekeying_generation;
      ++r.data.rekeyings;
      ++rekeyings_relayed_;
    }
    schedule_link(it->first, r, now);
    return out;
  }
  const bool source_sends = m.type == wire::MessageType::kLinkConfirm ||
                            m.type == wire::MessageType::kKeepaliveRequest ||
                            m.type == wire::MessageType::kReleaseRequest;
  if (source_sends ? !from_source : !from_target) {
    out.events.push_back(dropped_event("link message from the wrong end of the link", from, m.request_digest));
    return out;
  }
  if (m.type == wire::MessageType::kReleaseAccept && !r.release_forwarded) {
    out.events.push_back(
        dropped_event("release accept of a link whose release this relay never forwarded", from, m.request_digest));
    return out;
  }
  Outbound forwarded =
      source_sends ? Outbound{target.endpoint,
                              wire::encode_datagram(config_.self.layer2_id, target.layer2_id, datagram.message.bytes)}
                   : Outbound{r.source_endpoint, wire::encode_datagram(config_.self.layer2_id, r.source_layer2_id,
                                                                       datagram.message.bytes)};
  // Issue 13, per hop: the relay sends the source's message to the target again until the target answers it, and
  // answers a copy from the source with the answer it holds (forwarding the copy too: the answer it holds may be a
  // forgery it cannot check).
  if (source_sends) {
    if (m.type == wire::MessageType::kLinkConfirm && r.hop == Route::Hop::kAccept) {
      start_hop(it->first, r, Route::Hop::kNone, now);  // the source has the accept
    }
    if (forwarded.datagram == r.to_target) {
      if (!r.answer_to_source.empty()) out.send.push_back({r.source_endpoint, r.answer_to_source});
    } else {
      r.to_target = forwarded.datagram;
      r.to_target_type = m.type;
      r.to_target_counter = m.keepalive_counter;
      r.answer_to_source.clear();
      start_hop(it->first, r, Route::Hop::kToTarget, now);
    }
  } else if (!r.to_target.empty() && answers(r.to_target_type, r.to_target_counter, m)) {
    r.answer_to_source = forwarded.datagram;
    if (r.hop == Route::Hop::kToTarget) {
      // The LINK CONFIRM ACK, which nothing answers, is sent again a few times on the last hop (kRelayAckCopies).
      start_hop(it->first, r, m.type == wire::MessageType::kLinkConfirmAck ? Route::Hop::kAckCopies : Route::Hop::kNone,
                now);
    }
  }
  out.send.push_back(std::move(forwarded));
  switch (m.type) {
    case wire::MessageType::kLinkConfirm:
      out.events.push_back(
          sent_event(9, r.session, "LINK CONFIRM", "target-ue", "forwarded unchanged: the relay cannot check it"));
      break;
    case wire::MessageType::kLinkConfirmAck:
      if (r.pending()) {
        make_linked(it->first, r, now);
        out.events.push_back(event(Level::kInfo, "link_relayed")
                                 .with("session", r.session)
                                 .with("source", r.source_user_info_id)
                                 .with("target", target.user_info_id));
      }
      break;
    case wire::MessageType::kReleaseRequest:
      if (!r.pending()) r.release_forwarded = true;
      break;
    case wire::MessageType::kReleaseAccept:
      // Both halves of a release passed. The route no longer counts as a link; it is kept for retransmissions (and
      // in case the release was forged) until link_timeout passes without a link message.
      if (r.stage == Route::Stage::kLinked) {
        r.stage = Route::Stage::kReleased;
        r.forwarded_accept.clear();
        --linked_;
        ++released_;
        r.released_at = released_order_.insert(released_order_.end(), it->first);
        Event released = event(Level::kInfo, "link_released");
        released.with("session", r.session);
        out.events.push_back(with_data_counts(released, r));
      }
      break;
    case wire::MessageType::kKeepaliveResponse:
      // A target answers no keep-alive on a link it released: the release this relay saw was not the ends'.
      if (r.stage == Route::Stage::kReleased) {
        r.stage = Route::Stage::kLinked;
        r.release_forwarded = false;
        --released_;
        released_order_.erase(r.released_at);
        ++linked_;
        out.events.push_back(event(Level::kWarn, "link_resumed")
                                 .with("session", r.session)
                                 .with("reason", "the target answered a keep-alive after the link's release"));
      }
      break;
    default: break;
  }
  if (!r.pending()) schedule_link(it->first, r, now);
  trim_released();  // last: it may forget this very route
  return out;
}

void RelayUe::trim_released() {
  while (released_ > config_.max_links) erase(routes_.find(released_order_.front()));
}

Output RelayUe::on_timer(const Now& now) {
  Output out;
  while (auto digest = deadlines_.pop_due(now.mono)) {
    auto it = routes_.find(*digest);
    if (it == routes_.end()) continue;
    switch (it->second.stage) {
      case Route::Stage::kRequested:
        out.events.push_back(event(Level::kInfo, "pending_expired")
                                 .with("session", it->second.session)
                                 .with("detail", "no answer from the target"));
        break;
      case Route::Stage::kAnswered: break;  // the source never confirmed: the target reports it
      case Route::Stage::kReleased: break;  // released, and lingered for retransmissions
      case Route::Stage::kLinked: {
        Event expired = event(Level::kWarn, "link_expired");
        expired.with("session", it->second.session)
            .with("reason",
                  now.mono >= it->second.end_of_life
                      ? it->second.end_of_life_reason + " (the source did not end it)"
                      : "nothing relayed on the link for " + std::to_string(config_.link_timeout.count()) + " ms");
        out.events.push_back(with_data_counts(expired, it->second));
        break;
      }
    }
    erase(it);
  }
  // Expired routes first: nothing is sent again for a route that ends now.
  while (auto digest = hop_deadlines_.pop_due(now.mono)) {
    auto it = routes_.find(*digest);
    if (it == routes_.end()) continue;
    Route& r = it->second;
    if (r.hop_schedule.on_timer(now.mono, RandomSource{}) != RetransmitSchedule::Tick::kResend) {
      r.hop = Route::Hop::kNone;  // its tries ran out: the ends' own retransmissions still pass through
      continue;
    }
    if (auto m = hop_message(r)) {
      out.send.push_back(std::move(*m));
      out.events.push_back(event(Level::kDebug, "retransmission")
                               .with("session", r.session)
                               .with("try", static_cast<std::int64_t>(r.hop_schedule.tries()))
                               .with("detail", "sent again on the relay's per-hop timer"));
    }
    hop_deadlines_.schedule(*digest, *r.hop_schedule.deadline());
  }
  return out;
}

Output RelayUe::recheck(const Now& now) {
  Output out;
  for (auto it = routes_.begin(); it != routes_.end();) {
    const auto next = std::next(it);
    if (auto s = it->second.credentials.recheck(*config_.self.trust, now.wall); !s) {
      out.events.push_back(event(Level::kWarn, "link_revoked")
                               .with("session", it->second.session)
                               .with("source", it->second.source_user_info_id)
                               .with("target", it->second.target.user_info_id)
                               .with("check", s.error().check)
                               .with("reason", s.error().reason));
      erase(it);
    }
    it = next;
  }
  return out;
}

std::vector<Event> RelayUe::link_stats() const {
  std::vector<Event> out;
  for (const auto& [digest, r] : routes_) {
    if (r.stage != Route::Stage::kLinked) continue;
    out.push_back(event(Level::kInfo, "link_stats")
                      .with("session", r.session)
                      .with("source", r.source_user_info_id)
                      .with("target", r.target.user_info_id)
                      .with("from_source_packets", static_cast<std::int64_t>(r.data.from_source_packets))
                      .with("from_source_bytes", static_cast<std::int64_t>(r.data.from_source_bytes))
                      .with("from_target_packets", static_cast<std::int64_t>(r.data.from_target_packets))
                      .with("from_target_bytes", static_cast<std::int64_t>(r.data.from_target_bytes))
                      .with("rekeys", static_cast<std::int64_t>(r.data.rekeyings)));
  }
  return out;
}

std::optional<MonoTime> RelayUe::next_deadline() const {
  const auto a = deadlines_.next();
  const auto b = hop_deadlines_.next();
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

}  // namespace u2u::protocol
