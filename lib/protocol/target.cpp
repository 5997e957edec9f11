#include "protocol/target.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "protocol/transcript.hpp"

namespace u2u::protocol {

namespace {

std::int64_t elapsed_ms(MonoTime from, MonoTime to) { return std::chrono::duration_cast<Millis>(to - from).count(); }

std::vector<dataplane::Suite> offered_suites(const wire::DirectCommunicationRequest& request) {
  std::vector<dataplane::Suite> offered;
  for (std::uint8_t id : request.data_suites) {
    if (auto s = dataplane::suite_from_wire(id)) offered.push_back(*s);
  }
  return offered;
}

}  // namespace

TargetUe::TargetUe(TargetConfig config, RandomSource random)
    : config_(std::move(config)),
      random_(std::move(random)),
      replay_(config_.replay_window, config_.replay_cache_size),
      copy_rate_limit_(kCopyRateLimitPerSecond, kCopyRateLimitBurst, kRateLimitSources) {}

std::size_t TargetUe::released_count() const {
  return static_cast<std::size_t>(
      std::count_if(links_.begin(), links_.end(), [](const auto& l) { return !l.second.release_accept.empty(); }));
}

std::size_t TargetUe::sessions_of_source(std::string_view user_info_id) const {
  return sessions_by_source_.of(user_info_id);
}

std::size_t TargetUe::sessions_of_relay(const Endpoint& relay) const {
  return sessions_by_relay_.of(sender_host(relay));
}

void TargetUe::erase_session(std::map<wire::Digest, Session>::iterator it) {
  sessions_by_source_.remove(it->second.source_user_info_id);
  sessions_by_relay_.remove(sender_host(it->second.relay_endpoint));
  sessions_.erase(it);
}

Output TargetUe::on_datagram(const Endpoint& from, ByteView bytes, const Now& now) {
  Output out;
  auto datagram = wire::decode_datagram(bytes);
  if (!datagram) {
    out.events.push_back(undecodable_event(datagram.error(), bytes, from));
    return out;
  }
  if (datagram->destination != config_.self.layer2_id) {
    out.events.push_back(dropped_event("destination Layer-2 ID is not this UE's", from));
    return out;
  }
  switch (datagram->message.type()) {
    case wire::MessageType::kDirectCommunicationRequest: return on_request(from, std::move(*datagram), now);
    case wire::MessageType::kLinkConfirm: return on_link_confirm(from, *datagram, now);
    case wire::MessageType::kDirectCommunicationReject: return on_reject(from, *datagram);
    case wire::MessageType::kKeepaliveRequest:
    case wire::MessageType::kReleaseRequest:
    case wire::MessageType::kRekeyingRequest:
    case wire::MessageType::kRekeyingResponse:
    case wire::MessageType::kRekeyingConfirm: return on_link_message(from, *datagram, now);
    default: break;
  }
  out.events.push_back(dropped_event("a target UE takes no such message", from));
  return out;
}

Outbound TargetUe::reject(const Endpoint& to, wire::Layer2Id to_layer2_id, const wire::Digest& digest,
                          Cause cause) const {
  const Bytes message = wire::encode_reject({digest, cause, wire::RejectedBy::kTarget});
  return {to, wire::encode_datagram(config_.self.layer2_id, to_layer2_id, message)};
}

std::optional<Error> TargetUe::binding(const wire::DirectCommunicationRequest& request) const {
  if (request.target_user_info_id != config_.self.user_info_id || request.target_layer2_id != config_.self.layer2_id) {
    return make_error(Cause::kDirectCommunicationNotAllowed, "target_identity",
                      "request for \"" + request.target_user_info_id + "\" at Layer-2 ID " +
                          std::to_string(request.target_layer2_id) + " reached \"" + config_.self.user_info_id + "\"");
  }
  if (!request.relay) {
    return make_error(Cause::kAuthenticationFailure, "relay_missing",
                      "request lacks the relay's Authentication_Info (not received through a relay)");
  }
  // The relay that countersigned must be the one the source selected, which SIGN-Source UE covers.
  if (request.relay->user_info_id != request.selected_relay_user_info_id) {
    return make_error(Cause::kAuthenticationFailure, "relay_binding",
                      "the source selected relay \"" + request.selected_relay_user_info_id +
                          "\", the request was countersigned by \"" + request.relay->user_info_id + "\"");
  }
  if (config_.require_forward_secrecy && !request.source_ephemeral_key) {
    return make_error(Cause::kAuthenticationFailure, "ephemeral_missing",
                      "forward secrecy is required and the request carries no ephemeral key");
  }
  return std::nullopt;
}

std::optional<Error> TargetUe::admission(const wire::DirectCommunicationRequest& request, const Endpoint& from,
                                         const Now& now) {
  // A request seen before that is no retransmission: a replay, refused before any ECDH or signature.
  if (replay_.seen(request.source_user_info_id, request.nonce_1, now.mono)) {
    return make_error(Cause::kAuthenticationFailure, "replay",
                      "Nonce_1 of \"" + request.source_user_info_id + "\" was already used");
  }
  if (sessions_.size() >= config_.max_sessions) {
    return make_error(Cause::kLackOfResources, "session_table_full",
                      "session table holds " + std::to_string(sessions_.size()) + " entries");
  }
  // One source identity, or one relay, holds at most its share of the table (verified sessions only).
  return share_used_up({{"session_quota_source", "\"" + request.source_user_info_id + "\"",
                         sessions_of_source(request.source_user_info_id), config_.max_sessions_per_source},
                        {"session_quota_relay", "the relay at " + from.to_string(), sessions_of_relay(from),
                         config_.max_sessions_per_relay}},
                       "unconfirmed sessions at this target");
}

// Seeds steps 4 and 5's cryptography, in a job (Node::run_job): it reads only what it holds.
struct TargetUe::Work {
  std::shared_ptr<const crypto::TrustStore> trust;  // as when the step began: a reload meanwhile is checked after
  std::shared_ptr<const crypto::PrivateKey> key;
  std::shared_ptr<const crypto::Signer> signer;
  std::string user_info_id;
  Bytes certificate;
  std::optional<dataplane::Suite> suite;  // chosen before; without one, the job stops once the request is verified
  wire::Nonce nonce_2{};
  // What it leaves:
  bool verified = false;
  std::optional<Error> failed;       // the verification's error, or (verified) the key derivation's
  std::optional<Error> sign_failed;  // step 5's signature could not be made
  LinkCredentials credentials;       // the source's and the relay's certificates, once verified
  SessionKeys keys;
  Bytes accept_message;  // the DIRECT COMMUNICATION ACCEPT, signed

