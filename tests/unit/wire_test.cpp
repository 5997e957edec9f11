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

// An uncompressed P-256 point as the wire carries it: 0x04 || X || Y (the codec checks only the length).
wire::EphemeralKey sample_ephemeral_key(std::uint8_t first) {
  auto key = counting<wire::kEphemeralKeySize>(first);
  key[0] = 0x04;
  return key;
}

wire::RelayAuthInfo sample_relay(std::uint8_t signature_seed) {
  return {"relay-ue", counting_bytes(90, 0x30), counting<wire::kSignatureSize>(signature_seed)};
}

// `ephemeral`: with the forward secrecy option's Source ephemeral public key (optional IE 0x0E).
wire::DirectCommunicationRequest sample_request(bool relayed, bool ephemeral = false) {
  wire::DirectCommunicationRequest r;
  r.source_user_info_id = "source-ue";
  r.target_user_info_id = "target-ue";
  r.target_layer2_id = 0xA1B2C3;
  r.selected_relay_user_info_id = "relay-ue";
  r.data_suites = {0x02, 0x01};
  r.nonce_1 = counting<wire::kNonceSize>(0x10);
  if (ephemeral) r.source_ephemeral_key = sample_ephemeral_key(0xC1);
  r.source_certificate = counting_bytes(100, 0x90);
  r.sign_source = counting<wire::kSignatureSize>(0x40);
  if (relayed) r.relay = sample_relay(0x80);
  return r;
}

// `ephemeral`: with the Target ephemeral public key (optional IE 0x0F).
wire::DirectCommunicationAccept sample_accept(bool relayed, bool ephemeral = false) {
  wire::DirectCommunicationAccept a;
  a.target_user_info_id = "target-ue";
  a.request_digest = counting<wire::kDigestSize>(0xD0);
  a.relay_certificate_digest = counting<wire::kDigestSize>(0xC0);
  a.data_suite = 0x02;
  a.nonce_2 = counting<wire::kNonceSize>(0x20);
  if (ephemeral) a.target_ephemeral_key = sample_ephemeral_key(0x71);
  a.target_certificate = counting_bytes(110, 0x05);
  a.key_confirmation_mac = counting<wire::kMacSize>(0xE3);
  a.sign_target = counting<wire::kSignatureSize>(0x60);
  if (relayed) a.relay = sample_relay(0xA0);
  return a;
}

wire::DirectCommunicationReject sample_reject() {
  return {counting<wire::kDigestSize>(0xB0), Cause::kAuthenticationFailure, wire::RejectedBy::kTarget};
}

wire::LinkMessage sample_link_confirm() {
  return {
      MessageType::kLinkConfirm, counting<wire::kDigestSize>(0xC8), {}, {}, counting<wire::kMacSize>(0x37), {}, {}, {}};
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

// The type octet and the IEs before `end` (an index into m.ies), serialized.
Bytes serialize_first(const RawMessage& m, std::size_t end) {
  RawMessage prefix = m;
  prefix.ies.resize(end);
  return serialize(prefix);
}

// Where an IE sits in the list; ies.size() when absent.
std::size_t index_of(const RawMessage& m, Iei iei) {
  const auto it =
      std::find_if(m.ies.begin(), m.ies.end(), [&](const RawIe& e) { return e.iei == static_cast<std::uint8_t>(iei); });
  return static_cast<std::size_t>(it - m.ies.begin());
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
                ie(Iei::kSelectedRelayUserInfoId, as_bytes(r.selected_relay_user_info_id)),
                ie(Iei::kDataSuitesOffered, r.data_suites), ie(Iei::kNonce1, r.nonce_1)}};
  if (r.source_ephemeral_key) m.ies.push_back(ie(Iei::kSourceEphemeralKey, *r.source_ephemeral_key));
  m.ies.push_back(ie(Iei::kSourceCertificate, r.source_certificate));
  m.ies.push_back(ie(Iei::kSignSource, r.sign_source));
  if (r.relay) add_relay_ies(m, *r.relay, Iei::kSign1Relay);
  return m;
}

RawMessage raw_accept(const wire::DirectCommunicationAccept& a) {
  RawMessage m{0x02,
               {ie(Iei::kTargetUserInfoId, as_bytes(a.target_user_info_id)), ie(Iei::kRequestDigest, a.request_digest),
                ie(Iei::kRelayCertificateDigest, a.relay_certificate_digest),
                ie(Iei::kDataSuiteChosen, ByteView(&a.data_suite, 1)), ie(Iei::kNonce2, a.nonce_2)}};
  if (a.target_ephemeral_key) m.ies.push_back(ie(Iei::kTargetEphemeralKey, *a.target_ephemeral_key));
  m.ies.push_back(ie(Iei::kTargetCertificate, a.target_certificate));
  m.ies.push_back(ie(Iei::kKeyConfirmationMac, a.key_confirmation_mac));
  m.ies.push_back(ie(Iei::kSignTarget, a.sign_target));
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

RawMessage raw_link_confirm(const wire::LinkMessage& c) {
  return {0x0E, {ie(Iei::kRequestDigest, c.request_digest), ie(Iei::kKeyConfirmationMac, c.mac)}};
}

// Every message kind, as a struct and as its IE list.
struct Kind {
  std::string name;
  wire::Body body;
  RawMessage raw;
  bool relayed = false;
  // false for the REJECT, which carries neither a signature nor a MAC; in every other kind nothing may follow the
  // final signature (or, in a LINK CONFIRM, the Key confirmation MAC).
  bool authenticated = true;
  bool complete = false;  // holds every IE its message type knows (optional and relay IEs included)
};

std::vector<Kind> all_kinds() {
  std::vector<Kind> kinds;
  for (bool ephemeral : {false, true}) {
    const std::string with = ephemeral ? " with ephemeral key" : "";
    kinds.push_back({"request" + with, sample_request(false, ephemeral), raw_request(sample_request(false, ephemeral)),
                     false, true, false});
    kinds.push_back({"relayed request" + with, sample_request(true, ephemeral),
                     raw_request(sample_request(true, ephemeral)), true, true, ephemeral});
    kinds.push_back({"accept" + with, sample_accept(false, ephemeral), raw_accept(sample_accept(false, ephemeral)),
                     false, true, false});
    kinds.push_back({"relayed accept" + with, sample_accept(true, ephemeral),
                     raw_accept(sample_accept(true, ephemeral)), true, true, ephemeral});
  }
  kinds.push_back({"reject", sample_reject(), raw_reject(sample_reject()), false, false, true});
  kinds.push_back({"link confirm", sample_link_confirm(), raw_link_confirm(sample_link_confirm()), false, true, true});
  return kinds;
}

// The body with the relay's Authentication_Info removed: what the originator sent.
wire::Body without_relay(wire::Body body) {
  if (auto* r = std::get_if<wire::DirectCommunicationRequest>(&body)) r->relay.reset();
  if (auto* a = std::get_if<wire::DirectCommunicationAccept>(&body)) a->relay.reset();
  return body;
}

// The body without its (optional) ephemeral public key.
wire::Body without_ephemeral_key(wire::Body body) {
  if (auto* r = std::get_if<wire::DirectCommunicationRequest>(&body)) r->source_ephemeral_key.reset();
  if (auto* a = std::get_if<wire::DirectCommunicationAccept>(&body)) a->target_ephemeral_key.reset();
  return body;
}

// The optional IEs (schema group 2): the forward secrecy option's ephemeral public keys.
bool is_optional(std::uint8_t iei) {
  return iei == static_cast<std::uint8_t>(Iei::kSourceEphemeralKey) ||
         iei == static_cast<std::uint8_t>(Iei::kTargetEphemeralKey);
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

// The IE nothing may follow: the last signature, or a LINK CONFIRM's Key confirmation MAC.
std::size_t final_authenticator_index(const Kind& kind) { return kind.raw.ies.size() - 1; }

// ---------------------------------------------------------------------------------------------------------------
// Round trips

TEST(WireRoundTrip, EncoderWritesTheDocumentedIeLayoutForEveryMessageKind) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    EXPECT_EQ(wire::encode(kind.body), serialize(kind.raw));
  }
}

