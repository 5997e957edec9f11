// The PC5 signalling codec (lib/wire): round trips, and every way decode_message / decode_datagram must refuse
// input (truncation, trailing bytes, duplicate, reordered or unknown IEs, IE length bounds, incomplete relay
// Authentication_Info, oversize, wrong version or type). Every refusal must carry cause #111.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "wire/messages.hpp"

namespace u2u::test {
namespace {

using wire::Iei;
using wire::MessageType;

// ---------------------------------------------------------------------------------------------------------------
// Sample messages, with every field distinct so that a swapped or shifted field shows.

template <std::size_t N>
std::array<std::uint8_t, N> counting(std::uint8_t first) {
  std::array<std::uint8_t, N> out{};
  std::iota(out.begin(), out.end(), first);
  return out;
}

Bytes counting_bytes(std::size_t size, std::uint8_t first) {
  Bytes out(size);
  std::iota(out.begin(), out.end(), first);
  return out;
}

wire::RelayAuthInfo sample_relay(std::uint8_t signature_seed) {
  return {"relay-ue", counting_bytes(90, 0x30), counting<wire::kSignatureSize>(signature_seed)};
}

wire::DirectCommunicationRequest sample_request(bool relayed) {
  wire::DirectCommunicationRequest r;
  r.source_user_info_id = "source-ue";
  r.target_user_info_id = "target-ue";
  r.target_layer2_id = 0xA1B2C3;
  r.nonce_1 = counting<wire::kNonceSize>(0x10);
  r.source_certificate = counting_bytes(100, 0x90);
  r.sign_source = counting<wire::kSignatureSize>(0x40);
  if (relayed) r.relay = sample_relay(0x80);
  return r;
}

wire::DirectCommunicationAccept sample_accept(bool relayed) {
  wire::DirectCommunicationAccept a;
  a.target_user_info_id = "target-ue";
  a.request_digest = counting<wire::kDigestSize>(0xD0);
  a.nonce_2 = counting<wire::kNonceSize>(0x20);
  a.target_certificate = counting_bytes(110, 0x05);
  a.sign_target = counting<wire::kSignatureSize>(0x60);
  if (relayed) a.relay = sample_relay(0xA0);
  return a;
}

wire::DirectCommunicationReject sample_reject() {
  return {counting<wire::kDigestSize>(0xB0), Cause::kAuthenticationFailure, wire::RejectedBy::kTarget};
}

// ---------------------------------------------------------------------------------------------------------------
// An independent model of the layout (docs/protocol.md section 3): type octet, then IEI (1) || length (2, big-endian)
// || value for each IE. Tests build malformed messages by editing the IE list.

struct RawIe {
  std::uint8_t iei = 0;
  Bytes value;
};

struct RawMessage {
  std::uint8_t type = 0;
  std::vector<RawIe> ies;
};

RawIe ie(std::uint8_t iei, ByteView value) { return {iei, Bytes(value.begin(), value.end())}; }
RawIe ie(Iei iei, ByteView value) { return ie(static_cast<std::uint8_t>(iei), value); }

Bytes serialize_ie(const RawIe& e) {
  Bytes out{e.iei, static_cast<std::uint8_t>(e.value.size() >> 8), static_cast<std::uint8_t>(e.value.size())};
  append(out, e.value);
  return out;
}

Bytes serialize(const RawMessage& m) {
  Bytes out{m.type};
  for (const auto& e : m.ies) append(out, serialize_ie(e));
  return out;
}

void add_relay_ies(RawMessage& m, const wire::RelayAuthInfo& relay, Iei signature_iei) {
  m.ies.push_back(ie(Iei::kRelayUserInfoId, as_bytes(relay.user_info_id)));
  m.ies.push_back(ie(Iei::kRelayCertificate, relay.certificate));
  m.ies.push_back(ie(signature_iei, relay.signature));
}

RawMessage raw_request(const wire::DirectCommunicationRequest& r) {
  const std::array<std::uint8_t, 3> l2{static_cast<std::uint8_t>(r.target_layer2_id >> 16),
                                       static_cast<std::uint8_t>(r.target_layer2_id >> 8),
                                       static_cast<std::uint8_t>(r.target_layer2_id)};
  RawMessage m{0x01,
               {ie(Iei::kSourceUserInfoId, as_bytes(r.source_user_info_id)),
                ie(Iei::kTargetUserInfoId, as_bytes(r.target_user_info_id)), ie(Iei::kTargetLayer2Id, l2),
                ie(Iei::kNonce1, r.nonce_1), ie(Iei::kSourceCertificate, r.source_certificate),
                ie(Iei::kSignSource, r.sign_source)}};
  if (r.relay) add_relay_ies(m, *r.relay, Iei::kSign1Relay);
  return m;
}

RawMessage raw_accept(const wire::DirectCommunicationAccept& a) {
  RawMessage m{0x02,
               {ie(Iei::kTargetUserInfoId, as_bytes(a.target_user_info_id)), ie(Iei::kRequestDigest, a.request_digest),
                ie(Iei::kNonce2, a.nonce_2), ie(Iei::kTargetCertificate, a.target_certificate),
                ie(Iei::kSignTarget, a.sign_target)}};
  if (a.relay) add_relay_ies(m, *a.relay, Iei::kSign2Relay);
  return m;
}

RawMessage raw_reject(const wire::DirectCommunicationReject& r) {
  const auto cause = static_cast<std::uint8_t>(r.cause);
  const auto by = static_cast<std::uint8_t>(r.rejected_by);
  return {0x03,
          {ie(Iei::kRequestDigest, r.request_digest), ie(Iei::kCause, ByteView(&cause, 1)),
           ie(Iei::kRejectedBy, ByteView(&by, 1))}};
}

// Every message kind, as a struct and as its IE list.
struct Kind {
  std::string name;
  wire::Body body;
  RawMessage raw;
  bool relayed = false;
  bool signed_message = true;  // false for the REJECT, which carries no signature
};

std::vector<Kind> all_kinds() {
  return {
      {"request", sample_request(false), raw_request(sample_request(false)), false, true},
      {"relayed request", sample_request(true), raw_request(sample_request(true)), true, true},
      {"accept", sample_accept(false), raw_accept(sample_accept(false)), false, true},
      {"relayed accept", sample_accept(true), raw_accept(sample_accept(true)), true, true},
      {"reject", sample_reject(), raw_reject(sample_reject()), false, false},
  };
}

// The body with the relay's Authentication_Info removed: what the originator sent.
wire::Body without_relay(wire::Body body) {
  if (auto* r = std::get_if<wire::DirectCommunicationRequest>(&body)) r->relay.reset();
  if (auto* a = std::get_if<wire::DirectCommunicationAccept>(&body)) a->relay.reset();
  return body;
}

// ---------------------------------------------------------------------------------------------------------------
// Assertions on refusals: cause #111, check "decode", and a reason naming the rule that fired.

::testing::AssertionResult is_decode_error(const Error& e, std::string_view because) {
  if (e.cause != Cause::kProtocolErrorUnspecified) {
    return ::testing::AssertionFailure() << "cause " << static_cast<int>(e.cause) << " instead of #111 (" << e.reason
                                         << ")";
  }
  if (e.check != "decode") return ::testing::AssertionFailure() << "check \"" << e.check << "\" instead of decode";
  if (e.reason.find(because) == std::string::npos) {
    return ::testing::AssertionFailure() << "reason \"" << e.reason << "\" does not say \"" << because << "\"";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult message_refused(ByteView bytes, std::string_view because = "") {
  auto m = wire::decode_message(bytes);
  if (m.ok()) return ::testing::AssertionFailure() << "a message of " << bytes.size() << " octets decoded";
  return is_decode_error(m.error(), because);
}

::testing::AssertionResult datagram_refused(ByteView bytes, std::string_view because = "") {
  auto d = wire::decode_datagram(bytes);
  if (d.ok()) return ::testing::AssertionFailure() << "a datagram of " << bytes.size() << " octets decoded";
  return is_decode_error(d.error(), because);
}

::testing::AssertionResult message_decodes_to(ByteView bytes, const wire::Body& expected) {
  auto m = wire::decode_message(bytes);
  if (!m.ok()) return ::testing::AssertionFailure() << "refused: " << m.error().reason;
  if (!(m->body == expected)) return ::testing::AssertionFailure() << "decoded to a different message";
  if (!std::equal(m->bytes.begin(), m->bytes.end(), bytes.begin(), bytes.end())) {
    return ::testing::AssertionFailure() << "Message::bytes differ from the input";
  }
  return ::testing::AssertionSuccess();
}

// An unknown IE with the comprehension-not-required bit: skipped by the decoder.
RawIe ignorable_ie(std::uint8_t iei = 0xF0) { return ie(iei, Bytes{0xDE, 0xAD}); }

std::size_t final_signature_index(const Kind& kind) { return kind.raw.ies.size() - 1; }

// ---------------------------------------------------------------------------------------------------------------
// Round trips

TEST(WireRoundTrip, EncoderWritesTheDocumentedIeLayoutForEveryMessageKind) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    EXPECT_EQ(wire::encode(kind.body), serialize(kind.raw));
  }
}

TEST(WireRoundTrip, RejectEncodesToTheExactBytesOfTheLayout) {
  Bytes expected{0x03, 0x07, 0x00, 0x20};
  append(expected, counting<32>(0xB0));
  append(expected, Bytes{0x0B, 0x00, 0x01, 0x06, 0x0C, 0x00, 0x01, 0x02});
  EXPECT_EQ(wire::encode_reject(sample_reject()), expected);
}

void expect_round_trip(const wire::Body& body, MessageType type) {
  const Bytes bytes = wire::encode(body);
  auto m = wire::decode_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().reason;
  EXPECT_EQ(m->type(), type);
  EXPECT_TRUE(m->body == body);
  EXPECT_EQ(m->bytes, bytes);
  EXPECT_EQ(wire::encode(m->body), bytes);
}

TEST(WireRoundTrip, RequestAsSentBySourceDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_request(false), MessageType::kDirectCommunicationRequest);
}

TEST(WireRoundTrip, RequestWithRelayAuthInfoDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_request(true), MessageType::kDirectCommunicationRequest);
}

