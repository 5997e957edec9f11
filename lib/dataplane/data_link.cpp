#include "dataplane/data_link.hpp"

#include <cstring>

namespace u2u::dataplane {

struct DataLink::Ciphers {
  std::optional<crypto::Nea2> nea2;
  std::optional<crypto::Nia2> nia2;
  std::optional<crypto::Aes128Gcm> gcm;
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

Result<DataLink> DataLink::create(DataLinkConfig config) {
  auto c = std::make_unique<Ciphers>();
  if (config.keys.nrpek.size() != 0) {
    if (config.suite == Suite::kAes128Gcm) {
      auto gcm = crypto::Aes128Gcm::create(config.keys.nrpek);
      if (!gcm) return gcm.error();
      c->gcm.emplace(std::move(gcm).value());
    } else {
      auto nea2 = crypto::Nea2::create(config.keys.nrpek);
      if (!nea2) return nea2.error();
      c->nea2.emplace(std::move(nea2).value());
    }
  }
  if (config.keys.nrpik.size() != 0) {
    auto nia2 = crypto::Nia2::create(config.keys.nrpik);
    if (!nia2) return nia2.error();
    c->nia2.emplace(std::move(nia2).value());
  }
  const bool complete = config.suite == Suite::kAes128Gcm ? c->gcm.has_value()
                        : config.suite == Suite::kNea2Nia2 ? c->nea2 && c->nia2
                                                             : c->nia2.has_value();
  if (!complete) {
    return make_error(Cause::kNone, "pdu_keys", "keys missing for suite " + std::string(suite_name(config.suite)));
  }
  // The keys now live in the cipher contexts only.
  config.keys = NrpKeys{};
  return DataLink(std::move(config), std::move(c));
}

DataLink::DataLink(DataLinkConfig config, std::unique_ptr<Ciphers> ciphers)
    : config_(std::move(config)), ciphers_(std::move(ciphers)), trailer_(trailer_size(config_.suite)) {}
DataLink::DataLink(DataLink&&) noexcept = default;
DataLink& DataLink::operator=(DataLink&&) noexcept = default;
DataLink::~DataLink() = default;

Result<std::size_t> DataLink::protect(std::uint8_t bearer, ByteView payload, std::span<std::uint8_t> out) {
  if (next_count_ >= kCountLimit) {
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
  const auto count = static_cast<std::uint32_t>(next_count_);
  write_pdu_prefix(out, config_.own_layer2_id, config_.relay_layer2_id,
                   {config_.link_label, config_.kd_sess_id, bearer, count});
  const crypto::PduInput in{count, bearer, config_.direction};
  const ByteView covered(out.data() + wire::kHeaderSize, kPduHeaderSize);
  std::span<std::uint8_t> body = out.subspan(kPduPrefixSize, payload.size());
  if (!payload.empty()) std::memmove(body.data(), payload.data(), payload.size());
  std::span<std::uint8_t> trailer = out.subspan(kPduPrefixSize + payload.size(), trailer_);
  if (ciphers_->gcm) {
    if (auto s = ciphers_->gcm->seal(in, covered, body, trailer.first<kGcmTagSize>()); !s) return s.error();
  } else {
    if (ciphers_->nea2) {
      if (auto s = ciphers_->nea2->apply(in, body); !s) return s.error();
    }
    // Encrypt-then-MAC: the MAC-I covers the header and the ciphertext (docs/protocol.md 11.4).
    auto mac = ciphers_->nia2->mac(in, covered, body);
    if (!mac) return mac.error();
    std::copy(mac->begin(), mac->end(), trailer.begin());
  }
  ++next_count_;
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
  if (pdu->header.kd_sess_id != config_.kd_sess_id) return count_drop(Drop::kKeys);
  // Cheapest first: the replay window, before any cryptography.
  switch (window_.check(pdu->header.count)) {
    case ReplayWindow::Verdict::kFresh: break;
    case ReplayWindow::Verdict::kDuplicate: return count_drop(Drop::kDuplicate);
    case ReplayWindow::Verdict::kTooOld: return count_drop(Drop::kTooOld);
  }
  const std::uint8_t peer_direction = config_.direction == kDirectionFromSource ? kDirectionFromTarget
                                                                                 : kDirectionFromSource;
  const crypto::PduInput in{pdu->header.count, pdu->header.bearer, peer_direction};
  const std::size_t body_size = pdu->payload_size - trailer_;
  std::span<std::uint8_t> body = datagram.subspan(pdu->payload_offset, body_size);
  const ByteView trailer(datagram.data() + pdu->payload_offset + body_size, trailer_);
  if (ciphers_->gcm) {
    if (!ciphers_->gcm->open(in, pdu->covered, body, trailer)) return count_drop(Drop::kIntegrity);
    window_.mark(pdu->header.count);
  } else {
    if (!ciphers_->nia2->verify(in, pdu->covered, body, trailer)) return count_drop(Drop::kIntegrity);
    window_.mark(pdu->header.count);
    if (ciphers_->nea2 && !ciphers_->nea2->apply(in, body)) return count_drop(Drop::kIntegrity);
  }
  ++counters_.received;
  counters_.received_bytes += body_size;
  return Delivery{pdu->header.bearer, pdu->header.count, body};
}

}  // namespace u2u::dataplane