TEST(WireRoundTrip, MessageTypesAndIeisHaveTheirDocumentedValues) {
  EXPECT_EQ(static_cast<int>(MessageType::kDirectCommunicationRequest), 0x01);
  EXPECT_EQ(static_cast<int>(MessageType::kDirectCommunicationAccept), 0x02);
  EXPECT_EQ(static_cast<int>(MessageType::kDirectCommunicationReject), 0x03);
  EXPECT_EQ(static_cast<int>(MessageType::kLinkConfirm), 0x0E);
  const std::vector<std::pair<Iei, int>> ieis = {
      {Iei::kSourceUserInfoId, 0x01},
      {Iei::kTargetUserInfoId, 0x02},
      {Iei::kTargetLayer2Id, 0x03},
      {Iei::kNonce1, 0x04},
      {Iei::kSourceCertificate, 0x05},
      {Iei::kSignSource, 0x06},
      {Iei::kRequestDigest, 0x07},
      {Iei::kNonce2, 0x08},
      {Iei::kTargetCertificate, 0x09},
      {Iei::kSignTarget, 0x0A},
      {Iei::kCause, 0x0B},
      {Iei::kRejectedBy, 0x0C},
      {Iei::kKeyConfirmationMac, 0x0D},
      {Iei::kSourceEphemeralKey, 0x0E},
      {Iei::kTargetEphemeralKey, 0x0F},
      {Iei::kRelayUserInfoId, 0x20},
      {Iei::kRelayCertificate, 0x21},
      {Iei::kSign1Relay, 0x22},
      {Iei::kSign2Relay, 0x23},
  };
  for (const auto& [iei, value] : ieis) {
    SCOPED_TRACE(std::string(wire::iei_name(static_cast<std::uint8_t>(iei))));
    EXPECT_EQ(static_cast<int>(iei), value);
    // Every known IE is comprehension-required: an unknown one with bit 8 clear is refused, not skipped.
    EXPECT_EQ(static_cast<int>(iei) & wire::kIeiComprehensionNotRequired, 0);
  }
}

TEST(WireRoundTrip, RejectEncodesToTheExactBytesOfTheLayout) {
  Bytes expected{0x03, 0x07, 0x00, 0x20};
  append(expected, counting<32>(0xB0));
  append(expected, Bytes{0x0B, 0x00, 0x01, 0x06, 0x0C, 0x00, 0x01, 0x02});
  EXPECT_EQ(wire::encode_reject(sample_reject()), expected);
}

TEST(WireRoundTrip, LinkConfirmEncodesToTheExactBytesOfTheLayout) {
  // 0x0E || Request digest IE (0x07, 32) || Key confirmation MAC IE (0x0D, 32), nothing else.
  Bytes expected{0x0E, 0x07, 0x00, 0x20};
  append(expected, counting<32>(0xC8));
  append(expected, Bytes{0x0D, 0x00, 0x20});
  append(expected, counting<32>(0x37));
  EXPECT_EQ(wire::encode(sample_link_confirm()), expected);
  EXPECT_EQ(expected.size(), 1u + 2 * (wire::kIeHeaderSize + 32));
}

TEST(WireRoundTrip, EphemeralKeyAndMacIesHaveTheirDocumentedHeaders) {
  // Source ephemeral public key: 0x0E, 65 octets, right after Nonce_1 (itself 0x04, 16 octets).
  const auto request = sample_request(false, true);
  const Bytes without_key = wire::encode_request_unsigned(sample_request(false, false));
  const Bytes bytes = wire::encode_request_unsigned(request);
  // 9-octet User Info IDs, an 8-octet selected relay, two suites offered.
  const std::size_t after_nonce = 1 + (3 + 9) + (3 + 9) + (3 + 3) + (3 + 8) + (3 + 2) + (3 + 16);
  ASSERT_EQ(bytes.size(), without_key.size() + 3 + 65);
  EXPECT_TRUE(std::equal(without_key.begin(), without_key.begin() + after_nonce, bytes.begin()));
  EXPECT_TRUE(std::equal(without_key.begin() + after_nonce, without_key.end(), bytes.begin() + after_nonce + 3 + 65));
  EXPECT_EQ(Bytes(bytes.begin() + after_nonce - 19, bytes.begin() + after_nonce - 16), (Bytes{0x04, 0x00, 0x10}));
  EXPECT_EQ(Bytes(bytes.begin() + after_nonce, bytes.begin() + after_nonce + 3), (Bytes{0x0E, 0x00, 0x41}));
  EXPECT_TRUE(std::equal(request.source_ephemeral_key->begin(), request.source_ephemeral_key->end(),
                         bytes.begin() + after_nonce + 3));
  EXPECT_EQ(bytes[after_nonce + 3 + 65], 0x05);  // Source UE certificate follows

  // Target ephemeral public key: 0x0F, 65 octets, right after Nonce_2 (0x08, 16 octets).
  const auto accept = sample_accept(false, true);
  const Bytes accept_bytes = wire::encode(accept);
  const std::size_t after_nonce_2 = 1 + (3 + 9) + (3 + 32) + (3 + 32) + (3 + 1) + (3 + 16);
  EXPECT_EQ(Bytes(accept_bytes.begin() + after_nonce_2 - 19, accept_bytes.begin() + after_nonce_2 - 16),
            (Bytes{0x08, 0x00, 0x10}));
  EXPECT_EQ(Bytes(accept_bytes.begin() + after_nonce_2, accept_bytes.begin() + after_nonce_2 + 3),
            (Bytes{0x0F, 0x00, 0x41}));
  EXPECT_EQ(accept_bytes[after_nonce_2 + 3 + 65], 0x09);  // Target UE certificate follows

  // Key confirmation MAC: 0x0D, 32 octets, between the Target UE certificate and SIGN-Target UE (0x0A, 64).
  const std::size_t mac = after_nonce_2 + (3 + 65) + (3 + 110);
  EXPECT_EQ(Bytes(accept_bytes.begin() + mac, accept_bytes.begin() + mac + 3), (Bytes{0x0D, 0x00, 0x20}));
  EXPECT_TRUE(std::equal(accept.key_confirmation_mac.begin(), accept.key_confirmation_mac.end(),
                         accept_bytes.begin() + mac + 3));
  EXPECT_EQ(Bytes(accept_bytes.begin() + mac + 35, accept_bytes.begin() + mac + 38), (Bytes{0x0A, 0x00, 0x40}));
  EXPECT_EQ(accept_bytes.size(), mac + 35 + 67);
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

TEST(WireRoundTrip, RequestWithSourceEphemeralKeyDecodesToTheSameStructAndReencodesIdentically) {
  for (bool relayed : {false, true}) {
    SCOPED_TRACE(relayed ? "relayed" : "from source");
    expect_round_trip(sample_request(relayed, true), MessageType::kDirectCommunicationRequest);
  }
}

TEST(WireRoundTrip, AcceptAsSentByTargetDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_accept(false), MessageType::kDirectCommunicationAccept);
}