TEST(WireRoundTrip, AcceptAsSentByTargetDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_accept(false), MessageType::kDirectCommunicationAccept);
}

TEST(WireRoundTrip, AcceptWithRelayAuthInfoDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_accept(true), MessageType::kDirectCommunicationAccept);
}

TEST(WireRoundTrip, RejectDecodesToTheSameStructAndReencodesIdentically) {
  for (auto by : {wire::RejectedBy::kRelay, wire::RejectedBy::kTarget, wire::RejectedBy::kSource}) {
    auto reject = sample_reject();
    reject.rejected_by = by;
    expect_round_trip(reject, MessageType::kDirectCommunicationReject);
  }
}

TEST(WireRoundTrip, TargetLayer2IdKeepsAll24BitsIncludingTheExtremes) {
  for (wire::Layer2Id id : {0x000000u, 0x000001u, 0x800000u, 0xFFFFFFu}) {
    auto request = sample_request(false);
    request.target_layer2_id = id;
    expect_round_trip(request, MessageType::kDirectCommunicationRequest);
  }
}

TEST(WireRoundTrip, ProcedureBuildOrderProducesTheSameBytesAsWholeMessageEncoding) {
  // Source: unsigned request then SIGN-Source; relay: its User Info ID and certificate, then SIGN1-relay.
  const auto request = sample_request(true);
  Bytes built = wire::encode_request_unsigned(request);
  wire::append_signature(built, Iei::kSignSource, request.sign_source);
  wire::append_relay_identity(built, request.relay->user_info_id, request.relay->certificate);
  wire::append_signature(built, Iei::kSign1Relay, request.relay->signature);
  EXPECT_EQ(built, wire::encode(request));

  const auto accept = sample_accept(true);
  built = wire::encode_accept_unsigned(accept);
  wire::append_signature(built, Iei::kSignTarget, accept.sign_target);
  wire::append_relay_identity(built, accept.relay->user_info_id, accept.relay->certificate);
  wire::append_signature(built, Iei::kSign2Relay, accept.relay->signature);
  EXPECT_EQ(built, wire::encode(accept));
}