  void run(const wire::Message& message, WallTime now);
};

void TargetUe::Work::run(const wire::Message& message, WallTime now) {
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  // Seed step 4: verify SIGN1-relay (over the whole request) and SIGN-Source UE.
  auto relay = authenticate(*trust, request.relay->certificate, request.relay->user_info_id, crypto::Role::kRelay,
                            kSign1Relay, message.covered_by_relay_signature(), request.relay->signature, now, "relay");
  if (!relay) {
    failed = relay.error();
    return;
  }
  auto source = authenticate(*trust, request.source_certificate, request.source_user_info_id, crypto::Role::kUe,
                             kSignSource, message.covered_by_first_signature(), request.sign_source, now, "source");
  if (!source) {
    failed = source.error();
    return;
  }
  verified = true;
  credentials.add("source", request.source_user_info_id, request.source_certificate, crypto::Role::kUe,
                  source->not_after);
  credentials.add("relay", request.relay->user_info_id, request.relay->certificate, crypto::Role::kRelay,
                  relay->not_after);
  if (!suite) return;

  // ... then KD from the target's private key and the source UE's public key, KD-sess with Nonce_2 (and, with
  // the forward secrecy option, an ephemeral ECDH secret).
  wire::DirectCommunicationAccept accept;
  accept.target_user_info_id = user_info_id;
  accept.request_digest = request_digest(message);
  accept.relay_certificate_digest = crypto::sha256(request.relay->certificate);
  accept.data_suite = static_cast<std::uint8_t>(*suite);
  accept.nonce_2 = nonce_2;
  accept.target_certificate = certificate;
  std::optional<crypto::SecretBytes> ephemeral_secret;
  if (request.source_ephemeral_key) {
    auto peer = crypto::PublicKey::from_uncompressed_point(*request.source_ephemeral_key);
    auto own = crypto::PrivateKey::generate();
    if (!peer) {
      failed = make_error(Cause::kAuthenticationFailure, "ephemeral_key", peer.error().reason);
    } else if (!own) {
      failed = own.error();
    } else if (auto z = own->ecdh(*peer); !z) {
      failed = z.error();
    } else {
      ephemeral_secret = std::move(z).value();
      const Bytes point = own->public_key().uncompressed_point();
      accept.target_ephemeral_key.emplace();
      std::copy(point.begin(), point.end(), accept.target_ephemeral_key->begin());
    }  // the ephemeral private key ends here
    if (failed) return;
  }
  auto derived = derive_session_keys(*key, source->public_key, request.source_user_info_id, user_info_id,
                                     request.nonce_1, accept.nonce_2, ephemeral_secret ? &*ephemeral_secret : nullptr);
  if (!derived) {
    failed = derived.error();
    return;
  }
  keys = std::move(derived).value();
  keys.data_suite = *suite;
  // Seed step 5: the Authentication Response with the key confirmation MAC, signed over everything before
  // SIGN-Target UE.
  accept_message = wire::encode_accept_unsigned(accept);
  wire::append_mac(accept_message, accept_mac(keys.k_int, accept_message));
  auto signature = sign_step(*signer, kSignTarget, accept_message);
  if (!signature) {
    sign_failed = signature.error();
    return;
  }
  wire::append_signature(accept_message, wire::Iei::kSignTarget, *signature);
}

Output TargetUe::on_request(const Endpoint& from, wire::Datagram received, const Now& now) {
  Output out;
  const auto datagram = std::make_shared<const wire::Datagram>(std::move(received));
  const wire::Message& message = datagram->message;
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  const wire::Digest digest = request_digest(message);
  const std::string session = session_id(digest);

  if (sessions_.count(digest) != 0 || links_.count(digest) != 0) return on_copy(from, *datagram, digest, now);
  if (verifying_.count(digest) != 0) {
    out.events.push_back(dropped_event("copy of a request being verified", from, digest));
    return out;
  }
  if (auto refused = refusals_.find(crypto::sha256(message.bytes));
      refused != refusals_.end() && from == refused->second.relay) {
    if (!copy_rate_limit_.admit(from, now.mono)) {
      out.events.push_back(dropped_event("over the rate limit of answered copies for this relay", from, digest));
      return out;
    }
    out.send.push_back({from, refused->second.reject_datagram});
    out.events.push_back(
        event(Level::kDebug, "retransmission").with("session", session).with("detail", "reject resent"));
    return out;
  }
  const auto refuse_request = [&](const Error& e) {
    refuse(out, 4, session, e, reject(from, datagram->source, digest, e.cause), "relay-ue");
    return std::move(out);
  };
  if (auto e = admission(request, from, now)) return refuse_request(*e);
  if (auto e = binding(request)) return refuse_request(*e);
  if (jobs_saturated()) {
    return refuse_request(make_error(
        Cause::kLackOfResources, "workers_busy",
        std::to_string(jobs_in_flight()) + " requests are being answered, as many as the target's workers take"));
  }
  auto work = std::make_shared<Work>();
  work->trust = config_.self.trust;
  work->key = config_.self.key;
  work->signer = config_.self.signer;
  work->user_info_id = config_.self.user_info_id;
  work->certificate = config_.self.certificate.der();
  // The user-plane suite: this target's first preference among those the source offered (SIGN-Source UE covers
  // the offer, SIGN-Target UE the choice: a relay can downgrade neither).
  work->suite = dataplane::choose_suite(offered_suites(request), config_.data_suites);
  random_(work->nonce_2);
  verifying_.insert(digest);
  run_job(
      out, [work, datagram, wall = now.wall] { work->run(datagram->message, wall); },
      [work, datagram, from, digest](Node& self, const Now& at) {
        return static_cast<TargetUe&>(self).on_request_answered(from, *datagram, digest, *work, at);
      },
      now);
  return out;
}

Output TargetUe::on_request_answered(const Endpoint& from, const wire::Datagram& datagram, const wire::Digest& digest,
                                     Work& work, const Now& now) {
  Output out;
  verifying_.erase(digest);
  const wire::Message& message = datagram.message;
  const auto& request = std::get<wire::DirectCommunicationRequest>(message.body);
  const std::string session = session_id(digest);
  const auto refuse_request = [&](const Error& e) {
    refuse(out, 4, session, e, reject(from, datagram.source, digest, e.cause), "relay-ue");
    return std::move(out);
  };
  // What the same octets would fail again (a damaged copy differs): remembered, and a copy refused from memory.
  const auto refuse_for_good = [&](const Error& e) {
    const Outbound r = reject(from, datagram.source, digest, e.cause);
    remember_refusal(crypto::sha256(message.bytes), {from, r.datagram}, now);
    refuse(out, 4, session, e, r, "relay-ue");
    return std::move(out);
  };
  if (!work.verified) return refuse_for_good(*work.failed);
  // The job ran while other datagrams were handled: the tables are checked again, and the certificates against a
  // trust store reloaded meanwhile.
  if (offloading()) {
    if (auto e = admission(request, from, now)) return refuse_request(*e);
  }
  if (auto s = recheck_if_reloaded(work.credentials, *work.trust, *config_.self.trust, now.wall); !s) {
    return refuse_request(s.error());
  }
  if (!work.suite) {
    std::string names;
    for (dataplane::Suite s : offered_suites(request)) {
      names += (names.empty() ? "" : ", ") + std::string(dataplane::suite_name(s));
    }
    return refuse_for_good(
        make_error(Cause::kSecurityCapabilitiesMismatch, "no_common_suite",
                   "the source offers user-plane suites [" + names + "], none of which this target accepts"));
  }
  replay_.remember(request.source_user_info_id, request.nonce_1, now.mono);
  if (work.failed) return refuse_for_good(*work.failed);
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 4)
                           .with("session", session)
                           .with("detail", "SIGN-Source UE and SIGN1-relay verified; KD derived")
                           .with("peer", request.source_user_info_id)
                           .with("relay", request.relay->user_info_id));
  if (work.sign_failed) {
    out.events.push_back(check_failed_event(5, session, *work.sign_failed));
    return out;
  }
  Session s;
  s.source_user_info_id = request.source_user_info_id;
  s.relay_user_info_id = request.relay->user_info_id;
  s.session = session;
  s.relay_endpoint = from;
  s.relay_layer2_id = datagram.source;
  s.relayed_request = crypto::sha256(message.bytes);
  s.accept_datagram = wire::encode_datagram(config_.self.layer2_id, datagram.source, work.accept_message);
  s.accept_message = std::move(work.accept_message);
  s.keys = std::move(work.keys);
  s.credentials = std::move(work.credentials);
  s.started = now.mono;
  s.expiry = now.mono + config_.session_timeout;
  out.send.push_back({from, s.accept_datagram});
  out.events.push_back(sent_event(5, session, "DIRECT COMMUNICATION ACCEPT", "relay-ue",
                                  "with the target UE's Authentication_Info and key confirmation"));
  sessions_by_source_.add(s.source_user_info_id);
  sessions_by_relay_.add(sender_host(s.relay_endpoint));
  sessions_.emplace(digest, std::move(s));
  expiry_order_.emplace_back(now.mono + config_.session_timeout, digest);
  return out;
}

