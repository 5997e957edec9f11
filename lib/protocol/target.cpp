#include "protocol/target.hpp"

#include "protocol/transcript.hpp"

namespace u2u::protocol {

TargetUe::TargetUe(TargetConfig config, RandomSource random) : config_(std::move(config)), random_(std::move(random)) {}

Output TargetUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(dropped_event(datagram.error().reason, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id) {
    out.events.push_back(dropped_event("destination Layer-2 ID is not this UE's", from));
    return out;
  }
  if (datagram->message.type() != wire::MessageType::kDirectCommunicationRequest) {
    out.events.push_back(dropped_event("a target UE takes only requests", from));
    return out;
  }
  return on_request(from, *datagram, now);
}

Outbound TargetUe::reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest,
                          Cause cause) const {
  const Bytes message = wire::encode_reject({digest, cause, wire::RejectedBy::kTarget});
  return {to, wire::encode_datagram(config_.self.layer2_id, to_layer2_id, message)};
}

Result<crypto::VerifiedPeer> TargetUe::verify_request(const wire::Message& message, const Now& now) const {
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  if (request.target_user_info_id != config_.self.user_info_id || request.target_layer2_id != config_.self.layer2_id) {
    return make_error(Cause::kDirectCommunicationNotAllowed, "target_identity",
                      "request for \"" + request.target_user_info_id + "\" at Layer-2 ID " +
                          std::to_string(request.target_layer2_id) + " reached \"" + config_.self.user_info_id + "\"");
  }
  // Seed step 4: verify SIGN1-relay (over the whole request) and SIGN-Source UE.
  if (!request.relay) {
    return make_error(Cause::kAuthenticationFailure, "relay_missing",
                      "request lacks the relay's Authentication_Info (not received through a relay)");
  }
  if (auto relay = authenticate(*config_.self.trust, request.relay->certificate, request.relay->user_info_id,
                                crypto::Role::kRelay, kSign1Relay, message.covered_by_relay_signature(),
                                request.relay->signature, now.wall, "relay");
      !relay) {
    return relay.error();
  }
  return authenticate(*config_.self.trust, request.source_certificate, request.source_user_info_id, crypto::Role::kUe,
                      kSignSource, message.covered_by_first_signature(), request.sign_source, now.wall, "source");
}

Output TargetUe::on_request(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const wire::Message& message = datagram.message;
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  const wire::Digest digest = request_digest(message);
  const std::string session = session_id(digest);

  // The same request again (the source or relay retransmitting): the same accept, no new ECDH or signature.
  if (auto it = sessions_.find(digest); it != sessions_.end()) {
    out.send.push_back({from, it->second.accept_datagram});
    out.events.push_back(
        event(Level::kDebug, "retransmission").with("session", session).with("detail", "accept resent"));
    return out;
  }
  auto source = verify_request(message, now);
  if (!source) {
    out.events.push_back(check_failed_event(4, session, source.error()));
    out.send.push_back(reject(from, datagram.source, digest, source.error().cause));
    return out;
  }
  if (sessions_.size() >= config_.max_sessions) {
    const Error e = make_error(Cause::kLackOfResources, "session_table_full",
                               "session table holds " + std::to_string(sessions_.size()) + " entries");
    out.events.push_back(check_failed_event(4, session, e));
    out.send.push_back(reject(from, datagram.source, digest, e.cause));
    return out;
  }
  // ... then KD from the target's private key and the source UE's public key, and KD-sess with Nonce_2.
  wire::DirectCommunicationAccept accept;
  accept.target_user_info_id = config_.self.user_info_id;
  accept.request_digest = digest;
  random_(accept.nonce_2);
  accept.target_certificate = config_.self.certificate.der();
  auto keys = derive_session_keys(*config_.self.key, source->public_key, request.source_user_info_id,
                                  config_.self.user_info_id, request.nonce_1, accept.nonce_2);
  if (!keys) {
    out.events.push_back(check_failed_event(4, session, keys.error()));
    out.send.push_back(reject(from, datagram.source, digest, keys.error().cause));
    return out;
  }
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 4)
                           .with("session", session)
                           .with("detail", "SIGN-Source UE and SIGN1-relay verified; KD derived")
                           .with("peer", request.source_user_info_id)
                           .with("relay", request.relay->user_info_id));
  // Seed step 5: the Authentication Response, signed over everything before SIGN-Target UE.
  Bytes message_out = wire::encode_accept_unsigned(accept);
  auto signature = sign_step(*config_.self.signer, kSignTarget, message_out);
  if (!signature) {
    out.events.push_back(check_failed_event(5, session, signature.error()));
    return out;
  }
  wire::append_signature(message_out, wire::Iei::kSignTarget, *signature);
  Session s;
  s.source_user_info_id = request.source_user_info_id;
  s.session = session;
  s.accept_datagram = wire::encode_datagram(config_.self.layer2_id, datagram.source, message_out);
  s.expiry = now.mono + config_.session_timeout;
  out.send.push_back({from, s.accept_datagram});
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 5)
                           .with("session", session)
                           .with("detail", "DIRECT COMMUNICATION ACCEPT with Authentication_Info sent to relay"));
  out.events.push_back(event(Level::kInfo, "link_established")
                           .with("user_info_id", config_.self.user_info_id)
                           .with("peer", request.source_user_info_id)
                           .with("relay", request.relay->user_info_id)
                           .with("session", session)
                           .with("kd_id", keys->kd_id)
                           .with("kd_sess_id", keys->kd_sess_id)
                           .with("elapsed_ms", std::int64_t{0}));
  links_.insert_or_assign(request.source_user_info_id, std::move(keys).value());
  sessions_.emplace(digest, std::move(s));
  expiry_order_.emplace_back(now.mono + config_.session_timeout, digest);
  return out;
}

const SessionKeys* TargetUe::keys_for(std::string_view source_user_info_id) const {
  auto it = links_.find(source_user_info_id);
  return it == links_.end() ? nullptr : &it->second;
}

Output TargetUe::on_timer(const Now& now) {
  while (!expiry_order_.empty() && expiry_order_.front().first <= now.mono) {
    sessions_.erase(expiry_order_.front().second);
    expiry_order_.pop_front();
  }
  return {};
}

std::optional<MonoTime> TargetUe::next_deadline() const {
  if (expiry_order_.empty()) return std::nullopt;
  return expiry_order_.front().first;
}

}  // namespace u2u::protocol
