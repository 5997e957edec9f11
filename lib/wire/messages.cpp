#include "wire/messages.hpp"

#include <algorithm>
#include <span>

#include "wire/ie_schema.hpp"
#include "wire/reader.hpp"

namespace u2u::wire {

namespace {

using detail::fixed;
using detail::FoundIe;
using detail::IeSpec;
using detail::kMaxSchemaSize;
using detail::put_ie;

constexpr auto kId = static_cast<std::uint16_t>(kUserInfoIdMaxSize);
constexpr auto kIdMin = static_cast<std::uint16_t>(kUserInfoIdMinSize);
constexpr auto kCert = static_cast<std::uint16_t>(kCertificateMaxSize);
constexpr auto kNonce = static_cast<std::uint16_t>(kNonceSize);
constexpr auto kSig = static_cast<std::uint16_t>(kSignatureSize);
constexpr auto kDig = static_cast<std::uint16_t>(kDigestSize);
constexpr auto kL2 = static_cast<std::uint16_t>(kLayer2IdSize);
constexpr auto kMac = static_cast<std::uint16_t>(kMacSize);
constexpr auto kEph = static_cast<std::uint16_t>(kEphemeralKeySize);

constexpr IeSpec kRequestSchema[] = {
    {Iei::kSourceUserInfoId, kIdMin, kId, 0},
    {Iei::kTargetUserInfoId, kIdMin, kId, 0},
    {Iei::kTargetLayer2Id, kL2, kL2, 0},
    {Iei::kSelectedRelayUserInfoId, kIdMin, kId, 0},
    {Iei::kDataSuitesOffered, 1, static_cast<std::uint16_t>(kMaxDataSuites), 0},
    {Iei::kNonce1, kNonce, kNonce, 0},
    {Iei::kSourceEphemeralKey, kEph, kEph, 2},
    {Iei::kSourceCertificate, 1, kCert, 0},
    {Iei::kSignSource, kSig, kSig, 0},
    {Iei::kRelayUserInfoId, kIdMin, kId, 1},
    {Iei::kRelayCertificate, 1, kCert, 1},
    {Iei::kSign1Relay, kSig, kSig, 1},
};
constexpr IeSpec kAcceptSchema[] = {
    {Iei::kTargetUserInfoId, kIdMin, kId, 0},
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kRelayCertificateDigest, kDig, kDig, 0},
    {Iei::kDataSuiteChosen, 1, 1, 0},
    {Iei::kNonce2, kNonce, kNonce, 0},
    {Iei::kTargetEphemeralKey, kEph, kEph, 2},
    {Iei::kTargetCertificate, 1, kCert, 0},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
    {Iei::kSignTarget, kSig, kSig, 0},
    {Iei::kRelayUserInfoId, kIdMin, kId, 1},
    {Iei::kRelayCertificate, 1, kCert, 1},
    {Iei::kSign2Relay, kSig, kSig, 1},
};
constexpr IeSpec kRejectSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kCause, 1, 1, 0},
    {Iei::kRejectedBy, 1, 1, 0},
};
constexpr auto kCounter = static_cast<std::uint16_t>(kKeepaliveCounterSize);
constexpr IeSpec kLinkDigestMacSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
};
constexpr IeSpec kKeepaliveSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kKeepaliveCounter, kCounter, kCounter, 0},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
};
constexpr auto kGeneration = static_cast<std::uint16_t>(kRekeyingGenerationSize);
constexpr IeSpec kRekeyingSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},      {Iei::kRekeyingGeneration, kGeneration, kGeneration, 0},
    {Iei::kRekeyingNonce, kNonce, kNonce, 0},  {Iei::kRekeyingEphemeralKey, kEph, kEph, 2},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
};
constexpr IeSpec kRekeyingConfirmSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kRekeyingGeneration, kGeneration, kGeneration, 0},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
};
constexpr IeSpec kReleaseRequestSchema[] = {
    {Iei::kRequestDigest, kDig, kDig, 0},
    {Iei::kCause, 1, 1, 0},
    {Iei::kKeyConfirmationMac, kMac, kMac, 0},
};