// The same request again: the relay retransmitting it because the accept was lost on its way back. Answered with
// the same accept (no new ECDH or signature), only to the relay that sent the original, only for an identical copy,
// within a rate limit, and only until the link is confirmed: a confirmed source has the accept.
Output TargetUe::on_copy(const Endpoint& from, const wire::Datagram& datagram, const wire::Digest& digest,
                         const Now& now) {
  Output out;
  auto it = sessions_.find(digest);
  if (it == sessions_.end()) {
    out.events.push_back(dropped_event("copy of the request of a confirmed link", from, digest));
    return out;
  }
  const Session& s = it->second;
  if (from != s.relay_endpoint || datagram.source != s.relay_layer2_id) {
    out.events.push_back(dropped_event("copy of an answered request not from the relay that sent it", from, digest));
    return out;
  }
  if (crypto::sha256(datagram.message.bytes) != s.relayed_request) {
    out.events.push_back(dropped_event("copy of an answered request that differs from the original", from, digest));
    return out;
  }
  if (!copy_rate_limit_.admit(from, now.mono)) {
    out.events.push_back(dropped_event("over the rate limit of answered copies for this relay", from, digest));
    return out;
  }
  out.send.push_back({from, s.accept_datagram});
  out.events.push_back(
      event(Level::kDebug, "retransmission").with("session", s.session).with("detail", "accept resent"));
  return out;
}

