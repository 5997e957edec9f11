#include "protocol/relay.hpp"

#include "protocol/transcript.hpp"

namespace u2u::protocol {

RelayUe::RelayUe(RelayConfig config)
    : config_(std::move(config)), replay_(config_.replay_window, config_.replay_cache_size) {}

Output RelayUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(dropped_event(datagram.error().reason, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id) {
    out.events.push_back(dropped_event("destination Layer-2 ID is not this relay's", from));
    return out;
  }
  switch (datagram->message.type()) {
    case wire::MessageType::kDirectCommunicationRequest: return on_request(from, *datagram, now);
    case wire::MessageType::kDirectCommunicationAccept: return on_accept(from, *datagram, now);
    case wire::MessageType::kDirectCommunicationReject: return on_reject(from, *datagram);
    case wire::MessageType::kLinkConfirm: return on_link_confirm(from, *datagram);
  }
  return out;
}

const RelayTarget* RelayUe::find_target(std::string_view user_info_id) const {
  for (const auto& t : config_.targets) {
    if (t.user_info_id == user_info_id) return &t;
  }
  return nullptr;
}

Outbound RelayUe::reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest,
                         Cause cause) const {
  const Bytes message = wire::encode_reject({digest, cause, wire::RejectedBy::kRelay});
  return {to, wire::encode_datagram(config_.self.layer2_id, to_layer2_id, message)};
}

Output RelayUe::on_request(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const wire::Message& message = datagram.message;
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  const wire::Digest digest = request_digest(message);
  const std::string session = session_id(digest);
  if (request.relay) {
    out.events.push_back(dropped_event("request already countersigned by a relay", from, digest));
    return out;
  }
  // A retransmission: forward again what was forwarded, without new state or a new signature.
  if (auto it = pending_.find(digest); it != pending_.end()) {
    const Pending& p = it->second;
    if (from != p.source_endpoint) {
      out.events.push_back(dropped_event("copy of a pending request from another address", from, digest));
      return out;
    }
    const bool answered = !p.forwarded_accept.empty();
    out.send.push_back(answered ? Outbound{p.source_endpoint, p.forwarded_accept}
                                : Outbound{config_.targets[p.target].endpoint, p.forwarded_request});
    out.events.push_back(event(Level::kDebug, "retransmission")
                             .with("session", session)
                             .with("detail", answered ? "accept resent to source" : "request resent to target"));
    return out;
  }
  // Cheap checks first: known target, room in the pending table. Then the signature.
  const RelayTarget* target = find_target(request.target_user_info_id);
  if (target == nullptr || target->layer2_id != request.target_layer2_id) {
    const Error e = make_error(Cause::kDirectCommunicationNotAllowed, "unknown_target",
                               "this relay does not reach \"" + request.target_user_info_id + "\" at Layer-2 ID " +
                                   std::to_string(request.target_layer2_id));
    refuse(out, 2, session, e, reject(from, datagram.source, digest, e.cause), "source-ue");
    return out;
  }
  // A request seen before that is not a retransmission of a pending one: refused before any signature work.
  if (replay_.seen(request.source_user_info_id, request.nonce_1, now.mono)) {
    const Error e = make_error(Cause::kAuthenticationFailure, "replay",
                               "Nonce_1 of \"" + request.source_user_info_id + "\" was already used");
    refuse(out, 2, session, e, reject(from, datagram.source, digest, e.cause), "source-ue");
    return out;
  }
  if (pending_.size() >= config_.max_pending) {
    const Error e = make_error(Cause::kLackOfResources, "pending_table_full",
                               "pending table holds " + std::to_string(pending_.size()) + " requests");
    refuse(out, 2, session, e, reject(from, datagram.source, digest, e.cause), "source-ue");
    return out;
  }
  // Seed step 2: verify SIGN-Source UE with the source UE's certified public key.
  auto source =
      authenticate(*config_.self.trust, request.source_certificate, request.source_user_info_id, crypto::Role::kUe,
                   kSignSource, message.covered_by_first_signature(), request.sign_source, now.wall, "source");
  if (!source) {
    refuse(out, 2, session, source.error(), reject(from, datagram.source, digest, source.error().cause), "source-ue");
    return out;
  }
  replay_.remember(request.source_user_info_id, request.nonce_1, now.mono);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 2)
                           .with("session", session)
                           .with("detail", "SIGN-Source UE verified; SIGN1-relay generated")
                           .with("peer", request.source_user_info_id));
  // ... and countersign the whole request plus the relay's User Info ID and certificate (SIGN1-relay).
  Bytes forwarded(message.bytes.begin(), message.bytes.end());
  wire::append_relay_identity(forwarded, config_.self.user_info_id, config_.self.certificate.der());
  auto signature = sign_step(*config_.self.signer, kSign1Relay, forwarded);
  if (!signature) {
    out.events.push_back(check_failed_event(2, session, signature.error()));
    return out;
  }
  wire::append_signature(forwarded, wire::Iei::kSign1Relay, *signature);

  // Seed step 3: forward to the target UE.
  Pending p;
  p.source_endpoint = from;
  p.source_layer2_id = datagram.source;
  p.source_user_info_id = request.source_user_info_id;
  p.target = static_cast<std::size_t>(target - config_.targets.data());
  p.session = session;
  p.forwarded_request = wire::encode_datagram(config_.self.layer2_id, target->layer2_id, forwarded);
  p.expiry = now.mono + config_.pending_timeout;
  out.send.push_back({target->endpoint, p.forwarded_request});
  out.events.push_back(sent_event(3, session, "DIRECT COMMUNICATION REQUEST", "target-ue",
                                  "with the source's and the relay's Authentication_Info")
                           .with("peer", target->user_info_id));
  pending_.emplace(digest, std::move(p));
  expiry_order_.emplace_back(now.mono + config_.pending_timeout, digest);
  return out;
}