TEST(WireDatagram, HeaderIsVersionThenSourceAndDestination24BitBigEndian) {
  const Bytes message = wire::encode(sample_request(true));
  const Bytes datagram = wire::encode_datagram(0xABCDEF, 0x123456, message);
  ASSERT_EQ(datagram.size(), wire::kHeaderSize + message.size());
  EXPECT_EQ(Bytes(datagram.begin(), datagram.begin() + wire::kHeaderSize),
            (Bytes{0x01, 0xAB, 0xCD, 0xEF, 0x12, 0x34, 0x56}));
  EXPECT_TRUE(std::equal(message.begin(), message.end(), datagram.begin() + wire::kHeaderSize));

  auto d = wire::decode_datagram(datagram);
  ASSERT_TRUE(d.ok()) << d.error().reason;
  EXPECT_EQ(d->source, 0xABCDEFu);
  EXPECT_EQ(d->destination, 0x123456u);
  EXPECT_EQ(d->message.bytes, message);
  EXPECT_TRUE(d->message.body == wire::Body(sample_request(true)));
}

TEST(WireDatagram, ExtremeLayer2IdsRoundTrip) {
  const Bytes message = wire::encode(sample_reject());
  for (auto [source, destination] : {std::pair<wire::Layer2Id, wire::Layer2Id>{0x000000, 0xFFFFFF},
                                     std::pair<wire::Layer2Id, wire::Layer2Id>{0xFFFFFF, 0x000000}}) {
    auto d = wire::decode_datagram(wire::encode_datagram(source, destination, message));
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_EQ(d->source, source);
    EXPECT_EQ(d->destination, destination);
  }
}

TEST(WireDatagram, EncoderKeepsOnlyThe24BitsOfEachLayer2Id) {
  const Bytes datagram = wire::encode_datagram(0x7FABCDEF, 0xFF123456, wire::encode(sample_reject()));
  EXPECT_EQ(Bytes(datagram.begin(), datagram.begin() + wire::kHeaderSize),
            (Bytes{0x01, 0xAB, 0xCD, 0xEF, 0x12, 0x34, 0x56}));
}

TEST(WireDatagram, WrongProtocolVersionIsRefused) {
  Bytes datagram = wire::encode_datagram(1, 2, wire::encode(sample_request(false)));
  for (std::uint8_t version : Bytes{0x00, 0x02, 0x81, 0xFF}) {
    SCOPED_TRACE(static_cast<int>(version));
    datagram[0] = version;
    EXPECT_TRUE(datagram_refused(datagram, "unsupported protocol version"));
  }
}

TEST(WireDatagram, HeaderWithoutAMessageIsRefused) {
  EXPECT_TRUE(datagram_refused(wire::encode_datagram(1, 2, {}), "empty message"));
}

// ---------------------------------------------------------------------------------------------------------------
// Truncation

TEST(WireTruncation, EveryPrefixOfAnUnrelayedMessageIsRefused) {
  for (const auto& kind : all_kinds()) {
    if (kind.relayed) continue;
    SCOPED_TRACE(kind.name);
    const Bytes bytes = serialize(kind.raw);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_TRUE(message_refused(ByteView(bytes).first(size))) << "prefix of " << size << " octets";
    }
  }
}

