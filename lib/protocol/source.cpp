#include "protocol/source.hpp"

#include "crypto/hash.hpp"
#include "protocol/transcript.hpp"

namespace u2u::protocol {

namespace {

std::int64_t elapsed_ms(MonoTime from, MonoTime to) { return std::chrono::duration_cast<Millis>(to - from).count(); }

}  // namespace

SourceUe::SourceUe(SourceConfig config, RandomSource random) : config_(std::move(config)), random_(std::move(random)) {}

Output SourceUe::start(const Now& now) {
  Output out;
  // Seed step 1: Authentication_Info of the source UE = User Info ID, certificate, SIGN-Source UE.
  wire::DirectCommunicationRequest request;
  request.source_user_info_id = config_.self.user_info_id;
  request.target_user_info_id = config_.target_user_info_id;
  request.target_layer2_id = config_.target_layer2_id;
  random_(request.nonce_1);
  std::shared_ptr<const crypto::PrivateKey> ephemeral;
  if (config_.forward_secrecy) {
    auto key = crypto::PrivateKey::generate();
    if (!key) return fail(key.error());
    ephemeral = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
    const Bytes point = ephemeral->public_key().uncompressed_point();
    request.source_ephemeral_key.emplace();
    std::copy(point.begin(), point.end(), request.source_ephemeral_key->begin());
  }
  request.source_certificate = config_.self.certificate.der();
  Bytes message = wire::encode_request_unsigned(request);
  auto signature = sign_step(*config_.self.signer, kSignSource, message);
  if (!signature) return fail(signature.error());
  wire::append_signature(message, wire::Iei::kSignSource, *signature);

  Pending pending;
  pending.digest = crypto::sha256(message);
  pending.nonce_1 = request.nonce_1;
  pending.session = session_id(pending.digest);
  pending.started = now.mono;
  pending.deadline = now.mono + config_.handshake_timeout;
  pending.ephemeral = std::move(ephemeral);
  out.send.push_back(
      {config_.relay_endpoint, wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, message)});
  out.events.push_back(sent_event(1, pending.session, "DIRECT COMMUNICATION REQUEST", "relay-ue",
                                  "with the source UE's Authentication_Info")
                           .with("peer", config_.target_user_info_id)
                           .with("relay", config_.relay_user_info_id));
  pending_ = std::move(pending);
  failure_.reset();
  state_ = State::kAwaitingAccept;
  return out;
}

Output SourceUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(dropped_event(datagram.error().reason, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id || datagram->source != config_.relay_layer2_id ||
      from != config_.relay_endpoint) {
    out.events.push_back(dropped_event("not from the selected relay to this UE", from));
    return out;
  }
  if (state_ != State::kAwaitingAccept) {
    out.events.push_back(dropped_event("no handshake in progress", from));
    return out;
  }
  const wire::Message& message = datagram->message;
  if (const auto* reject = std::get_if<wire::DirectCommunicationReject>(&message.body)) {
    if (reject->request_digest != pending_->digest) {
      out.events.push_back(dropped_event("reject for another request", from, reject->request_digest));
      return out;
    }
    return on_reject(*reject);
  }
  if (const auto* accept = std::get_if<wire::DirectCommunicationAccept>(&message.body)) {
    if (accept->request_digest != pending_->digest) {
      out.events.push_back(dropped_event("accept for another request", from, accept->request_digest));
      return out;
    }
    return on_accept(message, now);
  }
  out.events.push_back(dropped_event("a source UE takes no requests", from));
  return out;
}