Output RelayUe::on_accept(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const wire::Message& message = datagram.message;
  const auto& accept = std::get<wire::DirectCommunicationAccept>(message.body);
  auto it = pending_.find(accept.request_digest);
  if (accept.relay || it == pending_.end()) {
    out.events.push_back(dropped_event("accept matches no pending request", from, accept.request_digest));
    return out;
  }
  Pending& p = it->second;
  const RelayTarget& target = config_.targets[p.target];
  if (from != target.endpoint || datagram.source != target.layer2_id) {
    out.events.push_back(dropped_event("accept not from the target the request went to", from, accept.request_digest));
    return out;
  }
  if (!p.forwarded_accept.empty()) {
    // The target answers a retransmitted request with its cached accept: send ours again.
    out.send.push_back({p.source_endpoint, p.forwarded_accept});
    return out;
  }
  // Seed step 6: verify SIGN-Target UE with the target UE's certified public key.
  Status verified = accept.target_user_info_id == target.user_info_id
                        ? Status{}
                        : Status{make_error(Cause::kAuthenticationFailure, "target_identity",
                                            "accept from \"" + accept.target_user_info_id + "\", request went to \"" +
                                                target.user_info_id + "\"")};
  if (verified) {
    auto peer =
        authenticate(*config_.self.trust, accept.target_certificate, accept.target_user_info_id, crypto::Role::kUe,
                     kSignTarget, message.covered_by_first_signature(), accept.sign_target, now.wall, "target");
    if (!peer) verified = peer.error();
  }
  if (!verified) {
    refuse(out, 6, p.session, verified.error(),
           reject(p.source_endpoint, p.source_layer2_id, accept.request_digest, verified.error().cause), "source-ue");
    pending_.erase(it);
    return out;
  }
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 6)
                           .with("session", p.session)
                           .with("detail", "SIGN-Target UE verified; SIGN2-relay generated")
                           .with("peer", accept.target_user_info_id));
  Bytes forwarded(message.bytes.begin(), message.bytes.end());
  wire::append_relay_identity(forwarded, config_.self.user_info_id, config_.self.certificate.der());
  auto signature = sign_step(*config_.self.signer, kSign2Relay, forwarded);
  if (!signature) {
    out.events.push_back(check_failed_event(6, p.session, signature.error()));
    return out;
  }
  wire::append_signature(forwarded, wire::Iei::kSign2Relay, *signature);
  // Seed step 7: forward to the source UE.
  p.forwarded_accept = wire::encode_datagram(config_.self.layer2_id, p.source_layer2_id, forwarded);
  out.send.push_back({p.source_endpoint, p.forwarded_accept});
  out.events.push_back(sent_event(7, p.session, "DIRECT COMMUNICATION ACCEPT", "source-ue",
                                  "with the target's and the relay's Authentication_Info")
                           .with("peer", p.source_user_info_id));
  return out;
}