// The relay appends its Authentication_Info to the originator's message unchanged, so the one prefix that ends
// right after SIGN-Source / SIGN-Target is, by design, a well-formed unrelayed message (and decodes as one, with
// no relay part). Every other prefix must be refused.
TEST(WireTruncation, EveryPrefixOfARelayedMessageIsRefusedExceptTheOriginatorsOwnMessage) {
  for (const auto& kind : all_kinds()) {
    if (!kind.relayed) continue;
    SCOPED_TRACE(kind.name);
    const Bytes bytes = serialize(kind.raw);
    const std::size_t originator_size = wire::encode(without_relay(kind.body)).size();
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      if (size == originator_size) {
        EXPECT_TRUE(message_decodes_to(ByteView(bytes).first(size), without_relay(kind.body)));
      } else {
        EXPECT_TRUE(message_refused(ByteView(bytes).first(size))) << "prefix of " << size << " octets";
      }
    }
  }
}

TEST(WireTruncation, EveryPrefixOfADatagramIsRefused) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    const Bytes datagram = wire::encode_datagram(0x010203, 0x040506, serialize(kind.raw));
    const std::size_t originator_size = wire::kHeaderSize + wire::encode(without_relay(kind.body)).size();
    for (std::size_t size = 0; size < datagram.size(); ++size) {
      if (kind.relayed && size == originator_size) continue;  // the originator's datagram, see above
      EXPECT_TRUE(datagram_refused(ByteView(datagram).first(size))) << "prefix of " << size << " octets";
    }
    for (std::size_t size = 0; size < wire::kHeaderSize; ++size) {
      EXPECT_TRUE(datagram_refused(ByteView(datagram).first(size), "shorter than its header"));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Trailing bytes

TEST(WireTrailing, OneOrTwoOctetsAfterTheLastIeAreRefused) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    for (const Bytes& tail : {Bytes{0x00}, Bytes{0xF0, 0x00}}) {
      Bytes bytes = serialize(kind.raw);
      append(bytes, tail);
      EXPECT_TRUE(message_refused(bytes, "truncated IE header"));
    }
  }
}

TEST(WireTrailing, IgnorableUnknownIeAfterTheFinalSignatureIsRefusedAsTrailing) {
  for (const auto& kind : all_kinds()) {
    if (!kind.signed_message) continue;
    SCOPED_TRACE(kind.name);
    RawMessage raw = kind.raw;
    raw.ies.push_back(ignorable_ie());
    EXPECT_TRUE(message_refused(serialize(raw), "after the final signature"));
  }
}

TEST(WireTrailing, IgnorableUnknownIeAfterSignSourceOfAnUnrelayedRequestIsRefusedAsTrailing) {
  // Not covered by SIGN-Source and no relay signature follows: nothing would authenticate it.
  RawMessage raw = raw_request(sample_request(false));
  raw.ies.push_back(ignorable_ie(0xA0));
  EXPECT_TRUE(message_refused(serialize(raw), "5 octets after the final signature"));
}

// ---------------------------------------------------------------------------------------------------------------
// IE rules

TEST(WireDecode, DuplicateOfAnyIeIsRefused) {
  for (const auto& kind : all_kinds()) {
    for (std::size_t i = 0; i < kind.raw.ies.size(); ++i) {
      SCOPED_TRACE(kind.name + ", IE #" + std::to_string(i));
      RawMessage raw = kind.raw;
      raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(i) + 1, raw.ies[i]);
      EXPECT_TRUE(message_refused(serialize(raw), "duplicate IE"));
    }
  }
}

TEST(WireDecode, SwappingAnyTwoAdjacentIesIsRefusedAsOutOfOrder) {
  for (const auto& kind : all_kinds()) {
    for (std::size_t i = 0; i + 1 < kind.raw.ies.size(); ++i) {
      SCOPED_TRACE(kind.name + ", IEs #" + std::to_string(i) + " and #" + std::to_string(i + 1));
      RawMessage raw = kind.raw;
      std::swap(raw.ies[i], raw.ies[i + 1]);
      EXPECT_TRUE(message_refused(serialize(raw), "out of order"));
    }
  }
}

TEST(WireDecode, IesInReverseOrderAreRefused) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    RawMessage raw = kind.raw;
    std::reverse(raw.ies.begin(), raw.ies.end());
    EXPECT_TRUE(message_refused(serialize(raw), "out of order"));
  }
}

TEST(WireDecode, MissingMandatoryIeIsRefused) {
  for (const auto& kind : all_kinds()) {
    const std::size_t mandatory = kind.relayed ? kind.raw.ies.size() - 3 : kind.raw.ies.size();
    for (std::size_t i = 0; i < mandatory; ++i) {
      SCOPED_TRACE(kind.name + ", without IE #" + std::to_string(i));
      RawMessage raw = kind.raw;
      raw.ies.erase(raw.ies.begin() + static_cast<std::ptrdiff_t>(i));
      EXPECT_TRUE(message_refused(serialize(raw), "missing mandatory IE"));
    }
  }
}

TEST(WireDecode, UnknownComprehensionRequiredIeIsRefused) {
  // 0x07 and 0x0B are known IEIs, but not of a REQUEST: to the REQUEST they are unknown.
  for (std::uint8_t iei : Bytes{0x00, 0x07, 0x0B, 0x0D, 0x1F, 0x24, 0x7F}) {
    SCOPED_TRACE(static_cast<int>(iei));
    RawMessage raw = raw_request(sample_request(true));
    raw.ies.insert(raw.ies.begin() + 2, ie(iei, Bytes{0x01, 0x02, 0x03}));
    EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
  }
}