Error decode_error(MessageType type, std::string reason) { return detail::decode_error(message_name(type), reason); }

Status parse_ies(MessageType type, ByteView message, std::span<const IeSpec> schema, detail::Found& found) {
  return detail::parse_ies(message_name(type), message, schema, found);
}

Result<std::string> user_info_id(MessageType type, const FoundIe& ie) {
  return detail::user_info_id(message_name(type), ie.value);
}

Layer2Id layer2_id(const FoundIe& ie) { return detail::u24(ie.value); }

Status nothing_after(MessageType type, const FoundIe& last_signature, std::size_t message_size) {
  return detail::nothing_after(message_name(type), last_signature, message_size);
}

Result<std::optional<RelayAuthInfo>> relay_info(MessageType type, const FoundIe& id, const FoundIe& cert,
                                                const FoundIe& sig) {
  if (!id.present) return std::optional<RelayAuthInfo>{};
  auto relay_id = user_info_id(type, id);
  if (!relay_id) return relay_id.error();
  return std::optional<RelayAuthInfo>{RelayAuthInfo{
      std::move(relay_id).value(), Bytes(cert.value.begin(), cert.value.end()), fixed<kSignatureSize>(sig)}};
}

Status decode_request(Message& m) {
  constexpr auto type = MessageType::kDirectCommunicationRequest;
  detail::Found f{};
  if (auto s = parse_ies(type, m.bytes, kRequestSchema, f); !s) return s;
  DirectCommunicationRequest r;
  auto source_id = user_info_id(type, f[0]);
  if (!source_id) return source_id.error();
  auto target_id = user_info_id(type, f[1]);
  if (!target_id) return target_id.error();
  r.source_user_info_id = std::move(source_id).value();
  r.target_user_info_id = std::move(target_id).value();
  r.target_layer2_id = layer2_id(f[2]);
  auto selected_relay = user_info_id(type, f[3]);
  if (!selected_relay) return selected_relay.error();
  r.selected_relay_user_info_id = std::move(selected_relay).value();
  r.data_suites.assign(f[4].value.begin(), f[4].value.end());
  r.nonce_1 = fixed<kNonceSize>(f[5]);
  if (f[6].present) r.source_ephemeral_key = fixed<kEphemeralKeySize>(f[6]);
  r.source_certificate.assign(f[7].value.begin(), f[7].value.end());
  r.sign_source = fixed<kSignatureSize>(f[8]);
  auto relay = relay_info(type, f[9], f[10], f[11]);
  if (!relay) return relay.error();
  r.relay = std::move(relay).value();
  if (auto s = nothing_after(type, r.relay ? f[11] : f[8], m.bytes.size()); !s) return s;
  m.first_signature_offset = f[8].offset;
  m.first_signature_end = f[8].end;
  m.relay_signature_offset = r.relay ? f[11].offset : 0;
  m.body = std::move(r);
  return {};
}

Status decode_accept(Message& m) {
  constexpr auto type = MessageType::kDirectCommunicationAccept;
  detail::Found f{};
  if (auto s = parse_ies(type, m.bytes, kAcceptSchema, f); !s) return s;
  DirectCommunicationAccept a;
  auto target_id = user_info_id(type, f[0]);
  if (!target_id) return target_id.error();
  a.target_user_info_id = std::move(target_id).value();
  a.request_digest = fixed<kDigestSize>(f[1]);
  a.relay_certificate_digest = fixed<kDigestSize>(f[2]);
  a.data_suite = f[3].value[0];
  a.nonce_2 = fixed<kNonceSize>(f[4]);
  if (f[5].present) a.target_ephemeral_key = fixed<kEphemeralKeySize>(f[5]);
  a.target_certificate.assign(f[6].value.begin(), f[6].value.end());
  a.key_confirmation_mac = fixed<kMacSize>(f[7]);
  a.sign_target = fixed<kSignatureSize>(f[8]);
  auto relay = relay_info(type, f[9], f[10], f[11]);
  if (!relay) return relay.error();
  a.relay = std::move(relay).value();
  if (auto s = nothing_after(type, a.relay ? f[11] : f[8], m.bytes.size()); !s) return s;
  m.mac_offset = f[7].offset;
  m.first_signature_offset = f[8].offset;
  m.first_signature_end = f[8].end;
  m.relay_signature_offset = a.relay ? f[11].offset : 0;
  m.body = std::move(a);
  return {};
}