Output RelayUe::on_reject(const Endpoint& from, const wire::Datagram& datagram) {
  Output out;
  const auto& rej = std::get<wire::DirectCommunicationReject>(datagram.message.body);
  auto it = pending_.find(rej.request_digest);
  if (it == pending_.end()) {
    out.events.push_back(dropped_event("reject matches no pending request", from, rej.request_digest));
    return out;
  }
  const Pending& p = it->second;
  const RelayTarget& target = config_.targets[p.target];
  const bool from_target = from == target.endpoint && datagram.source == target.layer2_id;
  const bool from_source = from == p.source_endpoint && datagram.source == p.source_layer2_id;
  if (!from_target && !from_source) {
    out.events.push_back(dropped_event("reject from neither end of the pending request", from, rej.request_digest));
    return out;
  }
  // Pass the reject on along the path, readdressed for the next hop.
  out.send.push_back(
      from_target ? Outbound{p.source_endpoint,
                             wire::encode_datagram(config_.self.layer2_id, p.source_layer2_id, datagram.message.bytes)}
                  : Outbound{target.endpoint,
                             wire::encode_datagram(config_.self.layer2_id, target.layer2_id, datagram.message.bytes)});
  out.events.push_back(event(Level::kInfo, "reject_forwarded")
                           .with("session", p.session)
                           .with("cause", static_cast<std::int64_t>(rej.cause))
                           .with("cause_name", std::string(cause_name(rej.cause)))
                           .with("to", from_target ? "source" : "target"));
  pending_.erase(it);
  return out;
}

Output RelayUe::on_link_confirm(const Endpoint& from, const wire::Datagram& datagram) {
  Output out;
  const auto& confirm = std::get<wire::LinkConfirm>(datagram.message.body);
  auto it = pending_.find(confirm.request_digest);
  if (it == pending_.end() || it->second.forwarded_accept.empty() || from != it->second.source_endpoint ||
      datagram.source != it->second.source_layer2_id) {
    out.events.push_back(
        dropped_event("link confirm matches no answered request from this source", from, confirm.request_digest));
    return out;
  }
  // Step 9: the relay cannot check the MAC (it holds no key); the target does.
  const RelayTarget& target = config_.targets[it->second.target];
  out.send.push_back(
      {target.endpoint, wire::encode_datagram(config_.self.layer2_id, target.layer2_id, datagram.message.bytes)});
  out.events.push_back(
      sent_event(9, it->second.session, "LINK CONFIRM", "target-ue", "forwarded unchanged: the relay cannot check it"));
  return out;
}

Output RelayUe::on_timer(const Now& now) {
  Output out;
  while (!expiry_order_.empty() && expiry_order_.front().first <= now.mono) {
    const wire::Digest digest = expiry_order_.front().second;
    expiry_order_.pop_front();
    auto it = pending_.find(digest);
    if (it == pending_.end() || it->second.expiry > now.mono) continue;
    if (it->second.forwarded_accept.empty()) {
      out.events.push_back(event(Level::kInfo, "pending_expired")
                               .with("session", it->second.session)
                               .with("detail", "no answer from the target"));
    }
    pending_.erase(it);
  }
  return out;
}

std::optional<MonoTime> RelayUe::next_deadline() const {
  if (expiry_order_.empty()) return std::nullopt;
  return expiry_order_.front().first;
}

}  // namespace u2u::protocol