TEST(WireDecode, RelayIeInARejectIsRefusedAsUnknownComprehensionRequired) {
  // The REJECT schema has no relay group: a relay IE there is unknown and comprehension-required.
  RawMessage raw = raw_reject(sample_reject());
  raw.ies.push_back(ie(Iei::kRelayUserInfoId, as_bytes("relay-ue")));
  EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
}

TEST(WireDecode, IgnorableUnknownIeIsSkippedAtEveryPositionBeforeTheFinalSignature) {
  for (const auto& kind : all_kinds()) {
    // A REJECT has no signature: an ignorable IE may sit anywhere in it, the end included.
    const std::size_t last_position = kind.signed_message ? final_signature_index(kind) : kind.raw.ies.size();
    for (std::size_t position = 0; position <= last_position; ++position) {
      for (std::uint8_t iei : Bytes{0x80, 0xA2, 0xFF}) {
        SCOPED_TRACE(kind.name + ", before IE #" + std::to_string(position) + ", IEI " + std::to_string(iei));
        RawMessage raw = kind.raw;
        raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(position), ignorable_ie(iei));
        EXPECT_TRUE(message_decodes_to(serialize(raw), kind.body));
      }
    }
  }
}

TEST(WireDecode, SkippedIgnorableIeStaysInsideTheSignedBytes) {
  // An IE the receiver does not understand is still covered by the signature that follows it.
  RawMessage raw = raw_request(sample_request(true));
  raw.ies.insert(raw.ies.begin() + 3, ignorable_ie());      // among the source's IEs, before Nonce_1
  raw.ies.insert(raw.ies.begin() + 9, ignorable_ie(0x81));  // between the relay's certificate and SIGN1-relay
  ASSERT_EQ(raw.ies[10].iei, static_cast<std::uint8_t>(Iei::kSign1Relay));
  const Bytes bytes = serialize(raw);
  auto m = wire::decode_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().reason;
  Bytes covered_by_source;
  for (std::size_t i = 0; i < 6; ++i) append(covered_by_source, serialize_ie(raw.ies[i]));
  covered_by_source.insert(covered_by_source.begin(), 0x01);
  EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), covered_by_source));
  EXPECT_EQ(m->covered_by_relay_signature().size(), bytes.size() - (wire::kIeHeaderSize + wire::kSignatureSize));
}

// ---------------------------------------------------------------------------------------------------------------
// IE length bounds

struct Bounds {
  std::size_t min = 0;
  std::size_t max = 0;
  std::uint8_t fill = 0;  // a valid octet for the IE
};

// The bounds of docs/protocol.md section 3, from the codec's own constants (wire/constants.hpp).
Bounds bounds_of(std::uint8_t iei) {
  switch (static_cast<Iei>(iei)) {
    case Iei::kSourceUserInfoId:
    case Iei::kTargetUserInfoId:
    case Iei::kRelayUserInfoId: return {wire::kUserInfoIdMinSize, wire::kUserInfoIdMaxSize, 'u'};
    case Iei::kSourceCertificate:
    case Iei::kTargetCertificate:
    case Iei::kRelayCertificate: return {1, wire::kCertificateMaxSize, 0x30};
    case Iei::kNonce1:
    case Iei::kNonce2: return {wire::kNonceSize, wire::kNonceSize, 0x5A};
    case Iei::kRequestDigest: return {wire::kDigestSize, wire::kDigestSize, 0x5A};
    case Iei::kSignSource:
    case Iei::kSignTarget:
    case Iei::kSign1Relay:
    case Iei::kSign2Relay: return {wire::kSignatureSize, wire::kSignatureSize, 0x5A};
    case Iei::kTargetLayer2Id: return {wire::kLayer2IdSize, wire::kLayer2IdSize, 0x5A};
    case Iei::kCause: return {1, 1, 0x06};
    case Iei::kRejectedBy: return {1, 1, 0x01};
  }
  return {};
}

TEST(WireDecode, IeBoundsAreTheOnesDocumentedInProtocolMdSection3) {
  EXPECT_EQ(wire::kUserInfoIdMinSize, 1u);
  EXPECT_EQ(wire::kUserInfoIdMaxSize, 64u);
  EXPECT_EQ(wire::kCertificateMaxSize, 480u);
  EXPECT_EQ(wire::kNonceSize, 16u);
  EXPECT_EQ(wire::kDigestSize, 32u);
  EXPECT_EQ(wire::kSignatureSize, 64u);
  EXPECT_EQ(wire::kLayer2IdSize, 3u);
  EXPECT_EQ(wire::kMaxDatagramSize, 1452u);
}