TEST(WireRoundTrip, AcceptWithRelayAuthInfoDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_accept(true), MessageType::kDirectCommunicationAccept);
}

TEST(WireRoundTrip, AcceptWithTargetEphemeralKeyDecodesToTheSameStructAndReencodesIdentically) {
  for (bool relayed : {false, true}) {
    SCOPED_TRACE(relayed ? "relayed" : "from target");
    expect_round_trip(sample_accept(relayed, true), MessageType::kDirectCommunicationAccept);
  }
}

TEST(WireRoundTrip, RejectDecodesToTheSameStructAndReencodesIdentically) {
  for (auto by : {wire::RejectedBy::kRelay, wire::RejectedBy::kTarget, wire::RejectedBy::kSource}) {
    auto reject = sample_reject();
    reject.rejected_by = by;
    expect_round_trip(reject, MessageType::kDirectCommunicationReject);
  }
}

TEST(WireRoundTrip, LinkConfirmDecodesToTheSameStructAndReencodesIdentically) {
  expect_round_trip(sample_link_confirm(), MessageType::kLinkConfirm);
  // All-zero and all-ones values too: nothing in the digest or MAC is interpreted.
  expect_round_trip(wire::LinkMessage{}, MessageType::kLinkConfirm);
  wire::LinkMessage ones;
  ones.request_digest.fill(0xFF);
  ones.mac.fill(0xFF);
  expect_round_trip(ones, MessageType::kLinkConfirm);
}