void TargetUe::remember_refusal(const wire::Digest& relayed, Refusal refusal, const Now& now) {
  while (!refusal_order_.empty() && refusals_.size() >= std::max<std::size_t>(config_.max_sessions, 1)) {
    refusals_.erase(refusal_order_.front().second);
    refusal_order_.pop_front();
  }
  if (refusals_.insert_or_assign(relayed, std::move(refusal)).second) {
    refusal_order_.emplace_back(now.mono + config_.session_timeout, relayed);
  }
}

Bytes TargetUe::link_datagram(const Link& link, wire::LinkMessage message, std::string_view label) const {
  Bytes bytes = wire::encode_link_message_unsigned(message);
  wire::append_mac(bytes, link_mac(link.keys.k_int, label, bytes));
  return wire::encode_datagram(config_.self.layer2_id, link.relay_layer2_id, bytes);
}

Event TargetUe::link_event(Level level, std::string name, const Link& link) const {
  return event(level, std::move(name))
      .with("user_info_id", config_.self.user_info_id)
      .with("peer", link.source_user_info_id)
      .with("session", link.session);
}

Output TargetUe::on_link_confirm(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const auto& confirm = std::get<wire::LinkMessage>(datagram.message.body);
  // A retransmitted LINK CONFIRM of a link already confirmed: the same acknowledgement again.
  if (auto link = links_.find(confirm.request_digest); link != links_.end() && from == link->second.relay_endpoint) {
    if (link->second.release_accept.empty()) out.send.push_back({from, link->second.confirm_ack});
    return out;
  }
  auto it = sessions_.find(confirm.request_digest);
  if (it == sessions_.end() || from != it->second.relay_endpoint) {
    out.events.push_back(dropped_event("link confirm matches no answered request", from, confirm.request_digest));
    return out;
  }
  Session& s = it->second;
  // Step 9: the source proves it derived the same KD-sess, over the accept it received.
  if (!mac_equal(confirm.mac, link_confirm_mac(s.keys.k_int, s.accept_message, datagram.message.covered_by_mac()))) {
    const Error e = make_error(Cause::kIntegrityFailure, "link_confirmation",
                               "the LINK CONFIRM's key confirmation MAC does not verify");
    out.events.push_back(check_failed_event(9, s.session, e));
    return out;  // the session stays: a forged confirm must not cancel a genuine one
  }
  out.events.push_back(event(Level::kInfo, "step")
                           .with("step", 9)
                           .with("session", s.session)
                           .with("detail", "LINK CONFIRM verified: the source holds KD-sess"));
  out.events.push_back(event(Level::kInfo, "link_established")
                           .with("user_info_id", config_.self.user_info_id)
                           .with("peer", s.source_user_info_id)
                           .with("relay", s.relay_user_info_id)
                           .with("session", s.session)
                           .with("kd_id", s.keys.kd_id)
                           .with("kd_sess_id", s.keys.kd_sess_id)
                           .with("data_suite", std::string(dataplane::suite_name(s.keys.data_suite)))
                           .with("elapsed_ms", elapsed_ms(s.started, now.mono)));
  // The source's previous link, if any, gives way now that the new one is confirmed (TS 24.554 7.2.2.6.2).
  if (auto old = link_of_source_.find(s.source_user_info_id); old != link_of_source_.end()) {
    if (auto previous = links_.find(old->second); previous != links_.end()) {
      out.events.push_back(link_event(Level::kInfo, "link_replaced", previous->second).with("by_session", s.session));
      erase_link(previous);
    }
  }
  Link link;
  link.source_user_info_id = s.source_user_info_id;
  link.session = s.session;
  link.relay_endpoint = s.relay_endpoint;
  link.relay_layer2_id = s.relay_layer2_id;
  link.keys = std::move(s.keys);
  link.credentials = std::move(s.credentials);
  link.end_of_life_reason = link.credentials.end_of_life_reason(now, config_.max_link_lifetime);
  end_of_life_.schedule(confirm.request_digest,
                        link.credentials.end_of_life(now, config_.max_link_lifetime) + kLinkLifetimeGrace);
  link.confirm_ack = link_datagram(
      link, {wire::MessageType::kLinkConfirmAck, confirm.request_digest, {}, {}, {}, {}, {}, {}}, kLabelLinkConfirmAck);
  link.rekeying.emplace(LinkEnd::kTarget, config_.rekeying,
                        LinkAddress{from, config_.self.layer2_id, s.relay_layer2_id, confirm.request_digest, s.session,
                                    config_.self.user_info_id, s.source_user_info_id},
                        now.mono);
  schedule_rekeying(confirm.request_digest, link);
  out.send.push_back({from, link.confirm_ack});
  link_of_source_[s.source_user_info_id] = confirm.request_digest;
  link_deadlines_.schedule(confirm.request_digest, now.mono + config_.link_timeout);
  links_.insert_or_assign(confirm.request_digest, std::move(link));
  erase_session(it);  // the link holds what a retransmitted LINK CONFIRM needs; the slot is free (issue 20)
  return out;
}