TEST(WireDecode, EveryIeLengthOutsideItsBoundsIsRefusedAndEveryBoundItselfAccepted) {
  for (const auto& kind : all_kinds()) {
    if (!kind.relayed && kind.signed_message) continue;  // the relayed forms hold every IE of the unrelayed ones
    for (std::size_t i = 0; i < kind.raw.ies.size(); ++i) {
      const Bounds b = bounds_of(kind.raw.ies[i].iei);
      ASSERT_GT(b.max, 0u) << "no bounds for IEI " << static_cast<int>(kind.raw.ies[i].iei);
      for (std::size_t size : {b.min - 1, b.max + 1}) {
        SCOPED_TRACE(kind.name + ", IE #" + std::to_string(i) + " of " + std::to_string(size) + " octets");
        RawMessage raw = kind.raw;
        raw.ies[i].value.assign(size, b.fill);
        EXPECT_TRUE(message_refused(serialize(raw), "has length " + std::to_string(size)));
      }
      for (std::size_t size : {b.min, b.max}) {
        SCOPED_TRACE(kind.name + ", IE #" + std::to_string(i) + " of " + std::to_string(size) + " octets");
        RawMessage raw = kind.raw;
        raw.ies[i].value.assign(size, b.fill);
        auto m = wire::decode_message(serialize(raw));
        EXPECT_TRUE(m.ok()) << m.error().reason;
      }
    }
  }
}

TEST(WireDecode, UserInfoIdOutsidePrintableAsciiWithoutSpaceIsRefused) {
  struct Where {
    std::string name;
    RawMessage raw;
    std::size_t index;
  };
  const std::vector<Where> ids = {
      {"source id", raw_request(sample_request(true)), 0},
      {"target id in request", raw_request(sample_request(true)), 1},
      {"relay id in request", raw_request(sample_request(true)), 6},
      {"target id in accept", raw_accept(sample_accept(true)), 0},
      {"relay id in accept", raw_accept(sample_accept(true)), 5},
  };
  for (const auto& where : ids) {
    for (std::uint8_t bad : Bytes{0x00, 0x1F, 0x20, 0x7F, 0x80, 0xFF}) {
      SCOPED_TRACE(where.name + ", octet " + std::to_string(bad));
      RawMessage raw = where.raw;
      raw.ies[where.index].value = Bytes{'u', 'e', bad, '1'};
      EXPECT_TRUE(message_refused(serialize(raw), "printable ASCII"));
    }
    SCOPED_TRACE(where.name + ", \"!~\"");
    RawMessage raw = where.raw;
    raw.ies[where.index].value = Bytes{'!', '~'};
    auto m = wire::decode_message(serialize(raw));
    EXPECT_TRUE(m.ok()) << m.error().reason;
  }
}