TEST(WireRoundTrip, EphemeralKeyIsOptionalAndBothFormsDecodeToWhatWasSent) {
  for (bool relayed : {false, true}) {
    SCOPED_TRACE(relayed ? "relayed" : "unrelayed");
    for (bool ephemeral : {false, true}) {
      SCOPED_TRACE(ephemeral ? "with ephemeral key" : "without ephemeral key");
      auto request = wire::decode_message(wire::encode(sample_request(relayed, ephemeral)));
      ASSERT_TRUE(request.ok()) << request.error().reason;
      const auto& r = std::get<wire::DirectCommunicationRequest>(request->body);
      ASSERT_EQ(r.source_ephemeral_key.has_value(), ephemeral);
      if (ephemeral) {
        EXPECT_EQ(*r.source_ephemeral_key, sample_ephemeral_key(0xC1));
      }

      auto accept = wire::decode_message(wire::encode(sample_accept(relayed, ephemeral)));
      ASSERT_TRUE(accept.ok()) << accept.error().reason;
      const auto& a = std::get<wire::DirectCommunicationAccept>(accept->body);
      ASSERT_EQ(a.target_ephemeral_key.has_value(), ephemeral);
      if (ephemeral) {
        EXPECT_EQ(*a.target_ephemeral_key, sample_ephemeral_key(0x71));
      }
      EXPECT_EQ(a.key_confirmation_mac, counting<wire::kMacSize>(0xE3));
    }
    // The key adds exactly its IE (3 + 65 octets) and nothing else.
    EXPECT_EQ(wire::encode(sample_request(relayed, true)).size(),
              wire::encode(sample_request(relayed, false)).size() + wire::kEphemeralIe);
    EXPECT_EQ(wire::encode(sample_accept(relayed, true)).size(),
              wire::encode(sample_accept(relayed, false)).size() + wire::kEphemeralIe);
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
  for (bool ephemeral : {false, true}) {
    SCOPED_TRACE(ephemeral ? "with ephemeral keys" : "without ephemeral keys");
    // Source: unsigned request then SIGN-Source; relay: its User Info ID and certificate, then SIGN1-relay.
    const auto request = sample_request(true, ephemeral);
    Bytes built = wire::encode_request_unsigned(request);
    wire::append_signature(built, Iei::kSignSource, request.sign_source);
    wire::append_relay_identity(built, request.relay->user_info_id, request.relay->certificate);
    wire::append_signature(built, Iei::kSign1Relay, request.relay->signature);
    EXPECT_EQ(built, wire::encode(request));

    // Target: unsigned accept, then the Key confirmation MAC, then SIGN-Target; relay as above with SIGN2-relay.
    const auto accept = sample_accept(true, ephemeral);
    built = wire::encode_accept_unsigned(accept);
    wire::append_mac(built, accept.key_confirmation_mac);
    wire::append_signature(built, Iei::kSignTarget, accept.sign_target);
    wire::append_relay_identity(built, accept.relay->user_info_id, accept.relay->certificate);
    wire::append_signature(built, Iei::kSign2Relay, accept.relay->signature);
    EXPECT_EQ(built, wire::encode(accept));
  }

  // Source, after step 8: the Request digest, then the Key confirmation MAC over it.
  const auto confirm = sample_link_confirm();
  Bytes built = wire::encode_link_confirm_unsigned(confirm.request_digest);
  wire::append_mac(built, confirm.mac);
  EXPECT_EQ(built, wire::encode(confirm));
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

TEST(WireDatagram, EveryMessageKindRoundTripsThroughADatagram) {
  for (const auto& kind : all_kinds()) {
    SCOPED_TRACE(kind.name);
    auto d = wire::decode_datagram(wire::encode_datagram(0x0A0B0C, 0x0D0E0F, wire::encode(kind.body)));
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_EQ(d->source, 0x0A0B0Cu);
    EXPECT_EQ(d->destination, 0x0D0E0Fu);
    EXPECT_TRUE(d->message.body == kind.body);
    EXPECT_EQ(d->message.bytes, serialize(kind.raw));
  }
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

TEST(WireTruncation, LinkConfirmCutAtEveryOffsetIsRefusedWithTheRuleThatFired) {
  const Bytes bytes = wire::encode(sample_link_confirm());
  ASSERT_EQ(bytes.size(), 71u);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE("prefix of " + std::to_string(size) + " octets");
    std::string because;
    if (size == 0) {
      because = "empty message";
    } else if (size == 1 || size == 36) {
      because = "missing mandatory IE";  // ends on an IE boundary: nothing, or the digest only
    } else if (size < 4 || (size > 36 && size < 39)) {
      because = "truncated IE header";
    } else {
      because = "remain";  // the IE declares more octets than remain
    }
    EXPECT_TRUE(message_refused(ByteView(bytes).first(size), because));
  }
}

// The relay appends its Authentication_Info to the originator's message unchanged, so the one prefix that ends
// right after SIGN-Source / SIGN-Target is, by design, a well-formed unrelayed message (and decodes as one, with
// no relay part). Every other prefix must be refused: in an accept this includes the one that ends right after the
// Key confirmation MAC, SIGN-Target being mandatory.
TEST(WireTruncation, EveryPrefixOfARelayedMessageIsRefusedExceptTheOriginatorsOwnMessage) {
  for (const auto& kind : all_kinds()) {
    if (!kind.relayed) continue;
    SCOPED_TRACE(kind.name);
    const Bytes bytes = serialize(kind.raw);
    const std::size_t originator_size = wire::encode(without_relay(kind.body)).size();
    ASSERT_EQ(originator_size, serialize_first(kind.raw, kind.raw.ies.size() - 3).size());
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      if (size == originator_size) {
        EXPECT_TRUE(message_decodes_to(ByteView(bytes).first(size), without_relay(kind.body)));
      } else {
        EXPECT_TRUE(message_refused(ByteView(bytes).first(size))) << "prefix of " << size << " octets";
      }
    }
  }
}

TEST(WireTruncation, AcceptEndingAtTheMacOrBeforeItIsRefusedAsMissingAMandatoryIe) {
  for (bool ephemeral : {false, true}) {
    SCOPED_TRACE(ephemeral ? "with ephemeral key" : "without ephemeral key");
    const RawMessage raw = raw_accept(sample_accept(false, ephemeral));
    const std::size_t mac = index_of(raw, Iei::kKeyConfirmationMac);
    ASSERT_EQ(mac + 2, raw.ies.size());
    EXPECT_TRUE(message_refused(serialize_first(raw, mac + 1), "missing mandatory IE 0x0a (SIGN-Target UE)"));
    EXPECT_TRUE(message_refused(serialize_first(raw, mac), "missing mandatory IE 0x0d (Key confirmation MAC)"));
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
    if (!kind.authenticated) continue;
    SCOPED_TRACE(kind.name);
    RawMessage raw = kind.raw;
    raw.ies.push_back(ignorable_ie());
    EXPECT_TRUE(message_refused(serialize(raw), "5 octets after the final signature"));
  }
}

TEST(WireTrailing, IgnorableUnknownIeAfterSignSourceOfAnUnrelayedRequestIsRefusedAsTrailing) {
  // Not covered by SIGN-Source and no relay signature follows: nothing would authenticate it.
  RawMessage raw = raw_request(sample_request(false));
  raw.ies.push_back(ignorable_ie(0xA0));
  EXPECT_TRUE(message_refused(serialize(raw), "5 octets after the final signature"));
}

TEST(WireTrailing, AnythingAfterTheMacOfALinkConfirmIsRefused) {
  // Not covered by the MAC: an ignorable IE is trailing, a known or unknown comprehension-required IE is refused.
  RawMessage raw = raw_link_confirm(sample_link_confirm());
  raw.ies.push_back(ie(0x80, Bytes(7, 0x00)));
  EXPECT_TRUE(message_refused(serialize(raw), "LINK CONFIRM: 10 octets after the final signature"));
  for (Iei iei : {Iei::kSignSource, Iei::kSignTarget, Iei::kSign1Relay, Iei::kRelayUserInfoId}) {
    SCOPED_TRACE(std::string(wire::iei_name(static_cast<std::uint8_t>(iei))));
    raw = raw_link_confirm(sample_link_confirm());
    raw.ies.push_back(ie(iei, counting<wire::kSignatureSize>(0x00)));
    EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
  }
  raw = raw_link_confirm(sample_link_confirm());
  raw.ies.push_back(raw.ies.back());
  EXPECT_TRUE(message_refused(serialize(raw), "duplicate IE 0x0d (Key confirmation MAC)"));
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

TEST(WireDecode, MovingAnyIeToAnyOtherPositionIsRefusedAsOutOfOrder) {
  for (const auto& kind : all_kinds()) {
    for (std::size_t from = 0; from < kind.raw.ies.size(); ++from) {
      for (std::size_t to = 0; to < kind.raw.ies.size(); ++to) {
        if (to == from) continue;
        SCOPED_TRACE(kind.name + ", IE #" + std::to_string(from) + " moved to #" + std::to_string(to));
        RawMessage raw = kind.raw;
        const RawIe moved = raw.ies[from];
        raw.ies.erase(raw.ies.begin() + static_cast<std::ptrdiff_t>(from));
        raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(to), moved);
        EXPECT_TRUE(message_refused(serialize(raw), "out of order"));
      }
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
    const std::size_t originator_ies = kind.relayed ? kind.raw.ies.size() - 3 : kind.raw.ies.size();
    for (std::size_t i = 0; i < originator_ies; ++i) {
      if (is_optional(kind.raw.ies[i].iei)) continue;  // see EphemeralKeyLeftOutDecodesAsAbsent
      SCOPED_TRACE(kind.name + ", without IE #" + std::to_string(i));
      RawMessage raw = kind.raw;
      raw.ies.erase(raw.ies.begin() + static_cast<std::ptrdiff_t>(i));
      EXPECT_TRUE(message_refused(serialize(raw), "missing mandatory IE"));
    }
  }
}

TEST(WireDecode, EphemeralKeyLeftOutDecodesAsAbsent) {
  // The one optional IE of each signed message: the message without it is the message sent without the option.
  std::size_t checked = 0;
  for (const auto& kind : all_kinds()) {
    for (std::size_t i = 0; i < kind.raw.ies.size(); ++i) {
      if (!is_optional(kind.raw.ies[i].iei)) continue;
      SCOPED_TRACE(kind.name + ", without IE #" + std::to_string(i));
      RawMessage raw = kind.raw;
      raw.ies.erase(raw.ies.begin() + static_cast<std::ptrdiff_t>(i));
      EXPECT_TRUE(message_decodes_to(serialize(raw), without_ephemeral_key(kind.body)));
      EXPECT_EQ(serialize(raw), wire::encode(without_ephemeral_key(kind.body)));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4u);  // request and accept, each unrelayed and relayed
}

TEST(WireDecode, UnknownComprehensionRequiredIeIsRefused) {
  // 0x07 and 0x0B are known IEIs, but not of a REQUEST: to the REQUEST they are unknown. So are the accept's
  // Key confirmation MAC (0x0D) and Target ephemeral public key (0x0F).
  for (std::uint8_t iei : Bytes{0x00, 0x07, 0x0B, 0x0D, 0x0F, 0x1F, 0x24, 0x7F}) {
    SCOPED_TRACE(static_cast<int>(iei));
    RawMessage raw = raw_request(sample_request(true));
    raw.ies.insert(raw.ies.begin() + 2, ie(iei, Bytes{0x01, 0x02, 0x03}));
    EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
  }
}

TEST(WireDecode, EveryComprehensionRequiredIeiOutsideTheMessagesSchemaIsRefusedAtEveryPosition) {
  for (const auto& kind : all_kinds()) {
    if (!kind.complete) continue;  // the complete kinds hold every IE of their schema
    for (int iei = 0; iei < wire::kIeiComprehensionNotRequired; ++iei) {
      const bool in_schema =
          std::any_of(kind.raw.ies.begin(), kind.raw.ies.end(), [&](const RawIe& e) { return e.iei == iei; });
      if (in_schema) continue;
      for (std::size_t position = 0; position <= kind.raw.ies.size(); ++position) {
        SCOPED_TRACE(kind.name + ", IEI " + std::to_string(iei) + " before IE #" + std::to_string(position));
        RawMessage raw = kind.raw;
        raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(position),
                       ie(static_cast<std::uint8_t>(iei), Bytes(wire::kEphemeralKeySize, 0x04)));
        EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
      }
    }
  }
}

TEST(WireDecode, RelayIeInARejectIsRefusedAsUnknownComprehensionRequired) {
  // The REJECT schema has no relay group: a relay IE there is unknown and comprehension-required.
  RawMessage raw = raw_reject(sample_reject());
  raw.ies.push_back(ie(Iei::kRelayUserInfoId, as_bytes("relay-ue")));
  EXPECT_TRUE(message_refused(serialize(raw), "unknown comprehension-required IE"));
}

TEST(WireDecode, EphemeralKeyOrMacOfTheOtherMessageIsRefused) {
  // The Target ephemeral public key in a REQUEST, the Source one in an ACCEPT, a MAC in a REQUEST.
  RawMessage request = raw_request(sample_request(true, true));
  request.ies[index_of(request, Iei::kSourceEphemeralKey)].iei = static_cast<std::uint8_t>(Iei::kTargetEphemeralKey);
  EXPECT_TRUE(message_refused(serialize(request), "unknown comprehension-required IE 0x0f"));

  RawMessage accept = raw_accept(sample_accept(true, true));
  accept.ies[index_of(accept, Iei::kTargetEphemeralKey)].iei = static_cast<std::uint8_t>(Iei::kSourceEphemeralKey);
  EXPECT_TRUE(message_refused(serialize(accept), "unknown comprehension-required IE 0x0e"));

  request = raw_request(sample_request(false));
  request.ies.insert(request.ies.begin() + static_cast<std::ptrdiff_t>(index_of(request, Iei::kSignSource)),
                     ie(Iei::kKeyConfirmationMac, counting<wire::kMacSize>(0x00)));
  EXPECT_TRUE(message_refused(serialize(request), "unknown comprehension-required IE 0x0d"));
}

TEST(WireDecode, IgnorableUnknownIeIsSkippedAtEveryPositionBeforeTheFinalSignature) {
  for (const auto& kind : all_kinds()) {
    // A REJECT has no signature: an ignorable IE may sit anywhere in it, the end included.
    const std::size_t last_position = kind.authenticated ? final_authenticator_index(kind) : kind.raw.ies.size();
    for (std::size_t position = 0; position <= last_position; ++position) {
      for (std::uint8_t iei : Bytes{0x80, 0x8D, 0x8E, 0xA2, 0xFF}) {
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
  raw.ies.insert(raw.ies.begin() + 3, ignorable_ie());       // among the source's IEs, before the selected relay
  raw.ies.insert(raw.ies.begin() + 11, ignorable_ie(0x81));  // between the relay's certificate and SIGN1-relay
  ASSERT_EQ(raw.ies[12].iei, static_cast<std::uint8_t>(Iei::kSign1Relay));
  const Bytes bytes = serialize(raw);
  auto m = wire::decode_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().reason;
  Bytes covered_by_source;
  for (std::size_t i = 0; i < 8; ++i) append(covered_by_source, serialize_ie(raw.ies[i]));
  covered_by_source.insert(covered_by_source.begin(), 0x01);
  EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), covered_by_source));
  EXPECT_EQ(m->covered_by_relay_signature().size(), bytes.size() - (wire::kIeHeaderSize + wire::kSignatureSize));
}

TEST(WireDecode, SkippedIgnorableIeStaysInsideTheMacAndSignTargetCoverage) {
  // Before the MAC: covered by the MAC and by SIGN-Target. Between the MAC and SIGN-Target: by SIGN-Target only.
  RawMessage raw = raw_accept(sample_accept(true, true));
  const std::size_t mac = index_of(raw, Iei::kKeyConfirmationMac);
  raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(mac) + 1, ignorable_ie(0x82));
  raw.ies.insert(raw.ies.begin() + static_cast<std::ptrdiff_t>(mac), ignorable_ie(0x81));
  ASSERT_EQ(raw.ies[mac + 1].iei, static_cast<std::uint8_t>(Iei::kKeyConfirmationMac));
  ASSERT_EQ(raw.ies[mac + 3].iei, static_cast<std::uint8_t>(Iei::kSignTarget));
  const Bytes bytes = serialize(raw);
  auto m = wire::decode_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().reason;
  EXPECT_TRUE(m->body == wire::Body(sample_accept(true, true)));
  EXPECT_TRUE(std::ranges::equal(m->covered_by_mac(), serialize_first(raw, mac + 1)));
  EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), serialize_first(raw, mac + 3)));
  EXPECT_TRUE(std::ranges::equal(m->originator_part(), serialize_first(raw, mac + 4)));

  // In a LINK CONFIRM: before the Request digest and between it and the MAC, both covered by the MAC.
  RawMessage confirm = raw_link_confirm(sample_link_confirm());
  confirm.ies.insert(confirm.ies.begin() + 1, ignorable_ie(0x8D));
  confirm.ies.insert(confirm.ies.begin(), ignorable_ie(0xFF));
  auto c = wire::decode_message(serialize(confirm));
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_TRUE(c->body == wire::Body(sample_link_confirm()));
  EXPECT_TRUE(std::ranges::equal(c->covered_by_mac(), serialize_first(confirm, 3)));
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
    case Iei::kRelayUserInfoId:
    case Iei::kSelectedRelayUserInfoId: return {wire::kUserInfoIdMinSize, wire::kUserInfoIdMaxSize, 'u'};
    case Iei::kSourceCertificate:
    case Iei::kTargetCertificate:
    case Iei::kRelayCertificate: return {1, wire::kCertificateMaxSize, 0x30};
    case Iei::kNonce1:
    case Iei::kNonce2: return {wire::kNonceSize, wire::kNonceSize, 0x5A};
    case Iei::kRequestDigest:
    case Iei::kRelayCertificateDigest: return {wire::kDigestSize, wire::kDigestSize, 0x5A};
    case Iei::kSignSource:
    case Iei::kSignTarget:
    case Iei::kSign1Relay:
    case Iei::kSign2Relay: return {wire::kSignatureSize, wire::kSignatureSize, 0x5A};
    case Iei::kTargetLayer2Id: return {wire::kLayer2IdSize, wire::kLayer2IdSize, 0x5A};
    case Iei::kCause: return {1, 1, 0x06};
    case Iei::kRejectedBy: return {1, 1, 0x01};
    case Iei::kKeyConfirmationMac: return {wire::kMacSize, wire::kMacSize, 0x5A};
    case Iei::kSourceEphemeralKey:
    case Iei::kTargetEphemeralKey: return {wire::kEphemeralKeySize, wire::kEphemeralKeySize, 0x04};
    case Iei::kKeepaliveCounter: return {wire::kKeepaliveCounterSize, wire::kKeepaliveCounterSize, 0x5A};
    case Iei::kDataSuitesOffered: return {1, wire::kMaxDataSuites, 0x02};
    case Iei::kDataSuiteChosen: return {1, 1, 0x02};
    case Iei::kRekeyingGeneration: return {wire::kRekeyingGenerationSize, wire::kRekeyingGenerationSize, 0x5A};
    case Iei::kRekeyingNonce: return {wire::kNonceSize, wire::kNonceSize, 0x5A};
    case Iei::kRekeyingEphemeralKey: return {wire::kEphemeralKeySize, wire::kEphemeralKeySize, 0x04};
  }
  return {};
}