Output TargetUe::on_link_message(const Endpoint& from, const wire::Datagram& datagram, const Now& now) {
  Output out;
  const auto& m = std::get<wire::LinkMessage>(datagram.message.body);
  auto it = links_.find(m.request_digest);
  if (it == links_.end() || from != it->second.relay_endpoint) {
    out.events.push_back(dropped_event("link message for no link of this UE", from, m.request_digest));
    return out;
  }
  Link& link = it->second;
  if (wire::is_rekeying_message(m.type)) {
    if (!link.release_accept.empty()) return out;  // a released link is rekeyed no more
    out = link.rekeying->on_message(datagram.message, link.keys, random_, now);
    schedule_rekeying(it->first, link);
    link_deadlines_.schedule(m.request_digest, now.mono + config_.link_timeout);
    return out;
  }
  const std::string_view label =
      m.type == wire::MessageType::kKeepaliveRequest ? kLabelKeepaliveRequest : kLabelReleaseRequest;
  const bool verified = link.rekeying->verify(datagram.message, label, link.keys, out, now);
  schedule_rekeying(it->first, link);
  if (!verified) {
    out.events.push_back(
        check_failed_event(0, link.session,
                           make_error(Cause::kIntegrityFailure, "link_mac",
                                      std::string(wire::message_name(m.type)) + " whose MAC does not verify")));
    return out;  // unauthenticated: it neither keeps the link alive nor ends it
  }
  if (m.type == wire::MessageType::kReleaseRequest) {
    if (link.release_accept.empty()) {
      link.release_accept = link_datagram(
          link, {wire::MessageType::kReleaseAccept, m.request_digest, {}, {}, {}, {}, {}, {}}, kLabelReleaseAccept);
      const Cause cause = m.cause.value_or(Cause::kNoLongerNeeded);
      out.events.push_back(link_event(Level::kInfo, "link_released", link)
                               .with("cause", static_cast<std::int64_t>(cause))
                               .with("cause_name", std::string(cause_name(cause)))
                               .with("by", "source-ue"));
      if (auto own = link_of_source_.find(link.source_user_info_id);
          own != link_of_source_.end() && own->second == m.request_digest) {
        link_of_source_.erase(own);
      }
      end_of_life_.cancel(m.request_digest);
      rekey_deadlines_.cancel(m.request_digest);
      link_deadlines_.schedule(m.request_digest, now.mono + kReleaseLinger);
    }
    out.send.push_back({from, link.release_accept});
    return out;
  }
  if (!link.release_accept.empty()) return out;  // a released link keeps no keep-alive
  // Keep-alive (docs/protocol.md 6.4): the link's first counter may be any value, 0 included; then a higher counter
  // is new, the same counter a retransmission (answered from the cache), a lower one stale.
  const std::uint32_t counter = m.keepalive_counter.value_or(0);
  const bool first = link.keepalive_response.empty();
  if (!first && counter < link.keepalive_counter) {
    out.events.push_back(dropped_event("stale keep-alive counter", from, m.request_digest));
    return out;
  }
  if (first || counter > link.keepalive_counter) {
    link.keepalive_counter = counter;
    link.keepalive_response =
        link_datagram(link, {wire::MessageType::kKeepaliveResponse, m.request_digest, counter, {}, {}, {}, {}, {}},
                      kLabelKeepaliveResponse);
  }
  out.send.push_back({from, link.keepalive_response});
  link_deadlines_.schedule(m.request_digest, now.mono + config_.link_timeout);
  return out;
}