Status decode_reject(Message& m) {
  constexpr auto type = MessageType::kDirectCommunicationReject;
  detail::Found f{};
  if (auto s = parse_ies(type, m.bytes, kRejectSchema, f); !s) return s;
  DirectCommunicationReject r;
  r.request_digest = fixed<kDigestSize>(f[0]);
  r.cause = cause_from_wire(f[1].value[0]);
  const std::uint8_t by = f[2].value[0];
  if (by < static_cast<std::uint8_t>(RejectedBy::kRelay) || by > static_cast<std::uint8_t>(RejectedBy::kSource)) {
    return decode_error(type, "unknown Rejected-by value " + std::to_string(by));
  }
  r.rejected_by = static_cast<RejectedBy>(by);
  m.body = r;
  return {};
}

Status decode_link_message(Message& m, MessageType type) {
  std::span<const IeSpec> schema = kLinkDigestMacSchema;
  if (type == MessageType::kKeepaliveRequest || type == MessageType::kKeepaliveResponse) schema = kKeepaliveSchema;
  if (type == MessageType::kReleaseRequest) schema = kReleaseRequestSchema;
  if (type == MessageType::kRekeyingRequest || type == MessageType::kRekeyingResponse) schema = kRekeyingSchema;
  if (type == MessageType::kRekeyingConfirm) schema = kRekeyingConfirmSchema;
  detail::Found f{};
  if (auto s = parse_ies(type, m.bytes, schema, f); !s) return s;
  const FoundIe& mac = f[schema.size() - 1];
  if (auto s = nothing_after(type, mac, m.bytes.size()); !s) return s;
  LinkMessage link;
  link.type = type;
  link.request_digest = fixed<kDigestSize>(f[0]);
  const auto u32 = [](const FoundIe& ie) {
    return (std::uint32_t{ie.value[0]} << 24) | (std::uint32_t{ie.value[1]} << 16) | (std::uint32_t{ie.value[2]} << 8) |
           ie.value[3];
  };
  if (schema.data() == kKeepaliveSchema) link.keepalive_counter = u32(f[1]);
  if (schema.data() == kRekeyingSchema || schema.data() == kRekeyingConfirmSchema) link.rekeying_generation = u32(f[1]);
  if (schema.data() == kRekeyingSchema) {
    link.rekeying_nonce = fixed<kNonceSize>(f[2]);
    if (f[3].present) link.rekeying_ephemeral_key = fixed<kEphemeralKeySize>(f[3]);
  }
  if (schema.data() == kReleaseRequestSchema) link.cause = cause_from_wire(f[1].value[0]);
  link.mac = fixed<kMacSize>(mac);
  m.mac_offset = mac.offset;
  m.body = link;
  return {};
}

void put_ie(Bytes& out, Iei iei, ByteView value) {
  Writer w;
  put_ie(w, iei, value);
  append(out, w.data());
}

using detail::l2_octets;

}  // namespace

MessageType Message::type() const { return static_cast<MessageType>(bytes.at(0)); }

