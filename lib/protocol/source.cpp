#include "protocol/source.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "protocol/transcript.hpp"

namespace u2u::protocol {

namespace {

std::int64_t elapsed_ms(MonoTime from, MonoTime to) { return std::chrono::duration_cast<Millis>(to - from).count(); }

}  // namespace

SourceUe::SourceUe(SourceConfig config, RandomSource random) : config_(std::move(config)), random_(std::move(random)) {}

Event SourceUe::link_event(Level level, std::string name) const {
  return event(level, std::move(name))
      .with("user_info_id", config_.self.user_info_id)
      .with("peer", config_.target_user_info_id)
      .with("relay", config_.relay_user_info_id)
      .with("session", link_ ? link_->session : (handshake_ ? handshake_->session : std::string()));
}

Output SourceUe::start(const Now& now) {
  Output out;
  link_.reset();
  // Seed step 1: Authentication_Info of the source UE = User Info ID, certificate, SIGN-Source UE.
  wire::DirectCommunicationRequest request;
  request.source_user_info_id = config_.self.user_info_id;
  request.target_user_info_id = config_.target_user_info_id;
  request.target_layer2_id = config_.target_layer2_id;
  request.selected_relay_user_info_id = config_.relay_user_info_id;
  for (dataplane::Suite s : config_.data_suites) request.data_suites.push_back(static_cast<std::uint8_t>(s));
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

  Handshake h;
  h.digest = crypto::sha256(message);
  h.nonce_1 = request.nonce_1;
  h.session = session_id(h.digest);
  h.started = now.mono;
  h.ephemeral = std::move(ephemeral);
  // T5080: the same bytes again until an answer comes.
  h.request.start(config_.relay_endpoint,
                  wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, message), now.mono,
                  config_.t5080, random_);
  out.send.push_back(h.request.outbound());
  out.events.push_back(
      sent_event(1, h.session, "DIRECT COMMUNICATION REQUEST", "relay-ue", "with the source UE's Authentication_Info")
          .with("peer", config_.target_user_info_id)
          .with("relay", config_.relay_user_info_id));
  handshake_ = std::move(h);
  failure_.reset();
  state_ = State::kAwaitingAccept;
  return out;
}

Output SourceUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(undecodable_event(datagram.error(), bytes, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id || datagram->source != config_.relay_layer2_id ||
      from != config_.relay_endpoint) {
    out.events.push_back(dropped_event("not from the selected relay to this UE", from));
    return out;
  }
  const wire::Message& message = datagram->message;
  if (wire::is_link_message(message.type())) return on_link_message(message, now);
  if (state_ != State::kAwaitingAccept) {
    out.events.push_back(dropped_event("no handshake in progress", from));
    return out;
  }
  if (const auto* reject = std::get_if<wire::DirectCommunicationReject>(&message.body)) {
    if (reject->request_digest != handshake_->digest) {
      out.events.push_back(dropped_event("reject for another request", from, reject->request_digest));
      return out;
    }
    return on_reject(from, *reject);
  }
  if (const auto* accept = std::get_if<wire::DirectCommunicationAccept>(&message.body)) {
    if (accept->request_digest != handshake_->digest) {
      out.events.push_back(dropped_event("accept for another request", from, accept->request_digest));
      return out;
    }
    return on_accept(message, now);
  }
  out.events.push_back(dropped_event("a source UE takes no requests", from));
  return out;
}

