#pragma once
// Every constant of the wire format, with its source. docs/protocol.md section 2 documents each.
#include <cstddef>
#include <cstdint>

namespace u2u::wire {

// Datagram header: version (1) || source Layer-2 ID (3) || destination Layer-2 ID (3).
inline constexpr std::uint8_t kProtocolVersion = 0x01;
inline constexpr std::size_t kLayer2IdSize = 3;  // TS 23.304: Layer-2 IDs are 24 bits
inline constexpr std::uint32_t kLayer2IdMax = 0xFFFFFF;
inline constexpr std::size_t kHeaderSize = 1 + 2 * kLayer2IdSize;

// The largest datagram either side sends or accepts: Ethernet MTU 1500 - IPv6 header 40 - UDP header 8,
// so every message fits one Ethernet frame over IPv4 and IPv6 alike.
inline constexpr std::size_t kMaxDatagramSize = 1452;

// IE framing: IEI (1) || length (2, big-endian) || value. IEI bit 8 set = comprehension not required
// (an unknown IE with that bit is skipped; one without it makes the message invalid), after TS 24.007 11.2.4.
inline constexpr std::size_t kIeHeaderSize = 3;
inline constexpr std::uint8_t kIeiComprehensionNotRequired = 0x80;

// Sizes fixed by the crypto: TS 33.536 nonces, SHA-256 digests, P-256 ECDSA signatures as r||s (IEEE P1363).
inline constexpr std::size_t kNonceSize = 16;
inline constexpr std::size_t kDigestSize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kMacSize = 32;              // HMAC-SHA-256, key confirmation
inline constexpr std::size_t kEphemeralKeySize = 65;     // P-256 uncompressed point, forward secrecy option
inline constexpr std::size_t kKeepaliveCounterSize = 4;  // TS 24.554 11.3.20
inline constexpr std::size_t kRekeyingGenerationSize = 4;
inline constexpr std::size_t kMaxDataSuites = 4;  // suites a request may offer

// Bounds the project sets.
inline constexpr std::size_t kUserInfoIdMinSize = 1;
inline constexpr std::size_t kUserInfoIdMaxSize = 64;  // the X.520 upper bound of a commonName
// A DER certificate as u2u-provision issues it is about 370 octets with short names and about 430 with a 64-octet
// User Info ID; 460 leaves room for a longer CA name and keeps every message within one datagram (below).
inline constexpr std::size_t kCertificateMaxSize = 460;

// Message types, modelled on TS 24.554 Table 11.3.1.1 (ProSe PC5 signalling message type).
enum class MessageType : std::uint8_t {
  kDirectCommunicationRequest = 0x01,
  kDirectCommunicationAccept = 0x02,
  kDirectCommunicationReject = 0x03,
  // Key confirmation from the source, modelled on PROSE DIRECT LINK SECURITY MODE COMPLETE.
  kLinkConfirm = 0x0E,
  // Link maintenance, modelled on TS 24.554 PROSE DIRECT LINK RELEASE REQUEST / ACCEPT and
  // PROSE DIRECT LINK KEEPALIVE REQUEST / RESPONSE.
  kReleaseRequest = 0x07,
  kReleaseAccept = 0x08,
  kKeepaliveRequest = 0x10,
  kKeepaliveResponse = 0x11,
  // The target's acknowledgement of a LINK CONFIRM (project-assigned), so that the source stops resending it.
  kLinkConfirmAck = 0x12,
  // Rekeying of an established link (docs/protocol.md 12; issue 15), modelled on TS 24.554 PROSE DIRECT LINK
  // REKEYING REQUEST / RESPONSE, with a CONFIRM (after PROSE DIRECT LINK SECURITY MODE COMPLETE) that tells the
  // responder the initiator holds the new keys. Either end starts one.
  kRekeyingRequest = 0x13,
  kRekeyingResponse = 0x14,
  kRekeyingConfirm = 0x15,
};

constexpr bool is_rekeying_message(MessageType t) {
  return t == MessageType::kRekeyingRequest || t == MessageType::kRekeyingResponse ||
         t == MessageType::kRekeyingConfirm;
}

// The messages of an established link (and the LINK CONFIRM that establishes it): each is named by the request
// digest and protected by a MAC under K_int.
constexpr bool is_link_message(MessageType t) {
  return t == MessageType::kLinkConfirm || t == MessageType::kLinkConfirmAck || t == MessageType::kKeepaliveRequest ||
         t == MessageType::kKeepaliveResponse || t == MessageType::kReleaseRequest ||
         t == MessageType::kReleaseAccept || is_rekeying_message(t);
}

// Information element identifiers (project-assigned; names follow the seed and TS 24.554 clause 10.3).
enum class Iei : std::uint8_t {
  kSourceUserInfoId = 0x01,
  kTargetUserInfoId = 0x02,
  kTargetLayer2Id = 0x03,  // TS 24.554 10.3.1.15 "Target end UE layer-2 ID"
  kNonce1 = 0x04,          // TS 24.554 10.3.1.4
  kSourceCertificate = 0x05,
  kSignSource = 0x06,  // SIGN-Source UE, seed step 1
  kRequestDigest = 0x07,
  kNonce2 = 0x08,
  kTargetCertificate = 0x09,
  kSignTarget = 0x0A,  // SIGN-Target UE, seed step 5
  kCause = 0x0B,       // TS 24.554 11.3.8 PC5 signalling protocol cause
  kRejectedBy = 0x0C,
  kKeyConfirmationMac = 0x0D,
  kSourceEphemeralKey = 0x0E,
  kTargetEphemeralKey = 0x0F,
  kKeepaliveCounter = 0x10,  // TS 24.554 11.3.20 Keep-alive counter, 4 octets
  // The relay each end saw, inside what its signature covers (docs/protocol.md 4.4): the source names the relay it
  // selected; the target names the relay whose SIGN1-relay it verified, by the digest of its certificate.
  kSelectedRelayUserInfoId = 0x11,
  kRelayCertificateDigest = 0x12,
  // User-plane protection (docs/protocol.md 11.2): the suites the source accepts, in its order of preference, and
  // the one the target chose, each inside its sender's signature (no relay can downgrade them).
  kDataSuitesOffered = 0x13,
  kDataSuiteChosen = 0x14,
  // Rekeying (docs/protocol.md 12): the generation the new keys will have (1 for the first rekey), the sender's fresh
  // nonce, and on a link with forward secrecy the sender's fresh ephemeral public key.
  kRekeyingGeneration = 0x15,
  kRekeyingNonce = 0x16,
  kRekeyingEphemeralKey = 0x17,
  kRelayUserInfoId = 0x20,
  kRelayCertificate = 0x21,
  kSign1Relay = 0x22,  // SIGN1-relay, seed step 2
  kSign2Relay = 0x23,  // SIGN2-relay, seed step 6
};

// The largest messages, every IE at its maximum: the relayed request (step 3) and the relayed accept (step 7).
inline constexpr std::size_t kIdIe = kIeHeaderSize + kUserInfoIdMaxSize;
inline constexpr std::size_t kCertIe = kIeHeaderSize + kCertificateMaxSize;
inline constexpr std::size_t kSigIe = kIeHeaderSize + kSignatureSize;
inline constexpr std::size_t kRelayAuthInfoMax = kIdIe + kCertIe + kSigIe;
inline constexpr std::size_t kEphemeralIe = kIeHeaderSize + kEphemeralKeySize;
inline constexpr std::size_t kLargestRequest = kHeaderSize + 1 + 3 * kIdIe + (kIeHeaderSize + kLayer2IdSize) +
                                               (kIeHeaderSize + kMaxDataSuites) + (kIeHeaderSize + kNonceSize) +
                                               kEphemeralIe + kCertIe + kSigIe + kRelayAuthInfoMax;
inline constexpr std::size_t kLargestAccept = kHeaderSize + 1 + kIdIe + 2 * (kIeHeaderSize + kDigestSize) +
                                              (kIeHeaderSize + 1) + (kIeHeaderSize + kNonceSize) + kEphemeralIe +
                                              kCertIe + (kIeHeaderSize + kMacSize) + kSigIe + kRelayAuthInfoMax;
static_assert(kLargestRequest <= kMaxDatagramSize, "a relayed request must fit one datagram");
static_assert(kLargestAccept <= kMaxDatagramSize, "a relayed accept must fit one datagram");

// Discovery information element identifiers (issue #6, docs/protocol.md section 10).
enum class DiscoveryIei : std::uint8_t {
  kSenderUserInfoId = 0x30,
  kSenderLayer2Id = 0x31,
  kRelayServiceCode = 0x32,  // TS 24.554 11.2.8, 24 bits
  kReachableTargets = 0x33,  // a list of (Layer-2 ID: 3, User Info ID length: 1, User Info ID)
  kTimestamp = 0x34,         // ms since 1970-01-01 UTC, 8 octets, big-endian
  kDiscoveryNonce = 0x35,    // Model B: the solicitation's nonce, echoed by the response
  kSenderCertificate = 0x36,
  kDiscoverySignature = 0x37,
  // The UDP port of the sender's PC5 signalling (its link procedure), at the address the discovery datagram came
  // from: on PC5 discovery and signalling share the Layer 2; over UDP they are two sockets.
  kSignallingPort = 0x38,
};

// Who sent a DIRECT COMMUNICATION REJECT.
enum class RejectedBy : std::uint8_t { kRelay = 0x01, kTarget = 0x02, kSource = 0x03 };

}  // namespace u2u::wire
