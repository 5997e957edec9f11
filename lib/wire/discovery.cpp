#include "wire/discovery.hpp"

#include "wire/ie_schema.hpp"

namespace u2u::wire {

namespace {

using detail::IeSpec;
using detail::put_ie;
using D = DiscoveryIei;

constexpr auto kId = static_cast<std::uint16_t>(kUserInfoIdMaxSize);
constexpr auto kIdMin = static_cast<std::uint16_t>(kUserInfoIdMinSize);
constexpr auto kCert = static_cast<std::uint16_t>(kCertificateMaxSize);
constexpr auto kSig = static_cast<std::uint16_t>(kSignatureSize);
constexpr auto kL2 = static_cast<std::uint16_t>(kLayer2IdSize);
constexpr auto kRsc = static_cast<std::uint16_t>(kRelayServiceCodeSize);
constexpr auto kTs = static_cast<std::uint16_t>(kTimestampSize);
constexpr auto kNonce = static_cast<std::uint16_t>(kNonceSize);
constexpr auto kTargets = static_cast<std::uint16_t>(kMaxReachableTargets * (kLayer2IdSize + 1 + kUserInfoIdMaxSize));

// Indexes into the schemas below are by IE; every schema lists them in this order.
constexpr IeSpec kRelayAnnouncement[] = {
    {D::kSenderUserInfoId, kIdMin, kId, 0}, {D::kSenderLayer2Id, kL2, kL2, 0},
    {D::kSignallingPort, 2, 2, 0},          {D::kRelayServiceCode, kRsc, kRsc, 0},
    {D::kTimestamp, kTs, kTs, 0},           {D::kReachableTargets, 0, kTargets, 0},
    {D::kSenderCertificate, 1, kCert, 0},   {D::kDiscoverySignature, kSig, kSig, 0},
};
constexpr IeSpec kTargetAnnouncement[] = {
    {D::kSenderUserInfoId, kIdMin, kId, 0}, {D::kSenderLayer2Id, kL2, kL2, 0},
    {D::kSignallingPort, 2, 2, 0},          {D::kTimestamp, kTs, kTs, 0},
    {D::kSenderCertificate, 1, kCert, 0},   {D::kDiscoverySignature, kSig, kSig, 0},
};
constexpr IeSpec kSolicitation[] = {
    {D::kSenderUserInfoId, kIdMin, kId, 0},
    {D::kSenderLayer2Id, kL2, kL2, 0},
    {Iei::kTargetUserInfoId, kIdMin, kId, 0},
    {D::kDiscoveryNonce, kNonce, kNonce, 0},
    {D::kTimestamp, kTs, kTs, 0},
    {D::kSenderCertificate, 1, kCert, 0},
    {D::kDiscoverySignature, kSig, kSig, 0},
};
constexpr IeSpec kResponse[] = {
    {D::kSenderUserInfoId, kIdMin, kId, 0},
    {D::kSenderLayer2Id, kL2, kL2, 0},
    {D::kSignallingPort, 2, 2, 0},
    {D::kRelayServiceCode, kRsc, kRsc, 2},
    {Iei::kTargetUserInfoId, kIdMin, kId, 0},
    {Iei::kTargetLayer2Id, kL2, kL2, 0},
    {D::kDiscoveryNonce, kNonce, kNonce, 0},
    {D::kTimestamp, kTs, kTs, 0},
    {D::kSenderCertificate, 1, kCert, 0},
    {D::kDiscoverySignature, kSig, kSig, 0},
};

std::span<const IeSpec> schema_of(std::uint8_t type) {
  switch (type) {
    case kRelayAnnouncementType: return kRelayAnnouncement;
    case kTargetAnnouncementType: return kTargetAnnouncement;
    case kSolicitationType:
    case kTargetSolicitationType: return kSolicitation;
    case kResponseType:
    case kTargetResponseType: return kResponse;
    default: return {};
  }
}

const detail::FoundIe* find(std::span<const IeSpec> schema, const detail::Found& f, std::uint8_t iei) {
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].iei == iei && f[i].present) return &f[i];
  }
  return nullptr;
}
const detail::FoundIe* find(std::span<const IeSpec> s, const detail::Found& f, D iei) {
  return find(s, f, static_cast<std::uint8_t>(iei));
}
const detail::FoundIe* find(std::span<const IeSpec> s, const detail::Found& f, Iei iei) {
  return find(s, f, static_cast<std::uint8_t>(iei));
}