TEST(WireDecode, IeBoundsAreTheOnesDocumentedInProtocolMdSection3) {
  EXPECT_EQ(wire::kUserInfoIdMinSize, 1u);
  EXPECT_EQ(wire::kUserInfoIdMaxSize, 64u);
  EXPECT_EQ(wire::kCertificateMaxSize, 460u);
  EXPECT_EQ(wire::kNonceSize, 16u);
  EXPECT_EQ(wire::kDigestSize, 32u);
  EXPECT_EQ(wire::kSignatureSize, 64u);
  EXPECT_EQ(wire::kMacSize, 32u);           // HMAC-SHA-256
  EXPECT_EQ(wire::kEphemeralKeySize, 65u);  // uncompressed P-256 point
  EXPECT_EQ(wire::kLayer2IdSize, 3u);
  EXPECT_EQ(wire::kMaxDatagramSize, 1452u);
}

TEST(WireDecode, EveryIeLengthOutsideItsBoundsIsRefusedAndEveryBoundItselfAccepted) {
  std::size_t checked = 0;
  for (const auto& kind : all_kinds()) {
    if (!kind.complete) continue;  // the complete kinds hold every IE of the others
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
      ++checked;
    }
  }
  // Relayed request 12 IEs, relayed accept 12, reject 3, link confirm 2.
  EXPECT_EQ(checked, 29u);
}