TEST(WireDecode, RejectedByOutside1To3IsRefused) {
  for (int value = 0; value <= 0xFF; ++value) {
    SCOPED_TRACE(value);
    RawMessage raw = raw_reject(sample_reject());
    raw.ies[2].value = Bytes{static_cast<std::uint8_t>(value)};
    if (value >= 1 && value <= 3) {
      auto m = wire::decode_message(serialize(raw));
      ASSERT_TRUE(m.ok()) << m.error().reason;
      EXPECT_EQ(static_cast<int>(std::get<wire::DirectCommunicationReject>(m->body).rejected_by), value);
    } else {
      EXPECT_TRUE(message_refused(serialize(raw), "unknown Rejected-by value"));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Relay Authentication_Info: all three IEs or none

TEST(WireDecode, IncompleteRelayAuthenticationInfoIsRefused) {
  for (const auto& kind : all_kinds()) {
    if (!kind.relayed) continue;
    const std::size_t first_relay = kind.raw.ies.size() - 3;
    // Each non-empty proper subset of {User Info ID, certificate, signature}, as a 3-bit mask.
    for (unsigned keep = 1; keep < 7; ++keep) {
      SCOPED_TRACE(kind.name + ", relay IEs kept (mask) " + std::to_string(keep));
      RawMessage raw = kind.raw;
      raw.ies.resize(first_relay);
      for (unsigned j = 0; j < 3; ++j) {
        if ((keep & (1u << j)) != 0) raw.ies.push_back(kind.raw.ies[first_relay + j]);
      }
      EXPECT_TRUE(message_refused(serialize(raw), "incomplete relay Authentication_Info"));
    }
  }
}

TEST(WireDecode, RelaySignatureOfTheOtherDirectionIsRefused) {
  // SIGN2-relay in a REQUEST (and SIGN1-relay in an ACCEPT) is no IE of that message.
  RawMessage request = raw_request(sample_request(true));
  request.ies.back().iei = static_cast<std::uint8_t>(Iei::kSign2Relay);
  EXPECT_TRUE(message_refused(serialize(request), "unknown comprehension-required IE"));
  RawMessage accept = raw_accept(sample_accept(true));
  accept.ies.back().iei = static_cast<std::uint8_t>(Iei::kSign1Relay);
  EXPECT_TRUE(message_refused(serialize(accept), "unknown comprehension-required IE"));
}

// ---------------------------------------------------------------------------------------------------------------
// Size, version, type

TEST(WireDecode, MessageOfExactlyTheMaximumSizeIsAcceptedAndOneOctetMoreRefused) {
  RawMessage raw = raw_request(sample_request(false));
  const std::size_t base = serialize(raw).size() + wire::kIeHeaderSize;
  ASSERT_LT(base, wire::kMaxDatagramSize);
  raw.ies.insert(raw.ies.begin() + 5, ie(0xFE, Bytes(wire::kMaxDatagramSize - base, 0x00)));
  ASSERT_EQ(serialize(raw).size(), wire::kMaxDatagramSize);
  EXPECT_TRUE(message_decodes_to(serialize(raw), sample_request(false)));

  raw.ies[5].value.push_back(0x00);
  ASSERT_EQ(serialize(raw).size(), wire::kMaxDatagramSize + 1);
  EXPECT_TRUE(message_refused(serialize(raw), "exceeds"));
}

void set_every_ie_to_its_maximum(wire::DirectCommunicationRequest& r) {
  r.source_user_info_id.assign(wire::kUserInfoIdMaxSize, 's');
  r.target_user_info_id.assign(wire::kUserInfoIdMaxSize, 't');
  r.source_certificate.assign(wire::kCertificateMaxSize, 0x30);
  r.relay->user_info_id.assign(wire::kUserInfoIdMaxSize, 'r');
  r.relay->certificate.assign(wire::kCertificateMaxSize, 0x30);
}

TEST(WireDatagram, RelayedRequestAndAcceptWithEveryIeAtItsMaximumFitOneDatagramAndDecode) {
  auto request = sample_request(true);
  set_every_ie_to_its_maximum(request);
  auto accept = sample_accept(true);
  accept.target_user_info_id.assign(wire::kUserInfoIdMaxSize, 't');
  accept.target_certificate.assign(wire::kCertificateMaxSize, 0x30);
  accept.relay->user_info_id.assign(wire::kUserInfoIdMaxSize, 'r');
  accept.relay->certificate.assign(wire::kCertificateMaxSize, 0x30);
  for (const wire::Body& body : {wire::Body(request), wire::Body(accept)}) {
    const Bytes datagram = wire::encode_datagram(1, 2, wire::encode(body));
    EXPECT_LE(datagram.size(), wire::kMaxDatagramSize);
    auto d = wire::decode_datagram(datagram);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_TRUE(d->message.body == body);
  }
  // docs/protocol.md section 2: 1334 and 1296 octets, as wire/constants.hpp computes them.
  EXPECT_EQ(wire::kHeaderSize + wire::encode(request).size(), 1334u);
  EXPECT_EQ(wire::kHeaderSize + wire::encode(accept).size(), 1296u);
  EXPECT_EQ(wire::kLargestRequest, 1334u);
  EXPECT_EQ(wire::kLargestAccept, 1296u);
}

TEST(WireDecode, LargestRelayedRequestPaddedPastTheLimitIsRefusedAsOversize) {
  auto request = sample_request(true);
  set_every_ie_to_its_maximum(request);
  RawMessage raw = raw_request(request);
  const std::size_t size = serialize(raw).size() + wire::kIeHeaderSize;
  ASSERT_LE(size, wire::kMaxDatagramSize);
  // An ignorable IE among the source's IEs, otherwise acceptable: only the size rule can refuse it.
  raw.ies.insert(raw.ies.begin() + 5, ie(0xFE, Bytes(wire::kMaxDatagramSize - size + 1, 0x00)));
  EXPECT_TRUE(message_refused(serialize(raw), "exceeds"));
}

TEST(WireDatagram, DatagramOfExactlyTheMaximumSizeIsAcceptedAndOneOctetMoreRefused) {
  RawMessage raw = raw_request(sample_request(false));
  const std::size_t base = wire::kHeaderSize + serialize(raw).size() + wire::kIeHeaderSize;
  raw.ies.insert(raw.ies.begin() + 5, ie(0xFE, Bytes(wire::kMaxDatagramSize - base, 0x00)));
  Bytes datagram = wire::encode_datagram(1, 2, serialize(raw));
  ASSERT_EQ(datagram.size(), wire::kMaxDatagramSize);
  auto d = wire::decode_datagram(datagram);
  EXPECT_TRUE(d.ok()) << d.error().reason;

  raw.ies[5].value.push_back(0x00);
  datagram = wire::encode_datagram(1, 2, serialize(raw));
  ASSERT_EQ(datagram.size(), wire::kMaxDatagramSize + 1);
  EXPECT_TRUE(datagram_refused(datagram, "exceeds"));
}

TEST(WireDecode, UnknownMessageTypeIsRefused) {
  for (std::uint8_t type : Bytes{0x00, 0x04, 0x05, 0x7F, 0x81, 0xFF}) {
    SCOPED_TRACE(static_cast<int>(type));
    RawMessage raw = raw_request(sample_request(false));
    raw.type = type;
    EXPECT_TRUE(message_refused(serialize(raw), "unknown message type"));
  }
}

TEST(WireDecode, IesOfOneMessageTypeUnderAnotherTypeOctetAreRefused) {
  RawMessage raw = raw_accept(sample_accept(false));
  raw.type = 0x01;  // an ACCEPT's IEs labelled as a REQUEST
  EXPECT_TRUE(message_refused(serialize(raw)));
  raw = raw_request(sample_request(false));
  raw.type = 0x03;
  EXPECT_TRUE(message_refused(serialize(raw)));
}

TEST(WireDecode, EmptyMessageIsRefused) { EXPECT_TRUE(message_refused({}, "empty message")); }

// ---------------------------------------------------------------------------------------------------------------
// What each signature covers

TEST(WireMessage, RequestFirstSignatureCoversEverythingBeforeSignSourceAndOriginatorPartEndsAfterIt) {
  for (bool relayed : {false, true}) {
    SCOPED_TRACE(relayed ? "relayed" : "from source");
    const auto request = sample_request(relayed);
    auto m = wire::decode_message(wire::encode(request));
    ASSERT_TRUE(m.ok()) << m.error().reason;
    ASSERT_LT(m->first_signature_offset, m->bytes.size());
    EXPECT_EQ(m->bytes[m->first_signature_offset], static_cast<std::uint8_t>(Iei::kSignSource));
    EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), wire::encode_request_unsigned(request)));
    EXPECT_EQ(m->first_signature_end, m->first_signature_offset + wire::kIeHeaderSize + wire::kSignatureSize);
    EXPECT_TRUE(std::ranges::equal(m->originator_part(), wire::encode(sample_request(false))));
  }
}