Result<std::vector<ReachableTarget>> targets_of(std::string_view name, ByteView v) {
  std::vector<ReachableTarget> out;
  Reader r(v);
  while (!r.empty()) {
    const auto l2 = r.u24();
    const auto length = r.u8();
    if (!l2 || !length || *length < kUserInfoIdMinSize || *length > kUserInfoIdMaxSize) {
      return detail::decode_error(name, "malformed reachable target entry");
    }
    const auto id = r.bytes(*length);
    if (!id) return detail::decode_error(name, "truncated reachable target entry");
    auto text = detail::user_info_id(name, *id);
    if (!text) return text.error();
    if (out.size() == kMaxReachableTargets) return detail::decode_error(name, "more reachable targets than allowed");
    out.push_back({std::move(text).value(), *l2});
  }
  return out;
}

}  // namespace

std::string_view discovery_name(std::uint8_t type) {
  switch (type) {
    case kRelayAnnouncementType: return "RELAY DISCOVERY ANNOUNCEMENT (Model A)";
    case kTargetAnnouncementType: return "TARGET DISCOVERY ANNOUNCEMENT (Model A)";
    case kSolicitationType: return "DISCOVERY SOLICITATION (Model B)";
    case kResponseType: return "DISCOVERY RESPONSE (Model B)";
    case kTargetSolicitationType: return "TARGET DISCOVERY SOLICITATION (Model B)";
    case kTargetResponseType: return "TARGET DISCOVERY RESPONSE (Model B)";
    default: return "unknown discovery message";
  }
}

Result<DecodedDiscovery> decode_discovery(ByteView bytes) {
  if (bytes.empty()) return make_error(Cause::kProtocolErrorUnspecified, "decode", "empty discovery message");
  if (bytes.size() > kMaxDatagramSize) {
    return make_error(Cause::kProtocolErrorUnspecified, "decode", "discovery message larger than a datagram");
  }
  const std::uint8_t type = bytes[0];
  const auto schema = schema_of(type);
  if (schema.empty()) {
    return make_error(Cause::kProtocolErrorUnspecified, "decode",
                      "unknown discovery message type 0x" + to_hex(bytes.first(1)));
  }
  const std::string_view name = discovery_name(type);
  detail::Found f{};
  if (auto s = detail::parse_ies(name, bytes, schema, f); !s) return s.error();
  const auto& signature = f[schema.size() - 1];
  if (auto s = detail::nothing_after(name, signature, bytes.size()); !s) return s.error();

  DecodedDiscovery d;
  d.bytes.assign(bytes.begin(), bytes.end());
  d.signature_offset = signature.offset;
  DiscoveryMessage& m = d.message;
  m.type = type;
  auto sender = detail::user_info_id(name, find(schema, f, D::kSenderUserInfoId)->value);
  if (!sender) return sender.error();
  m.sender_user_info_id = std::move(sender).value();
  m.sender_layer2_id = detail::u24(find(schema, f, D::kSenderLayer2Id)->value);
  if (const auto* port = find(schema, f, D::kSignallingPort)) {
    m.signalling_port = static_cast<std::uint16_t>((port->value[0] << 8) | port->value[1]);
    if (m.signalling_port == 0) return detail::decode_error(name, "signalling port 0");
  }
  if (const auto* rsc = find(schema, f, D::kRelayServiceCode)) {
    if (type == kTargetResponseType)
      return detail::decode_error(name, "a target's response carries no relay service code");
    m.relay_service_code = detail::u24(rsc->value);
  }
  if (const auto* list = find(schema, f, D::kReachableTargets)) {
    auto targets = targets_of(name, list->value);
    if (!targets) return targets.error();
    m.reachable_targets = std::move(targets).value();
  }
  if (const auto* target = find(schema, f, Iei::kTargetUserInfoId)) {
    auto id = detail::user_info_id(name, target->value);
    if (!id) return id.error();
    m.target_user_info_id = std::move(id).value();
  }
  if (const auto* l2 = find(schema, f, Iei::kTargetLayer2Id)) m.target_layer2_id = detail::u24(l2->value);
  if (const auto* nonce = find(schema, f, D::kDiscoveryNonce)) m.nonce = detail::fixed<kNonceSize>(*nonce);
  std::uint64_t ts = 0;
  for (std::uint8_t b : find(schema, f, D::kTimestamp)->value) ts = (ts << 8) | b;
  m.timestamp_ms = ts;
  const auto& cert = find(schema, f, D::kSenderCertificate)->value;
  m.certificate.assign(cert.begin(), cert.end());
  m.signature = detail::fixed<kSignatureSize>(signature);
  return d;
}