Result<SourceUe::Verified> SourceUe::verify_accept(const wire::Message& message, const Now& now) const {
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
  // The target names the relay whose SIGN1-relay it verified: the one that countersigned this accept.
  if (accept.relay_certificate_digest != crypto::sha256(accept.relay->certificate)) {
    return make_error(Cause::kAuthenticationFailure, "relay_binding",
                      "accept countersigned by \"" + accept.relay->user_info_id +
                          "\", but the target answered a request relayed by another relay");
  }
  auto relay =
      authenticate(trust, accept.relay->certificate, accept.relay->user_info_id, crypto::Role::kRelay, kSign2Relay,
                   message.covered_by_relay_signature(), accept.relay->signature, now.wall, "relay");
  if (!relay) return relay.error();
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
  if (handshake_->ephemeral) {
    if (!accept.target_ephemeral_key) {
      return make_error(Cause::kAuthenticationFailure, "ephemeral_missing",
                        "forward secrecy requested, but the accept carries no ephemeral key");
    }
    auto peer = crypto::PublicKey::from_uncompressed_point(*accept.target_ephemeral_key);
    if (!peer) return make_error(Cause::kAuthenticationFailure, "ephemeral_key", peer.error().reason);
    auto z = handshake_->ephemeral->ecdh(*peer);
    if (!z) return z.error();
    ephemeral_secret = std::move(z).value();
  } else if (accept.target_ephemeral_key) {
    return make_error(Cause::kProtocolErrorUnspecified, "ephemeral_unexpected",
                      "the accept carries an ephemeral key the request did not offer");
  }
  // The user-plane suite the target chose (inside SIGN-Target UE) must be one this source offered.
  const auto suite = dataplane::suite_from_wire(accept.data_suite);
  if (!suite ||
      std::find(config_.data_suites.begin(), config_.data_suites.end(), *suite) == config_.data_suites.end()) {
    return make_error(
        Cause::kSecurityCapabilitiesMismatch, "data_suite",
        "the target chose user-plane suite " + std::to_string(accept.data_suite) + ", which this source did not offer");
  }
  // Then KD from the source's private key and the target's public key, and KD-sess.
  auto keys =
      derive_session_keys(*config_.self.key, target->public_key, config_.self.user_info_id, accept.target_user_info_id,
                          handshake_->nonce_1, accept.nonce_2, ephemeral_secret ? &*ephemeral_secret : nullptr);
  if (!keys) return keys.error();
  // Key confirmation: the target proves it derived the same KD-sess.
  if (!mac_equal(accept.key_confirmation_mac, accept_mac(keys->k_int, message.covered_by_mac()))) {
    return make_error(Cause::kIntegrityFailure, "key_confirmation",
                      "the accept's key confirmation MAC does not verify: the target derived another KD-sess");
  }
  Verified v{std::move(keys).value(), {}};
  v.keys.data_suite = *suite;
  v.credentials.add("target", accept.target_user_info_id, accept.target_certificate, crypto::Role::kUe,
                    target->not_after);
  v.credentials.add("relay", accept.relay->user_info_id, accept.relay->certificate, crypto::Role::kRelay,
                    relay->not_after);
  return v;
}

Output SourceUe::on_accept(const wire::Message& message, const Now& now) {
  Output out;
  auto verified = verify_accept(message, now);
  if (!verified) {
    // Issue 13: an accept that fails a check was damaged on its way or forged; either way it is a lost accept. The
    // request goes on being sent on T5080 (the relay answers it with the accept it holds), and the check is what
    // link_failed names if no valid accept comes.
    out.events.push_back(check_failed_event(8, handshake_->session, verified.error()));
    handshake_->hint = verified.error();
    return out;
  }
  handshake_->request.stop();
  const auto& accept = std::get<wire::DirectCommunicationAccept>(message.body);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 8)
                           .with("session", handshake_->session)
                           .with("detail", "SIGN-Target UE, SIGN2-relay and key confirmation verified; KD derived"));
  Link link;
  link.digest = handshake_->digest;
  link.session = handshake_->session;
  link.relay_user_info_id = accept.relay->user_info_id;
  link.keys = std::move(verified->keys);
  link.credentials = std::move(verified->credentials);
  link.end_of_life = link.credentials.end_of_life(now, config_.max_link_lifetime);
  link.end_of_life_reason = link.credentials.end_of_life_reason(now, config_.max_link_lifetime);
  link.rekeying.emplace(LinkEnd::kSource, config_.rekeying,
                        LinkAddress{config_.relay_endpoint, config_.self.layer2_id, config_.relay_layer2_id,
                                    link.digest, link.session, config_.self.user_info_id, accept.target_user_info_id},
                        now.mono);
  // Step 9 (key confirmation, after the seed): LINK CONFIRM through the relay, again on T5080 until acknowledged.
  Bytes confirm = wire::encode_link_confirm_unsigned(link.digest);
  wire::append_mac(confirm, link_confirm_mac(link.keys.k_int, message.originator_part(), confirm));
  link.confirm.start(config_.relay_endpoint,
                     wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, confirm), now.mono,
                     config_.t5080, random_);
  out.send.push_back(link.confirm.outbound());
  out.events.push_back(sent_event(9, link.session, "LINK CONFIRM", "relay-ue", "with the source's key confirmation"));
  out.events.push_back(event(Level::kInfo, "link_established")
                           .with("user_info_id", config_.self.user_info_id)
                           .with("peer", accept.target_user_info_id)
                           .with("relay", link.relay_user_info_id)
                           .with("session", link.session)
                           .with("kd_id", link.keys.kd_id)
                           .with("kd_sess_id", link.keys.kd_sess_id)
                           .with("data_suite", std::string(dataplane::suite_name(link.keys.data_suite)))
                           .with("elapsed_ms", elapsed_ms(handshake_->started, now.mono)));
  link_ = std::move(link);
  handshake_.reset();
  state_ = State::kEstablished;
  return out;
}