TEST(WireDecode, FixedSizeNewIesRefuseEveryOtherLengthWithTheirName) {
  struct Case {
    std::string name;
    RawMessage raw;
    Iei iei;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"Source ephemeral public key", raw_request(sample_request(false, true)), Iei::kSourceEphemeralKey,
       "0x0e (Source ephemeral public key) has length "},
      {"Target ephemeral public key", raw_accept(sample_accept(false, true)), Iei::kTargetEphemeralKey,
       "0x0f (Target ephemeral public key) has length "},
      {"MAC in accept", raw_accept(sample_accept(false)), Iei::kKeyConfirmationMac,
       "0x0d (Key confirmation MAC) has length "},
      {"MAC in link confirm", raw_link_confirm(sample_link_confirm()), Iei::kKeyConfirmationMac,
       "0x0d (Key confirmation MAC) has length "},
      {"digest in link confirm", raw_link_confirm(sample_link_confirm()), Iei::kRequestDigest,
       "0x07 (Request digest) has length "},
  };
  for (const auto& c : cases) {
    const std::size_t index = index_of(c.raw, c.iei);
    ASSERT_LT(index, c.raw.ies.size()) << c.name;
    const std::size_t size = c.raw.ies[index].value.size();
    for (std::size_t length : {std::size_t{0}, std::size_t{1}, size - 1, size + 1, std::size_t{0xFF}}) {
      SCOPED_TRACE(c.name + ", " + std::to_string(length) + " octets");
      RawMessage raw = c.raw;
      raw.ies[index].value.assign(length, 0x04);
      const std::string allowed = ", allowed " + std::to_string(size) + ".." + std::to_string(size);
      EXPECT_TRUE(message_refused(serialize(raw), c.reason + std::to_string(length) + allowed));
    }
  }
}