TEST(WireMessage, AcceptFirstSignatureCoversEverythingBeforeSignTargetAndOriginatorPartEndsAfterIt) {
  for (bool relayed : {false, true}) {
    SCOPED_TRACE(relayed ? "relayed" : "from target");
    const auto accept = sample_accept(relayed);
    auto m = wire::decode_message(wire::encode(accept));
    ASSERT_TRUE(m.ok()) << m.error().reason;
    ASSERT_LT(m->first_signature_offset, m->bytes.size());
    EXPECT_EQ(m->bytes[m->first_signature_offset], static_cast<std::uint8_t>(Iei::kSignTarget));
    EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), wire::encode_accept_unsigned(accept)));
    EXPECT_EQ(m->first_signature_end, m->first_signature_offset + wire::kIeHeaderSize + wire::kSignatureSize);
    EXPECT_TRUE(std::ranges::equal(m->originator_part(), wire::encode(sample_accept(false))));
  }
}

void expect_relay_signature_covers_identity(const wire::Body& body, const wire::RelayAuthInfo& relay,
                                            Iei relay_signature_iei) {
  auto m = wire::decode_message(wire::encode(body));
  ASSERT_TRUE(m.ok()) << m.error().reason;
  // originator's message || Relay User Info ID IE || Relay certificate IE, then the relay's signature IE ends it.
  Bytes expected(m->originator_part().begin(), m->originator_part().end());
  append(expected, serialize_ie(ie(Iei::kRelayUserInfoId, as_bytes(relay.user_info_id))));
  append(expected, serialize_ie(ie(Iei::kRelayCertificate, relay.certificate)));
  EXPECT_TRUE(std::ranges::equal(m->covered_by_relay_signature(), expected));
  ASSERT_LT(m->relay_signature_offset, m->bytes.size());
  EXPECT_EQ(m->bytes[m->relay_signature_offset], static_cast<std::uint8_t>(relay_signature_iei));
  EXPECT_EQ(m->relay_signature_offset + wire::kIeHeaderSize + wire::kSignatureSize, m->bytes.size());
}

TEST(WireMessage, Sign1RelayCoversTheWholeRequestPlusTheRelaysUserInfoIdAndCertificate) {
  const auto request = sample_request(true);
  expect_relay_signature_covers_identity(request, *request.relay, Iei::kSign1Relay);
}

TEST(WireMessage, Sign2RelayCoversTheWholeAcceptPlusTheRelaysUserInfoIdAndCertificate) {
  const auto accept = sample_accept(true);
  expect_relay_signature_covers_identity(accept, *accept.relay, Iei::kSign2Relay);
}

TEST(WireMessage, UnrelayedMessagesHaveNoRelaySignatureCoverage) {
  for (const wire::Body& body : {wire::Body(sample_request(false)), wire::Body(sample_accept(false))}) {
    auto m = wire::decode_message(wire::encode(body));
    ASSERT_TRUE(m.ok()) << m.error().reason;
    EXPECT_EQ(m->relay_signature_offset, 0u);
    EXPECT_TRUE(m->covered_by_relay_signature().empty());
    EXPECT_EQ(m->first_signature_end, m->bytes.size());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cause values

TEST(WireCause, CauseFromWireKeepsKnownCausesAndMapsEveryOtherValueTo111) {
  const std::vector<int> known = {1, 2, 5, 6, 7, 13, 111};
  for (int value = 0; value <= 0xFF; ++value) {
    SCOPED_TRACE(value);
    const Cause cause = cause_from_wire(static_cast<std::uint8_t>(value));
    if (std::find(known.begin(), known.end(), value) != known.end()) {
      EXPECT_EQ(static_cast<int>(cause), value);
    } else {
      EXPECT_EQ(cause, Cause::kProtocolErrorUnspecified);
    }
  }
}

TEST(WireCause, RejectCarryingAnUnknownCauseValueDecodesAsCause111) {
  for (std::uint8_t value : Bytes{0x00, 0x03, 0x63, 0xFF}) {
    SCOPED_TRACE(static_cast<int>(value));
    RawMessage raw = raw_reject(sample_reject());
    raw.ies[1].value = Bytes{value};
    auto m = wire::decode_message(serialize(raw));
    ASSERT_TRUE(m.ok()) << m.error().reason;
    EXPECT_EQ(std::get<wire::DirectCommunicationReject>(m->body).cause, Cause::kProtocolErrorUnspecified);
  }
}

}  // namespace
}  // namespace u2u::test