std::string_view message_name(MessageType type) {
  switch (type) {
    case MessageType::kDirectCommunicationRequest: return "DIRECT COMMUNICATION REQUEST";
    case MessageType::kDirectCommunicationAccept: return "DIRECT COMMUNICATION ACCEPT";
    case MessageType::kDirectCommunicationReject: return "DIRECT COMMUNICATION REJECT";
    case MessageType::kLinkConfirm: return "LINK CONFIRM";
    case MessageType::kLinkConfirmAck: return "LINK CONFIRM ACK";
    case MessageType::kReleaseRequest: return "DIRECT LINK RELEASE REQUEST";
    case MessageType::kReleaseAccept: return "DIRECT LINK RELEASE ACCEPT";
    case MessageType::kKeepaliveRequest: return "DIRECT LINK KEEPALIVE REQUEST";
    case MessageType::kKeepaliveResponse: return "DIRECT LINK KEEPALIVE RESPONSE";
    case MessageType::kRekeyingRequest: return "DIRECT LINK REKEYING REQUEST";
    case MessageType::kRekeyingResponse: return "DIRECT LINK REKEYING RESPONSE";
    case MessageType::kRekeyingConfirm: return "DIRECT LINK REKEYING CONFIRM";
  }
  return "unknown message";
}

std::string_view iei_name(std::uint8_t iei) {
  switch (static_cast<Iei>(iei)) {
    case Iei::kSourceUserInfoId: return "Source User Info ID";
    case Iei::kTargetUserInfoId: return "Target User Info ID";
    case Iei::kTargetLayer2Id: return "Target Layer-2 ID";
    case Iei::kNonce1: return "Nonce_1";
    case Iei::kSourceCertificate: return "Source UE certificate";
    case Iei::kSignSource: return "SIGN-Source UE";
    case Iei::kRequestDigest: return "Request digest";
    case Iei::kNonce2: return "Nonce_2";
    case Iei::kTargetCertificate: return "Target UE certificate";
    case Iei::kSignTarget: return "SIGN-Target UE";
    case Iei::kCause: return "PC5 signalling protocol cause";
    case Iei::kRejectedBy: return "Rejected by";
    case Iei::kKeyConfirmationMac: return "Key confirmation MAC";
    case Iei::kSourceEphemeralKey: return "Source ephemeral public key";
    case Iei::kTargetEphemeralKey: return "Target ephemeral public key";
    case Iei::kKeepaliveCounter: return "Keep-alive counter";
    case Iei::kSelectedRelayUserInfoId: return "Selected relay User Info ID";
    case Iei::kRelayCertificateDigest: return "Relay certificate digest";
    case Iei::kDataSuitesOffered: return "Data suites offered";
    case Iei::kDataSuiteChosen: return "Data suite chosen";
    case Iei::kRekeyingGeneration: return "Rekeying generation";
    case Iei::kRekeyingNonce: return "Rekeying nonce";
    case Iei::kRekeyingEphemeralKey: return "Rekeying ephemeral public key";
    case Iei::kRelayUserInfoId: return "Relay User Info ID";
    case Iei::kRelayCertificate: return "Relay UE certificate";
    case Iei::kSign1Relay: return "SIGN1-relay";
    case Iei::kSign2Relay: return "SIGN2-relay";
  }
  switch (static_cast<DiscoveryIei>(iei)) {
    case DiscoveryIei::kSenderUserInfoId: return "Sender User Info ID";
    case DiscoveryIei::kSenderLayer2Id: return "Sender Layer-2 ID";
    case DiscoveryIei::kRelayServiceCode: return "Relay service code";
    case DiscoveryIei::kReachableTargets: return "Reachable targets";
    case DiscoveryIei::kTimestamp: return "Timestamp";
    case DiscoveryIei::kDiscoveryNonce: return "Discovery nonce";
    case DiscoveryIei::kSenderCertificate: return "Sender certificate";
    case DiscoveryIei::kDiscoverySignature: return "Discovery signature";
    case DiscoveryIei::kSignallingPort: return "PC5 signalling port";
  }
  return "unknown";
}