// Issue 13: a REJECT carries no proof of its sender (section 3.3), so it is a hint, not an end: the handshake goes
// on until T5080 runs out, and then link_failed reports the cause given, unless a valid accept came meanwhile.
Output SourceUe::on_reject(const Endpoint& from, const wire::DirectCommunicationReject& reject) {
  Output out;
  const char* by = reject.rejected_by == wire::RejectedBy::kTarget ? "target" : "relay";
  Error hint = make_error(reject.cause, "rejected",
                          std::string("DIRECT COMMUNICATION REJECT from the ") + by + " (unauthenticated)");
  // The first at warn, the copies (one per retransmission, when the refusal is genuine) at debug.
  out.events.push_back(event(handshake_->rejects++ == 0 ? Level::kWarn : Level::kDebug, "reject_hint")
                           .with("session", handshake_->session)
                           .with("cause", static_cast<std::int64_t>(reject.cause))
                           .with("cause_name", std::string(cause_name(reject.cause)))
                           .with("by", by)
                           .with("from", from.to_string())
                           .with("check", "reject_unauthenticated")
                           .with("detail",
                                 "not acted on: the request is sent again until an accept verifies or "
                                 "T5080 runs out"));
  handshake_->hint = std::move(hint);
  return out;
}

Bytes SourceUe::link_datagram(wire::LinkMessage message, std::string_view label) const {
  Bytes bytes = wire::encode_link_message_unsigned(message);
  wire::append_mac(bytes, link_mac(link_->keys.k_int, label, bytes));
  return wire::encode_datagram(config_.self.layer2_id, config_.relay_layer2_id, bytes);
}

Output SourceUe::on_link_message(const wire::Message& message, const Now& now) {
  Output out;
  const auto& m = std::get<wire::LinkMessage>(message.body);
  if (!link_ || m.request_digest != link_->digest) {
    out.events.push_back(
        dropped_event("link message for no link of this UE", config_.relay_endpoint, m.request_digest));
    return out;
  }
  if (wire::is_rekeying_message(m.type)) {
    // Docs/protocol.md 12: only on a link up at both ends.
    if (state_ != State::kEstablished || !link_->confirmed) return out;
    return link_->rekeying->on_message(message, link_->keys, random_, now);
  }
  std::string_view label;
  switch (m.type) {
    case wire::MessageType::kLinkConfirmAck: label = kLabelLinkConfirmAck; break;
    case wire::MessageType::kKeepaliveResponse: label = kLabelKeepaliveResponse; break;
    case wire::MessageType::kReleaseAccept: label = kLabelReleaseAccept; break;
    default:
      out.events.push_back(dropped_event("a source UE takes no such link message", config_.relay_endpoint));
      return out;
  }
  if (!link_->rekeying->verify(message, label, link_->keys, out, now)) {
    // Unauthenticated: logged, not acted on, so that a forgery cannot end or confuse the link.
    out.events.push_back(
        check_failed_event(0, link_->session,
                           make_error(Cause::kIntegrityFailure, "link_mac",
                                      std::string(wire::message_name(m.type)) + " whose MAC does not verify")));
    return out;
  }
  if (m.type == wire::MessageType::kLinkConfirmAck) {
    if (link_->confirmed) return out;
    link_->confirmed = true;
    link_->confirm.stop();
    link_->next_keepalive = now.mono + config_.keepalive_interval;
    out.events.push_back(link_event(Level::kInfo, "link_confirmed")
                             .with("detail", "the target acknowledged the LINK CONFIRM: the link is up at both ends"));
  } else if (m.type == wire::MessageType::kKeepaliveResponse) {
    if (!link_->keepalive.active() || m.keepalive_counter != link_->keepalive_counter) return out;  // stale
    link_->keepalive.stop();
    link_->next_keepalive = now.mono + config_.keepalive_interval;
    out.events.push_back(event(Level::kDebug, "keepalive")
                             .with("session", link_->session)
                             .with("counter", static_cast<std::int64_t>(link_->keepalive_counter))
                             .with("rtt_ms", elapsed_ms(link_->keepalive_sent, now.mono)));
  } else if (state_ == State::kReleasing) {
    return released(true);
  }
  return out;
}

