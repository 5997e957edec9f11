#pragma once
// The PC5 signalling messages of the procedure (seed steps 1, 3, 5, 7 and the reject), their encoding
// and their bounds-checked decoding. docs/protocol.md section 3 gives every byte.
#include <array>
#include <optional>
#include <string>
#include <variant>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "wire/constants.hpp"

namespace u2u::wire {

using Layer2Id = std::uint32_t;
using Nonce = std::array<std::uint8_t, kNonceSize>;
using Digest = std::array<std::uint8_t, kDigestSize>;
using Signature = std::array<std::uint8_t, kSignatureSize>;
using Mac = std::array<std::uint8_t, kMacSize>;
using EphemeralKey = std::array<std::uint8_t, kEphemeralKeySize>;

// Authentication_Info of the relay UE (seed steps 3 and 7): User Info ID, certificate (carrying the
// public key) and SIGN1-relay or SIGN2-relay.
struct RelayAuthInfo {
  std::string user_info_id;
  Bytes certificate;
  Signature signature{};
  bool operator==(const RelayAuthInfo&) const = default;
};

// Seed step 1 (as sent by the source) and step 3 (with the relay's Authentication_Info appended).
struct DirectCommunicationRequest {
  std::string source_user_info_id;
  std::string target_user_info_id;
  Layer2Id target_layer2_id = 0;
  std::string selected_relay_user_info_id;  // the relay the source selected (step 0), bound by SIGN-Source UE
  Bytes data_suites;                        // the user-plane suites the source accepts, most preferred first
  Nonce nonce_1{};
  std::optional<EphemeralKey> source_ephemeral_key;  // forward secrecy option
  Bytes source_certificate;
  Signature sign_source{};
  std::optional<RelayAuthInfo> relay;
  bool operator==(const DirectCommunicationRequest&) const = default;
};

// Seed step 5 (as sent by the target) and step 7 (with the relay's Authentication_Info appended).
struct DirectCommunicationAccept {
  std::string target_user_info_id;
  Digest request_digest{};
  Digest relay_certificate_digest{};  // SHA-256 of the certificate of the relay whose SIGN1-relay the target verified
  std::uint8_t data_suite = 0;        // the user-plane suite the target chose among those offered
  Nonce nonce_2{};
  std::optional<EphemeralKey> target_ephemeral_key;  // present when the request carried one
  Bytes target_certificate;
  Mac key_confirmation_mac{};  // proves the target holds KD-sess (docs/protocol.md section 6)
  Signature sign_target{};
  std::optional<RelayAuthInfo> relay;
  bool operator==(const DirectCommunicationAccept&) const = default;
};

struct DirectCommunicationReject {
  Digest request_digest{};
  Cause cause = Cause::kProtocolErrorUnspecified;
  RejectedBy rejected_by = RejectedBy::kRelay;
  bool operator==(const DirectCommunicationReject&) const = default;
};

// A message of an established link, or the LINK CONFIRM that establishes it (is_link_message()): named by the
// request digest of the handshake that made the link, protected by a MAC under K_int (docs/protocol.md 3.4).
//   LINK CONFIRM, LINK CONFIRM ACK, RELEASE ACCEPT:   request digest, MAC
//   KEEPALIVE REQUEST, KEEPALIVE RESPONSE:            request digest, keep-alive counter, MAC
//   RELEASE REQUEST:                                   request digest, cause, MAC
//   REKEYING REQUEST, REKEYING RESPONSE:               request digest, generation, nonce, [ephemeral key], MAC
//   REKEYING CONFIRM:                                  request digest, generation, MAC
struct LinkMessage {
  MessageType type = MessageType::kLinkConfirm;
  Digest request_digest{};
  std::optional<std::uint32_t> keepalive_counter;
  std::optional<Cause> cause;
  Mac mac{};
  std::optional<std::uint32_t> rekeying_generation;
  std::optional<Nonce> rekeying_nonce;
  std::optional<EphemeralKey> rekeying_ephemeral_key;
  bool operator==(const LinkMessage&) const = default;
};

using Body =
    std::variant<DirectCommunicationRequest, DirectCommunicationAccept, DirectCommunicationReject, LinkMessage>;

// A decoded message together with its exact bytes, so that signatures are checked over what was received.
struct Message {
  Bytes bytes;  // message type octet and IEs, as received
  Body body;
  // Offsets into `bytes`: where the first signature IE starts and ends (SIGN-Source UE or SIGN-Target UE)
  // and where the relay's signature IE starts (0 when the relay's Authentication_Info is absent).
  std::size_t first_signature_offset = 0;
  std::size_t first_signature_end = 0;
  std::size_t relay_signature_offset = 0;
  std::size_t mac_offset = 0;  // where the key confirmation MAC IE starts (accept, link confirm)

  MessageType type() const;
  // The bytes a signature covers: everything in the message before its IE.
  ByteView covered_by_first_signature() const { return ByteView(bytes).first(first_signature_offset); }
  ByteView covered_by_relay_signature() const { return ByteView(bytes).first(relay_signature_offset); }
  ByteView covered_by_mac() const { return ByteView(bytes).first(mac_offset); }
  // The message as its originator (source or target) sent it, before the relay appended anything.
  ByteView originator_part() const { return ByteView(bytes).first(first_signature_end); }
};

struct Datagram {
  Layer2Id source = 0;
  Layer2Id destination = 0;
  Message message;
};

std::string_view message_name(MessageType type);
std::string_view iei_name(std::uint8_t iei);

// Decoding. Rejects truncation, trailing bytes, unknown comprehension-required IEs, duplicate or reordered
// IEs, out-of-range lengths, bad values and oversize input. Errors carry cause #111.
Result<Message> decode_message(ByteView bytes);
Result<Datagram> decode_datagram(ByteView datagram);

// Encoding, in the order the procedure builds a message: the originator's IEs, then its signature, then
// (at the relay) the relay's User Info ID and certificate, then the relay's signature.
Bytes encode_request_unsigned(const DirectCommunicationRequest& request);
Bytes encode_accept_unsigned(const DirectCommunicationAccept& accept);
void append_signature(Bytes& message, Iei iei, const Signature& signature);
void append_mac(Bytes& message, const Mac& mac);
Bytes encode_link_confirm_unsigned(const Digest& request_digest);
// A link message without its MAC (the `mac` field is ignored); append_mac() completes it.
Bytes encode_link_message_unsigned(const LinkMessage& message);
void append_relay_identity(Bytes& message, std::string_view user_info_id, ByteView certificate);
// The octets a relay adds to a message it forwards (docs/protocol.md section 2, sizes per hop): the datagram
// header, its User Info ID and certificate IEs (append_relay_identity) and its signature IE.
std::size_t relayed_datagram_size(std::size_t message_size, std::string_view relay_user_info_id,
                                  std::size_t relay_certificate_size);
Bytes encode_reject(const DirectCommunicationReject& reject);
// Whole messages (all parts present in the struct), for tests and tools.
Bytes encode(const Body& body);

Bytes encode_datagram(Layer2Id source, Layer2Id destination, ByteView message);

}  // namespace u2u::wire