TEST(WireDecode, UserInfoIdOutsidePrintableAsciiWithoutSpaceIsRefused) {
  struct Where {
    std::string name;
    RawMessage raw;
    Iei iei;
  };
  std::vector<Where> ids;
  for (bool ephemeral : {false, true}) {
    const std::string with = ephemeral ? " with ephemeral key" : "";
    ids.push_back({"source id" + with, raw_request(sample_request(true, ephemeral)), Iei::kSourceUserInfoId});
    ids.push_back(
        {"target id in request" + with, raw_request(sample_request(true, ephemeral)), Iei::kTargetUserInfoId});
    ids.push_back({"relay id in request" + with, raw_request(sample_request(true, ephemeral)), Iei::kRelayUserInfoId});
    ids.push_back({"target id in accept" + with, raw_accept(sample_accept(true, ephemeral)), Iei::kTargetUserInfoId});
    ids.push_back({"relay id in accept" + with, raw_accept(sample_accept(true, ephemeral)), Iei::kRelayUserInfoId});
  }
  for (const auto& where : ids) {
    const std::size_t index = index_of(where.raw, where.iei);
    ASSERT_LT(index, where.raw.ies.size()) << where.name;
    for (std::uint8_t bad : Bytes{0x00, 0x1F, 0x20, 0x7F, 0x80, 0xFF}) {
      SCOPED_TRACE(where.name + ", octet " + std::to_string(bad));
      RawMessage raw = where.raw;
      raw.ies[index].value = Bytes{'u', 'e', bad, '1'};
      EXPECT_TRUE(message_refused(serialize(raw), "printable ASCII"));
    }
    SCOPED_TRACE(where.name + ", \"!~\"");
    RawMessage raw = where.raw;
    raw.ies[index].value = Bytes{'!', '~'};
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
    ASSERT_EQ(kind.raw.ies[first_relay].iei, static_cast<std::uint8_t>(Iei::kRelayUserInfoId)) << kind.name;
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

TEST(WireDecode, RelayAuthenticationInfoInALinkConfirmIsRefused) {
  // The LINK CONFIRM schema has no relay group: the relay forwards it as the source sent it.
  RawMessage raw = raw_link_confirm(sample_link_confirm());
  add_relay_ies(raw, sample_relay(0x80), Iei::kSign1Relay);
  EXPECT_TRUE(message_refused(serialize(raw), "LINK CONFIRM: unknown comprehension-required IE 0x20"));
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

// Every IE at its maximum, the optional ephemeral key included: the relayed request (step 3).
wire::DirectCommunicationRequest largest_request() {
  auto r = sample_request(true, true);
  r.source_user_info_id.assign(wire::kUserInfoIdMaxSize, 's');
  r.target_user_info_id.assign(wire::kUserInfoIdMaxSize, 't');
  r.selected_relay_user_info_id.assign(wire::kUserInfoIdMaxSize, 'r');
  r.data_suites.assign(wire::kMaxDataSuites, 0x01);
  r.source_certificate.assign(wire::kCertificateMaxSize, 0x30);
  r.relay->user_info_id.assign(wire::kUserInfoIdMaxSize, 'r');
  r.relay->certificate.assign(wire::kCertificateMaxSize, 0x30);
  return r;
}

// Every IE at its maximum, the optional ephemeral key included: the relayed accept (step 7).
wire::DirectCommunicationAccept largest_accept() {
  auto a = sample_accept(true, true);
  a.target_user_info_id.assign(wire::kUserInfoIdMaxSize, 't');
  a.target_certificate.assign(wire::kCertificateMaxSize, 0x30);
  a.relay->user_info_id.assign(wire::kUserInfoIdMaxSize, 'r');
  a.relay->certificate.assign(wire::kCertificateMaxSize, 0x30);
  return a;
}

TEST(WireDatagram, RelayedRequestAndAcceptWithEveryIeAtItsMaximumFitOneDatagramAndDecode) {
  const auto request = largest_request();
  const auto accept = largest_accept();
  for (const wire::Body& body : {wire::Body(request), wire::Body(accept)}) {
    const Bytes datagram = wire::encode_datagram(1, 2, wire::encode(body));
    EXPECT_LE(datagram.size(), wire::kMaxDatagramSize);
    auto d = wire::decode_datagram(datagram);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_TRUE(d->message.body == body);
  }
  // wire/constants.hpp computes the largest sizes (docs/protocol.md section 2): the encoder and the independent
  // layout model both produce exactly them, and they fit one datagram.
  EXPECT_EQ(wire::kHeaderSize + wire::encode(request).size(), wire::kLargestRequest);
  EXPECT_EQ(wire::kHeaderSize + wire::encode(accept).size(), wire::kLargestAccept);
  EXPECT_EQ(wire::kHeaderSize + serialize(raw_request(request)).size(), wire::kLargestRequest);
  EXPECT_EQ(wire::kHeaderSize + serialize(raw_accept(accept)).size(), wire::kLargestAccept);
  EXPECT_LE(wire::kLargestRequest, 1452u);
  EXPECT_LE(wire::kLargestAccept, 1452u);
  // Without the option each is smaller by exactly the ephemeral key's IE.
  EXPECT_EQ(wire::kHeaderSize + wire::encode(without_ephemeral_key(request)).size(),
            wire::kLargestRequest - (wire::kIeHeaderSize + wire::kEphemeralKeySize));
  EXPECT_EQ(wire::kHeaderSize + wire::encode(without_ephemeral_key(accept)).size(),
            wire::kLargestAccept - (wire::kIeHeaderSize + wire::kEphemeralKeySize));
}

TEST(WireDecode, LargestRelayedMessagePaddedPastTheLimitIsRefusedAsOversize) {
  for (RawMessage raw : {raw_request(largest_request()), raw_accept(largest_accept())}) {
    SCOPED_TRACE(raw.type == 0x01 ? "request" : "accept");
    const std::size_t size = serialize(raw).size() + wire::kIeHeaderSize;
    ASSERT_LE(size, wire::kMaxDatagramSize);
    // An ignorable IE among the originator's IEs, otherwise acceptable: only the size rule can refuse it.
    raw.ies.insert(raw.ies.begin() + 5, ie(0xFE, Bytes(wire::kMaxDatagramSize - size + 1, 0x00)));
    EXPECT_TRUE(message_refused(serialize(raw), "exceeds"));
    // One octet less is exactly the maximum, and decodes.
    raw.ies[5].value.pop_back();
    ASSERT_EQ(serialize(raw).size(), wire::kMaxDatagramSize);
    auto m = wire::decode_message(serialize(raw));
    EXPECT_TRUE(m.ok()) << m.error().reason;
  }
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
  // 0x0E (LINK CONFIRM) is known; its neighbours are not.
  for (std::uint8_t type : Bytes{0x00, 0x04, 0x05, 0x0D, 0x0F, 0x7F, 0x81, 0x8E, 0xFF}) {
    SCOPED_TRACE(static_cast<int>(type));
    RawMessage raw = raw_request(sample_request(false));
    raw.type = type;
    EXPECT_TRUE(message_refused(serialize(raw), "unknown message type"));
    raw = raw_link_confirm(sample_link_confirm());
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
  // A LINK CONFIRM and a REJECT both start with the Request digest; neither passes for the other.
  raw = raw_link_confirm(sample_link_confirm());
  raw.type = 0x03;
  EXPECT_TRUE(message_refused(serialize(raw), "DIRECT COMMUNICATION REJECT: unknown comprehension-required IE 0x0d"));
  raw = raw_reject(sample_reject());
  raw.type = 0x0E;
  EXPECT_TRUE(message_refused(serialize(raw), "LINK CONFIRM: unknown comprehension-required IE 0x0b"));
  // Every other kind's IEs under the LINK CONFIRM type octet, and a LINK CONFIRM's under every other type.
  for (const auto& kind : all_kinds()) {
    if (kind.raw.type == 0x0E) continue;
    SCOPED_TRACE(kind.name);
    raw = kind.raw;
    raw.type = 0x0E;
    EXPECT_TRUE(message_refused(serialize(raw), "LINK CONFIRM: "));
    raw = raw_link_confirm(sample_link_confirm());
    raw.type = kind.raw.type;
    EXPECT_TRUE(message_refused(serialize(raw),
                                std::string(wire::message_name(static_cast<MessageType>(kind.raw.type))) + ": "));
  }
}

TEST(WireDecode, EmptyMessageIsRefused) { EXPECT_TRUE(message_refused({}, "empty message")); }

// ---------------------------------------------------------------------------------------------------------------
// What each signature and MAC covers

TEST(WireMessage, RequestFirstSignatureCoversEverythingBeforeSignSourceAndOriginatorPartEndsAfterIt) {
  for (bool ephemeral : {false, true}) {
    for (bool relayed : {false, true}) {
      SCOPED_TRACE(std::string(relayed ? "relayed" : "from source") + (ephemeral ? ", with ephemeral key" : ""));
      const auto request = sample_request(relayed, ephemeral);
      auto m = wire::decode_message(wire::encode(request));
      ASSERT_TRUE(m.ok()) << m.error().reason;
      ASSERT_LT(m->first_signature_offset, m->bytes.size());
      EXPECT_EQ(m->bytes[m->first_signature_offset], static_cast<std::uint8_t>(Iei::kSignSource));
      EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), wire::encode_request_unsigned(request)));
      EXPECT_EQ(m->first_signature_end, m->first_signature_offset + wire::kIeHeaderSize + wire::kSignatureSize);
      EXPECT_TRUE(std::ranges::equal(m->originator_part(), wire::encode(sample_request(false, ephemeral))));
      // A request carries no MAC.
      EXPECT_EQ(m->mac_offset, 0u);
      EXPECT_TRUE(m->covered_by_mac().empty());
    }
  }
}

TEST(WireMessage, AcceptFirstSignatureCoversEverythingBeforeSignTargetAndOriginatorPartEndsAfterIt) {
  for (bool ephemeral : {false, true}) {
    for (bool relayed : {false, true}) {
      SCOPED_TRACE(std::string(relayed ? "relayed" : "from target") + (ephemeral ? ", with ephemeral key" : ""));
      const auto accept = sample_accept(relayed, ephemeral);
      auto m = wire::decode_message(wire::encode(accept));
      ASSERT_TRUE(m.ok()) << m.error().reason;
      ASSERT_LT(m->first_signature_offset, m->bytes.size());
      EXPECT_EQ(m->bytes[m->first_signature_offset], static_cast<std::uint8_t>(Iei::kSignTarget));
      // SIGN-Target covers the unsigned accept and the Key confirmation MAC IE after it.
      Bytes signed_part = wire::encode_accept_unsigned(accept);
      wire::append_mac(signed_part, accept.key_confirmation_mac);
      EXPECT_TRUE(std::ranges::equal(m->covered_by_first_signature(), signed_part));
      EXPECT_TRUE(
          std::ranges::equal(m->covered_by_first_signature(),
                             serialize_first(raw_accept(accept), index_of(raw_accept(accept), Iei::kSignTarget))));
      EXPECT_EQ(m->first_signature_end, m->first_signature_offset + wire::kIeHeaderSize + wire::kSignatureSize);
      EXPECT_TRUE(std::ranges::equal(m->originator_part(), wire::encode(sample_accept(false, ephemeral))));
    }
  }
}

TEST(WireMessage, AcceptMacCoversEverythingBeforeTheMacIeWhichEndsWhereSignTargetStarts) {
  for (bool ephemeral : {false, true}) {
    for (bool relayed : {false, true}) {
      SCOPED_TRACE(std::string(relayed ? "relayed" : "from target") + (ephemeral ? ", with ephemeral key" : ""));
      const auto accept = sample_accept(relayed, ephemeral);
      auto m = wire::decode_message(wire::encode(accept));
      ASSERT_TRUE(m.ok()) << m.error().reason;
      const Bytes unsigned_accept = wire::encode_accept_unsigned(accept);
      ASSERT_EQ(m->mac_offset, unsigned_accept.size());
      ASSERT_LT(m->mac_offset, m->bytes.size());
      EXPECT_EQ(m->bytes[m->mac_offset], static_cast<std::uint8_t>(Iei::kKeyConfirmationMac));
      // The MAC covers the unsigned accept (the Target ephemeral public key included when present)...
      EXPECT_TRUE(std::ranges::equal(m->covered_by_mac(), unsigned_accept));
      EXPECT_TRUE(std::ranges::equal(
          m->covered_by_mac(),
          serialize_first(raw_accept(accept), index_of(raw_accept(accept), Iei::kKeyConfirmationMac))));
      // ...its IE sits whole between there and SIGN-Target UE's IE...
      EXPECT_EQ(m->mac_offset + wire::kIeHeaderSize + wire::kMacSize, m->first_signature_offset);
      const Bytes mac_ie = serialize_ie(ie(Iei::kKeyConfirmationMac, accept.key_confirmation_mac));
      EXPECT_TRUE(
          std::equal(mac_ie.begin(), mac_ie.end(), m->bytes.begin() + static_cast<std::ptrdiff_t>(m->mac_offset)));
      // ...so the MAC's coverage is a proper prefix of SIGN-Target's, which includes the MAC IE.
      EXPECT_LT(m->covered_by_mac().size(), m->covered_by_first_signature().size());
      EXPECT_TRUE(std::ranges::equal(m->covered_by_mac(), m->covered_by_first_signature().first(m->mac_offset)));
      const Bytes last_covered(m->covered_by_first_signature().end() - static_cast<std::ptrdiff_t>(mac_ie.size()),
                               m->covered_by_first_signature().end());
      EXPECT_EQ(last_covered, mac_ie);
    }
  }
}

TEST(WireMessage, LinkConfirmMacCoversTheTypeOctetAndTheRequestDigestIe) {
  const auto confirm = sample_link_confirm();
  const Bytes bytes = wire::encode(confirm);
  auto m = wire::decode_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().reason;
  EXPECT_EQ(m->type(), MessageType::kLinkConfirm);
  EXPECT_EQ(m->mac_offset, 1 + wire::kIeHeaderSize + wire::kDigestSize);
  EXPECT_EQ(m->bytes[m->mac_offset], static_cast<std::uint8_t>(Iei::kKeyConfirmationMac));
  EXPECT_TRUE(std::ranges::equal(m->covered_by_mac(), wire::encode_link_confirm_unsigned(confirm.request_digest)));
  EXPECT_EQ(m->mac_offset + wire::kIeHeaderSize + wire::kMacSize, m->bytes.size());
  // It carries no signature.
  EXPECT_EQ(m->first_signature_offset, 0u);
  EXPECT_TRUE(m->covered_by_first_signature().empty());
  EXPECT_EQ(m->relay_signature_offset, 0u);
  EXPECT_TRUE(m->covered_by_relay_signature().empty());
}

TEST(WireMessage, RejectHasNoSignatureNorMacCoverage) {
  auto m = wire::decode_message(wire::encode(sample_reject()));
  ASSERT_TRUE(m.ok()) << m.error().reason;
  EXPECT_EQ(m->mac_offset, 0u);
  EXPECT_TRUE(m->covered_by_mac().empty());
  EXPECT_TRUE(m->covered_by_first_signature().empty());
  EXPECT_TRUE(m->covered_by_relay_signature().empty());
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
  for (bool ephemeral : {false, true}) {
    SCOPED_TRACE(ephemeral ? "with ephemeral key" : "without ephemeral key");
    const auto request = sample_request(true, ephemeral);
    expect_relay_signature_covers_identity(request, *request.relay, Iei::kSign1Relay);
  }
}

TEST(WireMessage, Sign2RelayCoversTheWholeAcceptPlusTheRelaysUserInfoIdAndCertificate) {
  for (bool ephemeral : {false, true}) {
    SCOPED_TRACE(ephemeral ? "with ephemeral key" : "without ephemeral key");
    const auto accept = sample_accept(true, ephemeral);
    expect_relay_signature_covers_identity(accept, *accept.relay, Iei::kSign2Relay);
  }
}

TEST(WireMessage, UnrelayedMessagesHaveNoRelaySignatureCoverage) {
  for (const wire::Body& body : {wire::Body(sample_request(false)), wire::Body(sample_accept(false)),
                                 wire::Body(sample_request(false, true)), wire::Body(sample_accept(false, true))}) {
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
  const std::vector<int> known = {1, 2, 5, 6, 7, 8, 13, 111};
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

namespace u2u::test {
namespace {

// The link messages of issue #4 (release, keep-alive, the LINK CONFIRM ACK) share LINK CONFIRM's framing.
std::vector<wire::LinkMessage> every_link_message() {
  const auto digest = counting<wire::kDigestSize>(0x40);
  const auto mac = counting<wire::kMacSize>(0x90);
  const auto nonce = counting<wire::kNonceSize>(0x70);
  const auto point = counting<wire::kEphemeralKeySize>(0x04);
  return {{MessageType::kLinkConfirm, digest, {}, {}, mac, {}, {}, {}},
          {MessageType::kLinkConfirmAck, digest, {}, {}, mac, {}, {}, {}},
          {MessageType::kKeepaliveRequest, digest, 0x01020304u, {}, mac, {}, {}, {}},
          {MessageType::kKeepaliveResponse, digest, 0xFFFFFFFFu, {}, mac, {}, {}, {}},
          {MessageType::kReleaseRequest, digest, {}, Cause::kNoLongerNeeded, mac, {}, {}, {}},
          {MessageType::kReleaseAccept, digest, {}, {}, mac, {}, {}, {}},
          {MessageType::kRekeyingRequest, digest, {}, {}, mac, 1u, nonce, {}},
          {MessageType::kRekeyingRequest, digest, {}, {}, mac, 0xFFFFFFFFu, nonce, point},
          {MessageType::kRekeyingResponse, digest, {}, {}, mac, 7u, nonce, point},
          {MessageType::kRekeyingConfirm, digest, {}, {}, mac, 0x01000000u, {}, {}}};
}

TEST(WireLinkMessages, EveryKindRoundTripsAndItsMacCoversEverythingBeforeIt) {
  for (const auto& link : every_link_message()) {
    SCOPED_TRACE(std::string(wire::message_name(link.type)));
    ASSERT_TRUE(wire::is_link_message(link.type));
    const Bytes bytes = wire::encode(link);
    auto m = wire::decode_message(bytes);
    ASSERT_TRUE(m.ok()) << m.error().reason;
    EXPECT_EQ(std::get<wire::LinkMessage>(m->body), link);
    EXPECT_EQ(wire::encode(m->body), bytes);
    EXPECT_EQ(m->mac_offset, bytes.size() - wire::kIeHeaderSize - wire::kMacSize);
    EXPECT_EQ(to_hex(m->covered_by_mac()), to_hex(wire::encode_link_message_unsigned(link)));
  }
}

TEST(WireLinkMessages, KeepaliveCounterIsFourOctetsBigEndianAndReleaseCarriesItsCause) {
  const auto all = every_link_message();
  const Bytes keepalive = wire::encode(all[2]);
  // type, digest IE (3 + 32), then the counter IE: 0x10 0x0004 01 02 03 04.
  const Bytes expected{0x10, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), keepalive.begin() + 1 + 35));
  const Bytes release = wire::encode(all[4]);
  const Bytes cause{0x0B, 0x00, 0x01, 0x02};
  EXPECT_TRUE(std::equal(cause.begin(), cause.end(), release.begin() + 1 + 35));
}

TEST(WireLinkMessages, EveryPrefixAndEveryMissingOrForeignIeIsRefused) {
  for (const auto& link : every_link_message()) {
    SCOPED_TRACE(std::string(wire::message_name(link.type)));
    const Bytes bytes = wire::encode(link);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto m = wire::decode_message(ByteView(bytes).first(n));
      EXPECT_FALSE(m.ok()) << "prefix of " << n << " octets";
      if (!m.ok()) {
        EXPECT_EQ(m.error().cause, Cause::kProtocolErrorUnspecified);
      }
    }
    Bytes trailing = bytes;
    trailing.push_back(0x00);
    EXPECT_FALSE(wire::decode_message(trailing).ok());
    // A counter where none belongs, or none where one must be: the other kinds' schemas refuse it.
    wire::LinkMessage other = link;
    other.keepalive_counter = link.keepalive_counter ? std::nullopt : std::optional<std::uint32_t>(7);
    EXPECT_FALSE(wire::decode_message(wire::encode(other)).ok());
    wire::LinkMessage caused = link;
    caused.cause = link.cause ? std::nullopt : std::optional<Cause>(Cause::kNoLongerNeeded);
    EXPECT_FALSE(wire::decode_message(wire::encode(caused)).ok());
  }
}

}  // namespace
}  // namespace u2u::test