Result<SessionKeys> SourceUe::verify_accept(const wire::Message& message, const Now& now) const {
  const auto& accept = std::get<wire::DirectCommunicationAccept>(message.body);
  const crypto::TrustStore& trust = *config_.self.trust;
  // Seed step 8: verify SIGN2-relay (the relay's countersignature over the whole accept) ...
  if (!accept.relay) {
    return make_error(Cause::kAuthenticationFailure, "relay_missing", "accept lacks the relay's Authentication_Info");
  }
  if (accept.relay->user_info_id != config_.relay_user_info_id) {
    return make_error(Cause::kAuthenticationFailure, "relay_identity",
                      "accept countersigned by \"" + accept.relay->user_info_id + "\", not the selected relay \"" +
                          config_.relay_user_info_id + "\"");
  }
  if (auto relay =
          authenticate(trust, accept.relay->certificate, accept.relay->user_info_id, crypto::Role::kRelay, kSign2Relay,
                       message.covered_by_relay_signature(), accept.relay->signature, now.wall, "relay");
      !relay) {
    return relay.error();
  }
  // ... and SIGN-Target UE, from the target this source asked for.
  if (accept.target_user_info_id != config_.target_user_info_id) {
    return make_error(Cause::kAuthenticationFailure, "target_identity",
                      "accept from \"" + accept.target_user_info_id + "\", not the requested target \"" +
                          config_.target_user_info_id + "\"");
  }
  auto target = authenticate(trust, accept.target_certificate, accept.target_user_info_id, crypto::Role::kUe,
                             kSignTarget, message.covered_by_first_signature(), accept.sign_target, now.wall, "target");
  if (!target) return target.error();
  // Forward secrecy option: the target's ephemeral key answers ours.
  std::optional<crypto::SecretBytes> ephemeral_secret;
  if (pending_->ephemeral) {
    if (!accept.target_ephemeral_key) {
      return make_error(Cause::kAuthenticationFailure, "ephemeral_missing",
                        "forward secrecy requested, but the accept carries no ephemeral key");
    }
    auto peer = crypto::PublicKey::from_uncompressed_point(*accept.target_ephemeral_key);
    if (!peer) return make_error(Cause::kAuthenticationFailure, "ephemeral_key", peer.error().reason);
    auto z = pending_->ephemeral->ecdh(*peer);
    if (!z) return z.error();
    ephemeral_secret = std::move(z).value();
  } else if (accept.target_ephemeral_key) {
    return make_error(Cause::kProtocolErrorUnspecified, "ephemeral_unexpected",
                      "the accept carries an ephemeral key the request did not offer");
  }
  // Then KD from the source's private key and the target's public key, and KD-sess.
  auto keys =
      derive_session_keys(*config_.self.key, target->public_key, config_.self.user_info_id, accept.target_user_info_id,
                          pending_->nonce_1, accept.nonce_2, ephemeral_secret ? &*ephemeral_secret : nullptr);
  if (!keys) return keys.error();
  // Key confirmation: the target proves it derived the same KD-sess.
  if (!mac_equal(accept.key_confirmation_mac, accept_mac(keys->k_int, message.covered_by_mac()))) {
    return make_error(Cause::kIntegrityFailure, "key_confirmation",
                      "the accept's key confirmation MAC does not verify: the target derived another KD-sess");
  }
  return keys;
}

Output SourceUe::on_accept(const wire::Message& message, const Now& now) {
  Output out;
  auto keys = verify_accept(message, now);
  pending_->ephemeral.reset();  // used or not, never again
  if (!keys) {
    // Back along the path, so that the target drops the session it answered.
    refuse(out, 8, pending_->session, keys.error(), reject_to_relay(keys.error().cause), "relay-ue");
    out.merge(fail(keys.error()));
    return out;
  }
  const auto& accept = std::get<wire::DirectCommunicationAccept>(message.body);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 8)
                           .with("session", pending_->session)
                           .with("detail", "SIGN-Target UE, SIGN2-relay and key confirmation verified; KD derived"));
  // Step 9 (key confirmation, after the seed): LINK CONFIRM through the relay.
  Bytes confirm = wire::encode_link_confirm_unsigned(pending_->digest);
  wire::append_mac(confirm, link_confirm_mac(keys->k_int, message.originator_part(), confirm));
  out.send.push_back(
      {config_.relay_endpoint, wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, confirm)});
  out.events.push_back(
      sent_event(9, pending_->session, "LINK CONFIRM", "relay-ue", "with the source's key confirmation"));
  out.events.push_back(event(Level::kInfo, "link_established")
                           .with("user_info_id", config_.self.user_info_id)
                           .with("peer", accept.target_user_info_id)
                           .with("relay", accept.relay->user_info_id)
                           .with("session", pending_->session)
                           .with("kd_id", keys->kd_id)
                           .with("kd_sess_id", keys->kd_sess_id)
                           .with("elapsed_ms", elapsed_ms(pending_->started, now.mono)));
  keys_ = std::move(keys).value();
  pending_.reset();
  state_ = State::kEstablished;
  return out;
}

Output SourceUe::on_reject(const wire::DirectCommunicationReject& reject) {
  const char* by = reject.rejected_by == wire::RejectedBy::kTarget ? "target" : "relay";
  return fail(make_error(reject.cause, "rejected",
                         std::string("DIRECT COMMUNICATION REJECT from the ") + by + " (unauthenticated)"));
}

Outbound SourceUe::reject_to_relay(Cause cause) const {
  const Bytes message = wire::encode_reject({pending_->digest, cause, wire::RejectedBy::kSource});
  return {config_.relay_endpoint, wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, message)};
}

Output SourceUe::on_timer(const Now& now) {
  if (state_ != State::kAwaitingAccept || now.mono < pending_->deadline) return {};
  return fail(make_error(Cause::kNone, "timeout",
                         "no answer within " + std::to_string(config_.handshake_timeout.count()) + " ms (T5080)"));
}

std::optional<MonoTime> SourceUe::next_deadline() const {
  if (state_ != State::kAwaitingAccept) return std::nullopt;
  return pending_->deadline;
}

Output SourceUe::fail(Error error) {
  Output out;
  out.events.push_back(event(Level::kError, "link_failed")
                           .with("user_info_id", config_.self.user_info_id)
                           .with("peer", config_.target_user_info_id)
                           .with("relay", config_.relay_user_info_id)
                           .with("session", pending_ ? pending_->session : std::string())
                           .with("cause", static_cast<std::int64_t>(error.cause))
                           .with("cause_name", std::string(cause_name(error.cause)))
                           .with("check", error.check)
                           .with("reason", error.reason));
  failure_ = std::move(error);
  pending_.reset();
  state_ = State::kFailed;
  return out;
}

}  // namespace u2u::protocol