Result<Message> decode_message(ByteView bytes) {
  if (bytes.empty()) return make_error(Cause::kProtocolErrorUnspecified, "decode", "empty message");
  if (bytes.size() > kMaxDatagramSize) {
    return make_error(
        Cause::kProtocolErrorUnspecified, "decode",
        "message of " + std::to_string(bytes.size()) + " octets exceeds " + std::to_string(kMaxDatagramSize));
  }
  Message m;
  m.bytes.assign(bytes.begin(), bytes.end());
  Status status;
  switch (static_cast<MessageType>(bytes[0])) {
    case MessageType::kDirectCommunicationRequest: status = decode_request(m); break;
    case MessageType::kDirectCommunicationAccept: status = decode_accept(m); break;
    case MessageType::kDirectCommunicationReject: status = decode_reject(m); break;
    case MessageType::kLinkConfirm:
    case MessageType::kLinkConfirmAck:
    case MessageType::kReleaseRequest:
    case MessageType::kReleaseAccept:
    case MessageType::kKeepaliveRequest:
    case MessageType::kKeepaliveResponse:
    case MessageType::kRekeyingRequest:
    case MessageType::kRekeyingResponse:
    case MessageType::kRekeyingConfirm: status = decode_link_message(m, static_cast<MessageType>(bytes[0])); break;
    default:
      return make_error(Cause::kProtocolErrorUnspecified, "decode", "unknown message type 0x" + to_hex(bytes.first(1)));
  }
  if (!status) return status.error();
  return m;
}

Result<Datagram> decode_datagram(ByteView datagram) {
  auto header = detail::decode_header(datagram);
  if (!header) return header.error();
  auto message = decode_message(datagram.subspan(kHeaderSize));
  if (!message) return message.error();
  return Datagram{header->source, header->destination, std::move(message).value()};
}

Bytes encode_request_unsigned(const DirectCommunicationRequest& r) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(MessageType::kDirectCommunicationRequest));
  put_ie(w, Iei::kSourceUserInfoId, as_bytes(r.source_user_info_id));
  put_ie(w, Iei::kTargetUserInfoId, as_bytes(r.target_user_info_id));
  put_ie(w, Iei::kTargetLayer2Id, l2_octets(r.target_layer2_id));
  put_ie(w, Iei::kSelectedRelayUserInfoId, as_bytes(r.selected_relay_user_info_id));
  put_ie(w, Iei::kDataSuitesOffered, r.data_suites);
  put_ie(w, Iei::kNonce1, r.nonce_1);
  if (r.source_ephemeral_key) put_ie(w, Iei::kSourceEphemeralKey, *r.source_ephemeral_key);
  put_ie(w, Iei::kSourceCertificate, r.source_certificate);
  return w.take();
}

Bytes encode_accept_unsigned(const DirectCommunicationAccept& a) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(MessageType::kDirectCommunicationAccept));
  put_ie(w, Iei::kTargetUserInfoId, as_bytes(a.target_user_info_id));
  put_ie(w, Iei::kRequestDigest, a.request_digest);
  put_ie(w, Iei::kRelayCertificateDigest, a.relay_certificate_digest);
  put_ie(w, Iei::kDataSuiteChosen, ByteView(&a.data_suite, 1));
  put_ie(w, Iei::kNonce2, a.nonce_2);
  if (a.target_ephemeral_key) put_ie(w, Iei::kTargetEphemeralKey, *a.target_ephemeral_key);
  put_ie(w, Iei::kTargetCertificate, a.target_certificate);
  return w.take();
}

void append_mac(Bytes& message, const Mac& mac) { put_ie(message, Iei::kKeyConfirmationMac, mac); }

Bytes encode_link_confirm_unsigned(const Digest& request_digest) {
  return encode_link_message_unsigned(LinkMessage{MessageType::kLinkConfirm, request_digest, {}, {}, {}, {}, {}, {}});
}