// Issue 13: a REJECT proves nothing about its sender (docs/protocol.md 3.3): logged as a hint, and the session is
// kept until its LINK CONFIRM or its timeout, so that a forged one cannot end a handshake.
Output TargetUe::on_reject(const Endpoint& from, const wire::Datagram& datagram) {
  Output out;
  const auto& rej = std::get<wire::DirectCommunicationReject>(datagram.message.body);
  auto it = sessions_.find(rej.request_digest);
  if (it == sessions_.end() || from != it->second.relay_endpoint) {
    out.events.push_back(dropped_event("reject matches no unconfirmed session", from, rej.request_digest));
    return out;
  }
  out.events.push_back(event(Level::kWarn, "reject_hint")
                           .with("session", it->second.session)
                           .with("cause", static_cast<std::int64_t>(rej.cause))
                           .with("cause_name", std::string(cause_name(rej.cause)))
                           .with("by", rej.rejected_by == wire::RejectedBy::kSource ? "source" : "relay")
                           .with("from", from.to_string())
                           .with("check", "reject_unauthenticated")
                           .with("detail", "not acted on: the session waits for its LINK CONFIRM until it times out"));
  return out;
}

Event TargetUe::link_failed(const Session& s, const Error& error) const {
  return event(Level::kError, "link_failed")
      .with("user_info_id", config_.self.user_info_id)
      .with("peer", s.source_user_info_id)
      .with("relay", s.relay_user_info_id)
      .with("session", s.session)
      .with("cause", static_cast<std::int64_t>(error.cause))
      .with("cause_name", std::string(cause_name(error.cause)))
      .with("check", error.check)
      .with("reason", error.reason);
}

