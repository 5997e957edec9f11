#include "protocol/rekeying.hpp"

#include <algorithm>

#include "protocol/transcript.hpp"

namespace u2u::protocol {

Rekeying::Rekeying(LinkEnd end, RekeyingConfig config, LinkAddress address, MonoTime established)
    : end_(end), config_(config), address_(std::move(address)), keys_since_(established) {}

Event Rekeying::event_of(Level level, std::string name) const {
  return event(level, std::move(name))
      .with("user_info_id", address_.user_info_id)
      .with("peer", address_.peer)
      .with("session", address_.session);
}

Event Rekeying::refused(std::string check, std::string reason) const {
  const Cause cause = check == "link_mac" ? Cause::kIntegrityFailure : Cause::kProtocolErrorUnspecified;
  return check_failed_event(0, address_.session, make_error(cause, std::move(check), std::move(reason)));
}

Bytes Rekeying::datagram(const wire::LinkMessage& message, const crypto::SecretBytes& k_int,
                         std::string_view label) const {
  Bytes bytes = wire::encode_link_message_unsigned(message);
  wire::append_mac(bytes, link_mac(k_int, label, bytes));
  return wire::encode_datagram(address_.own_layer2_id, address_.relay_layer2_id, bytes);
}

Result<Rekeying::Ephemeral> Rekeying::fresh_ephemeral() {
  auto key = crypto::PrivateKey::generate();
  if (!key) return key.error();
  Ephemeral e;
  e.key = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
  const Bytes point = e.key->public_key().uncompressed_point();
  std::copy(point.begin(), point.end(), e.point.begin());
  return e;
}

Result<crypto::SecretBytes> Rekeying::rekeying_secret(const crypto::PrivateKey& own, const wire::EphemeralKey& peer) {
  auto public_key = crypto::PublicKey::from_uncompressed_point(peer);
  if (!public_key) return make_error(Cause::kProtocolErrorUnspecified, "rekeying_ephemeral", public_key.error().reason);
  return own.ecdh(*public_key);
}

// Step R1 (docs/protocol.md 12.2): the initiator's REQUEST, under the current K_int.
Output Rekeying::start(const SessionKeys& keys, std::string trigger, const RandomSource& random, const Now& now) {
  Output out;
  // While an answer awaits its CONFIRM, no rekeying of this end's own. One whose tries ran out keeps its next keys
  // installed: the peer may hold them (every CONFIRM lost), and anything under them still switches this end.
  if (requesting_ || (responding_ && responding_->response.active())) return out;
  Requesting r;
  r.generation = keys.generation + 1;
  random(r.nonce);
  r.trigger = std::move(trigger);
  wire::LinkMessage m{wire::MessageType::kRekeyingRequest, address_.digest, {}, {}, {}, r.generation, r.nonce, {}};
  if (keys.forward_secrecy) {
    auto e = fresh_ephemeral();
    if (!e) {
      out.events.push_back(event_of(Level::kWarn, "rekey_failed")
                               .with("generation", static_cast<std::int64_t>(r.generation))
                               .with("reason", e.error().reason));
      return out;
    }
    r.ephemeral = std::move(e->key);
    m.rekeying_ephemeral_key = e->point;
  }
  r.request.start(address_.relay, datagram(m, keys.k_int, kLabelRekeyingRequest), now.mono, config_.retransmit, random);
  out.send.push_back(r.request.outbound());
  out.events.push_back(event_of(Level::kDebug, "rekeying")
                           .with("generation", static_cast<std::int64_t>(r.generation))
                           .with("trigger", r.trigger));
  requesting_ = std::move(r);
  return out;
}

Output Rekeying::switch_to(SessionKeys& keys, SessionKeys next, std::string_view role, std::string trigger,
                           const Now& now) {
  Output out;
  const bool kd_changed = next.kd_id != keys.kd_id;
  previous_.emplace_back(std::move(keys.k_int), now.mono + kRekeyOldKeysLinger);
  if (previous_.size() > kRekeyMaxPreviousKeys) previous_.pop_front();
  keys = std::move(next);  // the old KD (when renewed) and KD-sess are wiped here
  keys_since_ = now.mono;
  // A REQUEST of this end that the switch overtook (the peer's keys of that generation won) is given up.
  if (requesting_ && requesting_->generation <= keys.generation) requesting_.reset();
  auto e = event_of(Level::kInfo, "rekeyed")
               .with("generation", static_cast<std::int64_t>(keys.generation))
               .with("kd_sess_id", keys.kd_sess_id)
               .with("data_kd_sess_id", static_cast<std::int64_t>(keys.data_kd_sess_id))
               .with("kd_id", keys.kd_id)
               .with("kd_renewed", kd_changed ? "yes" : "no")
               .with("forward_secrecy", keys.forward_secrecy ? "on" : "off")
               .with("as", std::string(role));
  if (!trigger.empty()) e.with("trigger", std::move(trigger));
  out.events.push_back(std::move(e));
  return out;
}

Output Rekeying::on_message(const wire::Message& message, SessionKeys& keys, const RandomSource& random,
                            const Now& now) {
  Output out;
  const auto& m = std::get<wire::LinkMessage>(message.body);
  const std::uint32_t generation = m.rekeying_generation.value_or(0);
  const ByteView covered = message.covered_by_mac();
  const auto stale = [&](std::string_view what) {
    out.events.push_back(dropped_event(std::string(wire::message_name(m.type)) + " " + std::string(what),
                                       address_.relay, address_.digest));
    return std::move(out);
  };
  switch (m.type) {
    case wire::MessageType::kRekeyingRequest: {
      // A REQUEST under the next keys proves the initiator holds them: as good as their CONFIRM.
      if (responding_ && generation == responding_->keys.generation + 1 &&
          mac_equal(m.mac, link_mac(responding_->keys.k_int, kLabelRekeyingRequest, covered))) {
        out.merge(switch_to(keys, std::move(responding_->keys), "responder", {}, now));
        responding_.reset();
      }
      if (generation != keys.generation + 1) {
        return stale(generation <= keys.generation ? "of a generation in use or past" : "of a later generation");
      }
      if (!mac_equal(m.mac, link_mac(keys.k_int, kLabelRekeyingRequest, covered))) {
        out.events.push_back(refused("link_mac", "DIRECT LINK REKEYING REQUEST whose MAC does not verify"));
        return out;
      }
      if (requesting_) {
        // Both ends started: the source's REQUEST is answered, the target's given up (docs/protocol.md 12.4).
        if (end_ == LinkEnd::kSource) {
          out.events.push_back(event_of(Level::kDebug, "rekey_collision")
                                   .with("detail", "both ends started a rekeying: the source's goes on"));
          return out;
        }
        out.events.push_back(event_of(Level::kDebug, "rekey_collision")
                                 .with("detail", "both ends started a rekeying: the target answers the source's"));
        requesting_.reset();
      }
      if (responding_ && responding_->request == message.bytes) {
        out.send.push_back(responding_->response.outbound());  // a copy: the same answer
        return out;
      }
      if (keys.forward_secrecy != m.rekeying_ephemeral_key.has_value()) {
        out.events.push_back(refused("rekeying_ephemeral", keys.forward_secrecy
                                                               ? "a link with forward secrecy rekeyed without an "
                                                                 "ephemeral key"
                                                               : "an ephemeral key on a link without forward secrecy"));
        return out;
      }
      // Step R2: the next keys, installed for receiving; the RESPONSE under them.
      wire::LinkMessage response{
          wire::MessageType::kRekeyingResponse, address_.digest, {}, {}, {}, generation, wire::Nonce{}, {}};
      random(*response.rekeying_nonce);
      std::optional<crypto::SecretBytes> secret;
      if (keys.forward_secrecy) {
        auto e = fresh_ephemeral();
        if (!e) return out;
        auto z = rekeying_secret(*e->key, *m.rekeying_ephemeral_key);
        if (!z) {
          out.events.push_back(refused("rekeying_ephemeral", z.error().reason));
          return out;
        }
        secret = std::move(z).value();
        response.rekeying_ephemeral_key = e->point;
      }  // the ephemeral private key ends here
      const wire::Nonce& source_nonce = end_ == LinkEnd::kSource ? *response.rekeying_nonce : *m.rekeying_nonce;
      const wire::Nonce& target_nonce = end_ == LinkEnd::kSource ? *m.rekeying_nonce : *response.rekeying_nonce;
      Responding r;
      r.request = message.bytes;
      r.keys = derive_rekeyed_keys(keys, source_nonce, target_nonce, secret ? &*secret : nullptr);
      r.response.start(address_.relay, datagram(response, r.keys.k_int, kLabelRekeyingResponse), now.mono,
                       config_.retransmit, random);
      out.send.push_back(r.response.outbound());
      out.events.push_back(event_of(Level::kDebug, "rekey_answered")
                               .with("generation", static_cast<std::int64_t>(generation))
                               .with("kd_sess_id", r.keys.kd_sess_id));
      responding_ = std::move(r);
      return out;
    }
    case wire::MessageType::kRekeyingResponse: {
      if (!requesting_ || generation != requesting_->generation) {
        if (!confirm_.empty() && message.bytes == taken_response_ && generation == keys.generation) {
          out.send.push_back({address_.relay, confirm_});  // the CONFIRM was lost: again
          return out;
        }
        return stale("answers no REKEYING REQUEST under way");
      }
      if (keys.forward_secrecy != m.rekeying_ephemeral_key.has_value()) {
        out.events.push_back(refused("rekeying_ephemeral", "the RESPONSE's ephemeral key does not match the link"));
        return out;
      }
      std::optional<crypto::SecretBytes> secret;
      if (keys.forward_secrecy) {
        auto z = rekeying_secret(*requesting_->ephemeral, *m.rekeying_ephemeral_key);
        if (!z) {
          out.events.push_back(refused("rekeying_ephemeral", z.error().reason));
          return out;
        }
        secret = std::move(z).value();
      }
      const wire::Nonce& source_nonce = end_ == LinkEnd::kSource ? requesting_->nonce : *m.rekeying_nonce;
      const wire::Nonce& target_nonce = end_ == LinkEnd::kSource ? *m.rekeying_nonce : requesting_->nonce;
      SessionKeys next = derive_rekeyed_keys(keys, source_nonce, target_nonce, secret ? &*secret : nullptr);
      if (!mac_equal(m.mac, link_mac(next.k_int, kLabelRekeyingResponse, covered))) {
        out.events.push_back(refused("link_mac", "DIRECT LINK REKEYING RESPONSE whose MAC does not verify"));
        return out;
      }
      // Step R3: the CONFIRM under the next keys; from now on this end sends under them.
      confirm_ = datagram({wire::MessageType::kRekeyingConfirm, address_.digest, {}, {}, {}, generation, {}, {}},
                          next.k_int, kLabelRekeyingConfirm);
      taken_response_ = message.bytes;
      out.send.push_back({address_.relay, confirm_});
      std::string trigger = std::move(requesting_->trigger);
      requesting_.reset();  // the ephemeral private key ends here
      responding_.reset();  // next keys of an answer never confirmed: superseded
      out.merge(switch_to(keys, std::move(next), "initiator", std::move(trigger), now));
      return out;
    }
    case wire::MessageType::kRekeyingConfirm: {
      if (!responding_ || generation != responding_->keys.generation) return stale("confirms nothing under way");
      if (!mac_equal(m.mac, link_mac(responding_->keys.k_int, kLabelRekeyingConfirm, covered))) {
        out.events.push_back(refused("link_mac", "DIRECT LINK REKEYING CONFIRM whose MAC does not verify"));
        return out;
      }
      out.merge(switch_to(keys, std::move(responding_->keys), "responder", {}, now));
      responding_.reset();
      return out;
    }
    default: return out;
  }
}

bool Rekeying::verify(const wire::Message& message, std::string_view label, SessionKeys& keys, Output& out,
                      const Now& now) {
  const auto& m = std::get<wire::LinkMessage>(message.body);
  const ByteView covered = message.covered_by_mac();
  if (mac_equal(m.mac, link_mac(keys.k_int, label, covered))) return true;
  if (responding_ && mac_equal(m.mac, link_mac(responding_->keys.k_int, label, covered))) {
    out.merge(switch_to(keys, std::move(responding_->keys), "responder", {}, now));
    responding_.reset();
    return true;
  }
  return std::any_of(previous_.begin(), previous_.end(), [&](const auto& p) {
    return now.mono < p.second && mac_equal(m.mac, link_mac(p.first, label, covered));
  });
}

Output Rekeying::on_timer(SessionKeys& keys, const RandomSource& random, const Now& now) {
  Output out;
  while (!previous_.empty() && now.mono >= previous_.front().second) previous_.pop_front();  // wiped
  if (requesting_) {
    switch (requesting_->request.on_timer(now.mono, random)) {
      case Retransmission::Tick::kResend: out.send.push_back(requesting_->request.outbound()); break;
      case Retransmission::Tick::kExhausted:
        out.events.push_back(event_of(Level::kWarn, "rekey_failed")
                                 .with("generation", static_cast<std::int64_t>(requesting_->generation))
                                 .with("reason", "no REKEYING RESPONSE after " +
                                                     std::to_string(requesting_->request.tries()) +
                                                     " tries: the keys in use stay"));
        requesting_.reset();
        keys_since_ = now.mono;  // the time trigger tries again after another period
        break;
      case Retransmission::Tick::kNothing: break;
    }
  }
  if (responding_) {
    switch (responding_->response.on_timer(now.mono, random)) {
      case Retransmission::Tick::kResend: out.send.push_back(responding_->response.outbound()); break;
      case Retransmission::Tick::kExhausted:
        // The next keys stay installed: anything under them still completes the switch.
        out.events.push_back(event_of(Level::kWarn, "rekey_failed")
                                 .with("generation", static_cast<std::int64_t>(responding_->keys.generation))
                                 .with("reason", "no REKEYING CONFIRM after " +
                                                     std::to_string(responding_->response.tries()) + " tries"));
        break;
      case Retransmission::Tick::kNothing: break;
    }
  }
  if (config_.after.count() > 0 && !under_way() && now.mono >= keys_since_ + config_.after) {
    out.merge(start(keys, "time", random, now));
  }
  return out;
}

std::optional<MonoTime> Rekeying::next_deadline() const {
  std::optional<MonoTime> earliest;
  const auto consider = [&](std::optional<MonoTime> t) {
    if (t && (!earliest || *t < *earliest)) earliest = t;
  };
  if (!previous_.empty()) consider(previous_.front().second);
  if (requesting_) consider(requesting_->request.deadline());
  if (responding_) consider(responding_->response.deadline());
  if (config_.after.count() > 0 && !under_way()) consider(keys_since_ + config_.after);
  return earliest;
}

}  // namespace u2u::protocol