Bytes encode_link_message_unsigned(const LinkMessage& link) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(link.type));
  put_ie(w, Iei::kRequestDigest, link.request_digest);
  if (link.keepalive_counter) {
    Writer counter;
    counter.u16(static_cast<std::uint16_t>(*link.keepalive_counter >> 16));
    counter.u16(static_cast<std::uint16_t>(*link.keepalive_counter));
    put_ie(w, Iei::kKeepaliveCounter, counter.data());
  }
  if (link.cause) {
    const auto cause = static_cast<std::uint8_t>(*link.cause);
    put_ie(w, Iei::kCause, ByteView(&cause, 1));
  }
  if (link.rekeying_generation) {
    Writer generation;
    generation.u16(static_cast<std::uint16_t>(*link.rekeying_generation >> 16));
    generation.u16(static_cast<std::uint16_t>(*link.rekeying_generation));
    put_ie(w, Iei::kRekeyingGeneration, generation.data());
  }
  if (link.rekeying_nonce) put_ie(w, Iei::kRekeyingNonce, *link.rekeying_nonce);
  if (link.rekeying_ephemeral_key) put_ie(w, Iei::kRekeyingEphemeralKey, *link.rekeying_ephemeral_key);
  return w.take();
}

void append_signature(Bytes& message, Iei iei, const Signature& signature) { put_ie(message, iei, signature); }

void append_relay_identity(Bytes& message, std::string_view user_info_id, ByteView certificate) {
  put_ie(message, Iei::kRelayUserInfoId, as_bytes(user_info_id));
  put_ie(message, Iei::kRelayCertificate, certificate);
}

std::size_t relayed_datagram_size(std::size_t message_size, std::string_view relay_user_info_id,
                                  std::size_t relay_certificate_size) {
  return kHeaderSize + message_size + 3 * kIeHeaderSize + relay_user_info_id.size() + relay_certificate_size +
         kSignatureSize;
}

Bytes encode_reject(const DirectCommunicationReject& r) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(MessageType::kDirectCommunicationReject));
  put_ie(w, Iei::kRequestDigest, r.request_digest);
  const auto cause = static_cast<std::uint8_t>(r.cause);
  put_ie(w, Iei::kCause, ByteView(&cause, 1));
  const auto by = static_cast<std::uint8_t>(r.rejected_by);
  put_ie(w, Iei::kRejectedBy, ByteView(&by, 1));
  return w.take();
}

Bytes encode(const Body& body) {
  struct Visitor {
    Bytes operator()(const DirectCommunicationRequest& r) const {
      Bytes m = encode_request_unsigned(r);
      append_signature(m, Iei::kSignSource, r.sign_source);
      if (r.relay) {
        append_relay_identity(m, r.relay->user_info_id, r.relay->certificate);
        append_signature(m, Iei::kSign1Relay, r.relay->signature);
      }
      return m;
    }
    Bytes operator()(const DirectCommunicationAccept& a) const {
      Bytes m = encode_accept_unsigned(a);
      append_mac(m, a.key_confirmation_mac);
      append_signature(m, Iei::kSignTarget, a.sign_target);
      if (a.relay) {
        append_relay_identity(m, a.relay->user_info_id, a.relay->certificate);
        append_signature(m, Iei::kSign2Relay, a.relay->signature);
      }
      return m;
    }
    Bytes operator()(const DirectCommunicationReject& r) const { return encode_reject(r); }
    Bytes operator()(const LinkMessage& link) const {
      Bytes m = encode_link_message_unsigned(link);
      append_mac(m, link.mac);
      return m;
    }
  };
  return std::visit(Visitor{}, body);
}

Bytes encode_datagram(Layer2Id source, Layer2Id destination, ByteView message) {
  Writer w;
  w.u8(kProtocolVersion);
  w.u24(source & kLayer2IdMax);
  w.u24(destination & kLayer2IdMax);
  w.bytes(message);
  return w.take();
}

}  // namespace u2u::wire