Output SourceUe::release(const Now& now) {
  Output out;
  if (!link_ || state_ != State::kEstablished) return out;
  link_->confirm.stop();
  link_->keepalive.stop();
  RetransmitPolicy policy = config_.t5080;
  policy.max_tries = std::min(policy.max_tries, kReleaseMaxTries);
  link_->release.start(
      config_.relay_endpoint,
      link_datagram({wire::MessageType::kReleaseRequest, link_->digest, {}, Cause::kNoLongerNeeded, {}, {}, {}, {}},
                    kLabelReleaseRequest),
      now.mono, policy, random_);
  out.send.push_back(link_->release.outbound());
  out.events.push_back(link_event(Level::kInfo, "link_releasing").with("cause", std::int64_t{2}));
  state_ = State::kReleasing;
  return out;
}

Output SourceUe::released(bool acknowledged) {
  Output out;
  out.events.push_back(link_event(Level::kInfo, "link_released")
                           .with("cause", std::int64_t{2})
                           .with("cause_name", std::string(cause_name(Cause::kNoLongerNeeded)))
                           .with("acknowledged", acknowledged ? "yes" : "no (RELEASE ACCEPT never came)"));
  link_.reset();
  state_ = State::kReleased;
  return out;
}

Output SourceUe::on_timer(const Now& now) {
  Output out;
  if (state_ == State::kAwaitingAccept) {
    switch (handshake_->request.on_timer(now.mono, random_)) {
      case Retransmission::Tick::kResend:
        out.send.push_back(handshake_->request.outbound());
        out.events.push_back(event(Level::kDebug, "retransmission")
                                 .with("session", handshake_->session)
                                 .with("try", static_cast<std::int64_t>(handshake_->request.tries()))
                                 .with("detail", "DIRECT COMMUNICATION REQUEST sent again (T5080)"));
        break;
      case Retransmission::Tick::kExhausted: {
        const std::string tries = std::to_string(handshake_->request.tries()) + " tries (T5080)";
        if (!handshake_->hint) return fail(make_error(Cause::kNone, "timeout", "no answer after " + tries));
        Error e = std::move(*handshake_->hint);
        e.reason += "; no valid accept after " + tries;
        return fail(std::move(e));
      }
      case Retransmission::Tick::kNothing: break;
    }
    return out;
  }
  if (!link_) return out;
  if (state_ == State::kEstablished && now.mono >= link_->end_of_life) {
    return retire_link("link_lifetime", link_->end_of_life_reason, Cause::kNoLongerNeeded);
  }
  if (state_ == State::kReleasing) {
    if (link_->release.on_timer(now.mono, random_) == Retransmission::Tick::kResend) {
      out.send.push_back(link_->release.outbound());
    } else if (!link_->release.active()) {
      return released(false);
    }
    return out;
  }
  // LINK CONFIRM until the target acknowledges it: without it the target never holds the link.
  switch (link_->confirm.on_timer(now.mono, random_)) {
    case Retransmission::Tick::kResend: out.send.push_back(link_->confirm.outbound()); break;
    case Retransmission::Tick::kExhausted:
      return lose_link("confirm_unacknowledged",
                       "LINK CONFIRM not acknowledged after " + std::to_string(link_->confirm.tries()) + " tries");
    case Retransmission::Tick::kNothing: break;
  }
  if (!link_->confirmed) return out;
  out.merge(link_->rekeying->on_timer(link_->keys, random_, now));
  // T5084: a keep-alive when the interval has passed; T5085: sent again until answered, then the link is lost.
  if (!link_->keepalive.active() && now.mono >= link_->next_keepalive) {
    ++link_->keepalive_counter;
    link_->keepalive_sent = now.mono;
    link_->keepalive.start(
        config_.relay_endpoint,
        link_datagram(
            {wire::MessageType::kKeepaliveRequest, link_->digest, link_->keepalive_counter, {}, {}, {}, {}, {}},
            kLabelKeepaliveRequest),
        now.mono, config_.t5085, random_);
    out.send.push_back(link_->keepalive.outbound());
    return out;
  }
  switch (link_->keepalive.on_timer(now.mono, random_)) {
    case Retransmission::Tick::kResend: out.send.push_back(link_->keepalive.outbound()); break;
    case Retransmission::Tick::kExhausted:
      return lose_link("keepalive_timeout",
                       "no KEEPALIVE RESPONSE after " + std::to_string(link_->keepalive.tries()) + " tries (T5085)");
    case Retransmission::Tick::kNothing: break;
  }
  return out;
}