const SessionKeys* TargetUe::keys_for(std::string_view source_user_info_id) const {
  auto own = link_of_source_.find(source_user_info_id);
  if (own == link_of_source_.end()) return nullptr;
  auto it = links_.find(own->second);
  return it == links_.end() ? nullptr : &it->second.keys;
}

std::optional<TargetUe::LinkView> TargetUe::link_of(std::string_view source_user_info_id) const {
  auto own = link_of_source_.find(source_user_info_id);
  if (own == link_of_source_.end()) return std::nullopt;
  auto it = links_.find(own->second);
  if (it == links_.end()) return std::nullopt;
  return LinkView{it->first, &it->second.keys, it->second.relay_endpoint, it->second.relay_layer2_id,
                  it->second.rekeying->next()};
}

void TargetUe::schedule_rekeying(const wire::Digest& digest, const Link& link) {
  if (const auto at = link.rekeying->next_deadline(); at && link.release_accept.empty()) {
    rekey_deadlines_.schedule(digest, *at);
  } else {
    rekey_deadlines_.cancel(digest);
  }
}

Output TargetUe::rekey(std::string_view session, std::string trigger, const Now& now) {
  Output out;
  for (auto& [digest, link] : links_) {
    if (!link.release_accept.empty() || (!session.empty() && link.session != session)) continue;
    out.merge(link.rekeying->start(link.keys, trigger, random_, now));
    schedule_rekeying(digest, link);
  }
  return out;
}

