#include "dataplane/data_link.hpp"

#include <cstring>

namespace u2u::dataplane {

struct DataLink::KeySet {
  std::uint16_t kd_sess_id = 0;
  std::optional<crypto::Nea2> nea2;
  std::optional<crypto::Nia2> nia2;
  std::optional<crypto::Aes128Gcm> gcm;
  std::uint64_t next_count = 0;
  ReplayWindow window;
};

std::string_view drop_name(Drop drop) {
  switch (drop) {
    case Drop::kFormat: return "format";
    case Drop::kLink: return "link";
    case Drop::kKeys: return "keys";
    case Drop::kDuplicate: return "duplicate";
    case Drop::kTooOld: return "too_old";
    case Drop::kIntegrity: return "integrity";
    case Drop::kCount: break;
  }
  return "unknown";
}

std::optional<std::string_view> rekey_trigger(std::uint64_t sent, std::uint64_t after_packets) {
  const auto due = [sent](std::uint64_t at) { return at != 0 && sent >= at && (sent - at) % kRekeyRetryPackets == 0; };
  if (due(kRekeyForcedAtCount)) return "count";
  if (due(after_packets)) return "packets";
  return std::nullopt;
}

Result<std::unique_ptr<DataLink::KeySet>> DataLink::make_key_set(Suite suite, NrpKeys keys, std::uint16_t kd_sess_id) {
  auto c = std::make_unique<DataLink::KeySet>();
  c->kd_sess_id = kd_sess_id;
  if (keys.nrpek.size() != 0) {
    if (suite == Suite::kAes128Gcm) {
      auto gcm = crypto::Aes128Gcm::create(keys.nrpek);
      if (!gcm) return gcm.error();
      c->gcm.emplace(std::move(gcm).value());
    } else {
      auto nea2 = crypto::Nea2::create(keys.nrpek);
      if (!nea2) return nea2.error();
      c->nea2.emplace(std::move(nea2).value());
    }
  }
  if (keys.nrpik.size() != 0) {
    auto nia2 = crypto::Nia2::create(keys.nrpik);
    if (!nia2) return nia2.error();
    c->nia2.emplace(std::move(nia2).value());
  }
  const bool complete = suite == Suite::kAes128Gcm  ? c->gcm.has_value()
                        : suite == Suite::kNea2Nia2 ? c->nea2 && c->nia2
                                                    : c->nia2.has_value();
  if (!complete)
    return make_error(Cause::kNone, "pdu_keys", "keys missing for suite " + std::string(suite_name(suite)));
  // The keys (`keys`, wiped when it goes) now live in the cipher contexts only.
  return c;
}

Result<DataLink> DataLink::create(DataLinkConfig config) {
  auto keys = make_key_set(config.suite, std::move(config.keys), config.kd_sess_id);
  if (!keys) return keys.error();
  config.keys = NrpKeys{};
  return DataLink(std::move(config), std::move(keys).value());
}

DataLink::DataLink(DataLinkConfig config, std::unique_ptr<KeySet> keys)
    : config_(std::move(config)), current_(std::move(keys)), trailer_(trailer_size(config_.suite)) {}
DataLink::DataLink(DataLink&&) noexcept = default;
DataLink& DataLink::operator=(DataLink&&) noexcept = default;
DataLink::~DataLink() = default;

std::uint16_t DataLink::kd_sess_id() const { return current_->kd_sess_id; }
std::uint64_t DataLink::next_count() const { return current_->next_count; }
void DataLink::set_next_count(std::uint64_t count) { current_->next_count = count; }

Status DataLink::install_next(NrpKeys keys, std::uint16_t kd_sess_id) {
  auto next = make_key_set(config_.suite, std::move(keys), kd_sess_id);
  if (!next) return next.error();
  next_ = std::move(next).value();
  return {};
}

bool DataLink::use_next(std::uint16_t kd_sess_id) {
  if (!next_ || next_->kd_sess_id != kd_sess_id) return false;
  previous_ = std::move(current_);
  current_ = std::move(next_);
  return true;
}

Status DataLink::use_keys(NrpKeys keys, std::uint16_t kd_sess_id) {
  auto next = make_key_set(config_.suite, std::move(keys), kd_sess_id);
  if (!next) return next.error();
  previous_ = std::move(current_);
  current_ = std::move(next).value();
  next_.reset();
  return {};
}

void DataLink::drop_previous() { previous_.reset(); }

Result<std::size_t> DataLink::protect(std::uint8_t bearer, ByteView payload, std::span<std::uint8_t> out) {
  KeySet& k = *current_;
  if (k.next_count >= kCountLimit) {
    return make_error(Cause::kNone, "count_exhausted",
                      "COUNT reached " + std::to_string(kCountLimit) + " under this KD-sess: no more PDUs on it");
  }
  if (payload.size() > max_payload() || bearer > kMaxBearer) {
    return make_error(Cause::kNone, "pdu_size",
                      "payload of " + std::to_string(payload.size()) + " octets (at most " +
                          std::to_string(max_payload()) + ") or BEARER " + std::to_string(bearer));
  }
  const std::size_t size = datagram_size(payload.size());
  if (out.size() < size) return make_error(Cause::kNone, "pdu_size", "output buffer too small");
  const auto count = static_cast<std::uint32_t>(k.next_count);
  write_pdu_prefix(out, config_.own_layer2_id, config_.relay_layer2_id,
                   {config_.link_label, k.kd_sess_id, bearer, count});
  const crypto::PduInput in{count, bearer, config_.direction};
  const ByteView covered(out.data() + wire::kHeaderSize, kPduHeaderSize);
  std::span<std::uint8_t> body = out.subspan(kPduPrefixSize, payload.size());
  if (!payload.empty()) std::memmove(body.data(), payload.data(), payload.size());
  std::span<std::uint8_t> trailer = out.subspan(kPduPrefixSize + payload.size(), trailer_);
  if (k.gcm) {
    if (auto s = k.gcm->seal(in, covered, body, trailer.first<kGcmTagSize>()); !s) return s.error();
  } else {
    if (k.nea2) {
      if (auto s = k.nea2->apply(in, body); !s) return s.error();
    }
    // Encrypt-then-MAC: the MAC-I covers the header and the ciphertext (docs/protocol.md 11.4).
    auto mac = k.nia2->mac(in, covered, body);
    if (!mac) return mac.error();
    std::copy(mac->begin(), mac->end(), trailer.begin());
  }
  ++k.next_count;
  ++counters_.sent;
  counters_.sent_bytes += payload.size();
  return size;
}

Drop DataLink::count_drop(Drop drop) {
  ++counters_.dropped[static_cast<std::size_t>(drop)];
  return drop;
}

std::variant<Delivery, Drop> DataLink::unprotect(std::span<std::uint8_t> datagram) {
  auto pdu = parse_pdu(datagram);
  if (!pdu || pdu->payload_size < trailer_) return count_drop(Drop::kFormat);
  if (pdu->header.link_label != config_.link_label) return count_drop(Drop::kLink);
  // The KD-sess ID names the key set (the three a link may hold always differ, docs/protocol.md 12.3).
  KeySet* k = nullptr;
  for (KeySet* set : {current_.get(), next_.get(), previous_.get()}) {
    if (set != nullptr && set->kd_sess_id == pdu->header.kd_sess_id) {
      k = set;
      break;
    }
  }
  if (k == nullptr) return count_drop(Drop::kKeys);
  // Cheapest first: the replay window, before any cryptography.
  switch (k->window.check(pdu->header.count)) {
    case ReplayWindow::Verdict::kFresh: break;
    case ReplayWindow::Verdict::kDuplicate: return count_drop(Drop::kDuplicate);
    case ReplayWindow::Verdict::kTooOld: return count_drop(Drop::kTooOld);
  }
  const std::uint8_t peer_direction =
      config_.direction == kDirectionFromSource ? kDirectionFromTarget : kDirectionFromSource;
  const crypto::PduInput in{pdu->header.count, pdu->header.bearer, peer_direction};
  const std::size_t body_size = pdu->payload_size - trailer_;
  std::span<std::uint8_t> body = datagram.subspan(pdu->payload_offset, body_size);
  const ByteView trailer(datagram.data() + pdu->payload_offset + body_size, trailer_);
  if (k->gcm) {
    if (!k->gcm->open(in, pdu->covered, body, trailer)) return count_drop(Drop::kIntegrity);
    k->window.mark(pdu->header.count);
  } else {
    if (!k->nia2->verify(in, pdu->covered, body, trailer)) return count_drop(Drop::kIntegrity);
    k->window.mark(pdu->header.count);
    if (k->nea2 && !k->nea2->apply(in, body)) return count_drop(Drop::kIntegrity);
  }
  ++counters_.received;
  counters_.received_bytes += body_size;
  // The peer sends under the next keys, so it holds them: this end switches too.
  const bool switched = k == next_.get() && use_next(k->kd_sess_id);
  return Delivery{pdu->header.bearer, pdu->header.count, body, switched};
}

}  // namespace u2u::dataplane