Bytes encode_discovery_unsigned(const DiscoveryMessage& m) {
  Writer w;
  w.u8(m.type);
  put_ie(w, D::kSenderUserInfoId, as_bytes(m.sender_user_info_id));
  put_ie(w, D::kSenderLayer2Id, detail::l2_octets(m.sender_layer2_id));
  const bool announcement = m.type == kRelayAnnouncementType;
  if (m.type != kSolicitationType && m.type != kTargetSolicitationType) {
    Writer port;
    port.u16(m.signalling_port);
    put_ie(w, D::kSignallingPort, port.data());
  }
  if (m.relay_service_code && (announcement || m.type == kResponseType)) {  // a relay's only
    put_ie(w, D::kRelayServiceCode, detail::l2_octets(*m.relay_service_code));
  }
  const auto timestamp = [&] {
    Writer t;
    t.u16(static_cast<std::uint16_t>(m.timestamp_ms >> 48));
    t.u16(static_cast<std::uint16_t>(m.timestamp_ms >> 32));
    t.u16(static_cast<std::uint16_t>(m.timestamp_ms >> 16));
    t.u16(static_cast<std::uint16_t>(m.timestamp_ms));
    put_ie(w, D::kTimestamp, t.data());
  };
  if (announcement) {
    timestamp();
    Writer list;
    for (const auto& t : m.reachable_targets) {
      list.u24(t.layer2_id);
      list.u8(static_cast<std::uint8_t>(t.user_info_id.size()));
      list.bytes(as_bytes(t.user_info_id));
    }
    put_ie(w, D::kReachableTargets, list.data());
  } else if (m.type == kTargetAnnouncementType) {
    timestamp();
  } else {
    put_ie(w, Iei::kTargetUserInfoId, as_bytes(m.target_user_info_id));
    if (m.type == kResponseType || m.type == kTargetResponseType) {
      put_ie(w, Iei::kTargetLayer2Id, detail::l2_octets(m.target_layer2_id.value_or(0)));
    }
    put_ie(w, D::kDiscoveryNonce, m.nonce.value_or(Nonce{}));
    timestamp();
  }
  put_ie(w, D::kSenderCertificate, m.certificate);
  return w.take();
}

Result<DiscoveryDatagram> decode_discovery_datagram(ByteView datagram) {
  auto header = detail::decode_header(datagram);
  if (!header) return header.error();
  auto message = decode_discovery(datagram.subspan(kHeaderSize));
  if (!message) return message.error();
  return DiscoveryDatagram{header->source, header->destination, std::move(message).value()};
}

void append_discovery_signature(Bytes& message, const Signature& signature) {
  Writer w;
  put_ie(w, D::kDiscoverySignature, signature);
  append(message, w.data());
}

}  // namespace u2u::wire