Output TargetUe::on_timer(const Now& now) {
  Output out;
  while (!refusal_order_.empty() && refusal_order_.front().first <= now.mono) {
    refusals_.erase(refusal_order_.front().second);
    refusal_order_.pop_front();
  }
  while (!expiry_order_.empty() && expiry_order_.front().first <= now.mono) {
    auto it = sessions_.find(expiry_order_.front().second);
    expiry_order_.pop_front();
    if (it == sessions_.end() || it->second.expiry > now.mono) continue;
    out.events.push_back(link_failed(
        it->second, make_error(Cause::kNone, "confirmation_timeout",
                               "no LINK CONFIRM within " + std::to_string(config_.session_timeout.count()) +
                                   " ms: the request was replayed, or the source failed or lost the confirmation")));
    erase_session(it);
  }
  while (auto digest = link_deadlines_.pop_due(now.mono)) {
    auto it = links_.find(*digest);
    if (it == links_.end()) continue;
    if (it->second.release_accept.empty()) {
      out.events.push_back(
          link_event(Level::kWarn, "link_expired", it->second)
              .with("reason", "nothing heard on the link for " + std::to_string(config_.link_timeout.count()) + " ms"));
    }
    erase_link(it);
  }
  while (auto digest = rekey_deadlines_.pop_due(now.mono)) {
    auto it = links_.find(*digest);
    if (it == links_.end() || !it->second.release_accept.empty()) continue;
    out.merge(it->second.rekeying->on_timer(it->second.keys, random_, now));
    schedule_rekeying(it->first, it->second);
  }
  // A link whose source did not end it at its end of life (section 7.3).
  while (auto digest = end_of_life_.pop_due(now.mono)) {
    auto it = links_.find(*digest);
    if (it == links_.end()) continue;
    if (it->second.release_accept.empty()) {
      out.events.push_back(link_event(Level::kWarn, "link_expired", it->second)
                               .with("reason", it->second.end_of_life_reason + " (the source did not end it)"));
    }
    erase_link(it);
  }
  return out;
}

void TargetUe::erase_link(std::map<wire::Digest, Link>::iterator it) {
  if (auto own = link_of_source_.find(it->second.source_user_info_id);
      own != link_of_source_.end() && own->second == it->first) {
    link_of_source_.erase(own);
  }
  link_deadlines_.cancel(it->first);
  end_of_life_.cancel(it->first);
  rekey_deadlines_.cancel(it->first);
  links_.erase(it);
}

Output TargetUe::recheck(const Now& now) {
  Output out;
  for (auto it = links_.begin(); it != links_.end();) {
    const auto next = std::next(it);
    if (it->second.release_accept.empty()) {
      if (auto s = it->second.credentials.recheck(*config_.self.trust, now.wall); !s) {
        out.events.push_back(link_event(Level::kWarn, "link_revoked", it->second)
                                 .with("check", s.error().check)
                                 .with("reason", s.error().reason));
        erase_link(it);
      }
    }
    it = next;
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto next = std::next(it);
    if (auto s = it->second.credentials.recheck(*config_.self.trust, now.wall); !s) {
      out.events.push_back(link_failed(it->second, s.error()));
      erase_session(it);
    }
    it = next;
  }
  return out;
}

std::optional<MonoTime> TargetUe::next_deadline() const {
  std::optional<MonoTime> next = link_deadlines_.next();
  if (const auto end = end_of_life_.next(); end && (!next || *end < *next)) next = end;
  if (!expiry_order_.empty() && (!next || expiry_order_.front().first < *next)) next = expiry_order_.front().first;
  if (!refusal_order_.empty() && (!next || refusal_order_.front().first < *next)) next = refusal_order_.front().first;
  if (const auto rekey = rekey_deadlines_.next(); rekey && (!next || *rekey < *next)) next = rekey;
  return next;
}

}  // namespace u2u::protocol