std::optional<MonoTime> SourceUe::next_deadline() const {
  std::optional<MonoTime> next;
  const auto consider = [&](std::optional<MonoTime> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (state_ == State::kAwaitingAccept) consider(handshake_->request.deadline());
  if (link_ && (state_ == State::kEstablished || state_ == State::kReleasing)) {
    consider(link_->confirm.deadline());
    consider(link_->release.deadline());
    consider(link_->keepalive.deadline());
    if (state_ == State::kEstablished && link_->confirmed && !link_->keepalive.active()) {
      consider(link_->next_keepalive);
    }
    if (state_ == State::kEstablished) consider(link_->end_of_life);
    if (state_ == State::kEstablished && link_->confirmed) consider(link_->rekeying->next_deadline());
  }
  return next;
}

Output SourceUe::rekey(std::string trigger, const Now& now) {
  if (!link_ || state_ != State::kEstablished || !link_->confirmed) return {};
  return link_->rekeying->start(link_->keys, std::move(trigger), random_, now);
}

Output SourceUe::recheck(const Now& now) {
  if (!link_ || state_ != State::kEstablished) return {};
  if (auto s = link_->credentials.recheck(*config_.self.trust, now.wall); !s) {
    return retire_link(s.error().check, "after reload: " + s.error().reason, Cause::kAuthenticationFailure);
  }
  return {};
}

Output SourceUe::retire_link(std::string check, std::string reason, Cause cause) {
  Output out;
  out.send.push_back({config_.relay_endpoint,
                      link_datagram({wire::MessageType::kReleaseRequest, link_->digest, {}, cause, {}, {}, {}, {}},
                                    kLabelReleaseRequest)});
  out.merge(lose_link(std::move(check), std::move(reason)));
  return out;
}

Output SourceUe::lose_link(std::string check, std::string reason) {
  Output out;
  out.events.push_back(
      link_event(Level::kWarn, "link_lost").with("check", std::move(check)).with("reason", std::move(reason)));
  link_.reset();
  state_ = State::kFailed;
  return out;
}

Output SourceUe::fail(Error error) {
  Output out;
  out.events.push_back(link_event(Level::kError, "link_failed")
                           .with("cause", static_cast<std::int64_t>(error.cause))
                           .with("cause_name", std::string(cause_name(error.cause)))
                           .with("check", error.check)
                           .with("reason", error.reason));
  failure_ = std::move(error);
  handshake_.reset();
  state_ = State::kFailed;
  return out;
}

}  // namespace u2u::protocol
