#pragma once
// UE-to-UE relay discovery messages (issue #6; TS 23.304 Model A and Model B), in the same datagram framing as
// the PC5 signalling messages (docs/protocol.md section 10). Every discovery message is signed by its sender's
// provisioned credential and carries a timestamp, so that a forged or stale announcement cannot lure a source to
// a fake relay (TR 33.740 Key Issue #1).
#include <optional>
#include <string>
#include <vector>

#include "wire/messages.hpp"

namespace u2u::wire {

// The message type octet, after TS 24.554 clause 11.2.1: bits 8-7 the discovery model (01 Model A, 10 Model B),
// bits 6-3 the content type, bits 2-1 the discovery type (01: UE-to-UE relay discovery, this project's). It never
// collides with a PC5 signalling message type (those are below 0x40).
enum class DiscoveryModel : std::uint8_t { kModelA = 0x1, kModelB = 0x2 };
enum class DiscoveryContent : std::uint8_t {
  kRelayAnnouncement = 0x0,   // Model A: a relay, its service code and the targets it reaches
  kTargetAnnouncement = 0x1,  // Model A: a target, to the relays in range
  kSolicitation = 0x2,        // Model B: who reaches this target? (a source to the relays in range)
  kResponse = 0x3,            // Model B: a relay that reaches it, to the source
  kTargetSolicitation = 0x4,  // Model B: a relay asks the targets in range whether one is this target
  kTargetResponse = 0x5,      // Model B: the target, to the relay
};
constexpr std::uint8_t discovery_type(DiscoveryModel model, DiscoveryContent content) {
  return static_cast<std::uint8_t>((static_cast<std::uint8_t>(model) << 6) | (static_cast<std::uint8_t>(content) << 2) |
                                   0x01);
}
inline constexpr std::uint8_t kRelayAnnouncementType =
    discovery_type(DiscoveryModel::kModelA, DiscoveryContent::kRelayAnnouncement);  // 0x41
inline constexpr std::uint8_t kTargetAnnouncementType =
    discovery_type(DiscoveryModel::kModelA, DiscoveryContent::kTargetAnnouncement);  // 0x45
inline constexpr std::uint8_t kSolicitationType =
    discovery_type(DiscoveryModel::kModelB, DiscoveryContent::kSolicitation);  // 0x89
inline constexpr std::uint8_t kResponseType =
    discovery_type(DiscoveryModel::kModelB, DiscoveryContent::kResponse);  // 0x8d
inline constexpr std::uint8_t kTargetSolicitationType =
    discovery_type(DiscoveryModel::kModelB, DiscoveryContent::kTargetSolicitation);  // 0x91
inline constexpr std::uint8_t kTargetResponseType =
    discovery_type(DiscoveryModel::kModelB, DiscoveryContent::kTargetResponse);  // 0x95
constexpr bool is_discovery_type(std::uint8_t type) {
  return type == kRelayAnnouncementType || type == kTargetAnnouncementType || type == kSolicitationType ||
         type == kResponseType || type == kTargetSolicitationType || type == kTargetResponseType;
}

inline constexpr Layer2Id kBroadcastLayer2Id = 0xFFFFFF;  // discovery to everyone in range
inline constexpr std::size_t kMaxReachableTargets = 8;    // so that an announcement fits one datagram
inline constexpr std::size_t kTimestampSize = 8;
inline constexpr std::size_t kRelayServiceCodeSize = 3;  // TS 24.554 11.2.8: 24 bits

struct ReachableTarget {
  std::string user_info_id;
  Layer2Id layer2_id = 0;
  bool operator==(const ReachableTarget&) const = default;
};

// One structure for the four messages; which fields are present follows the type (docs/protocol.md 10.1):
//   relay announcement:  sender, sender L2, signalling port, service code, timestamp, reachable targets,
//                        certificate, signature
//   target announcement: sender, sender L2, signalling port, timestamp, certificate, signature
//   solicitation, target solicitation:
//                        sender, sender L2, target User Info ID, nonce, timestamp, certificate, signature
//   response, target response:
//                        sender, sender L2, signalling port, service code (a relay's response only), target User
//                        Info ID, target L2,
//                        nonce (the solicitation's), timestamp, certificate, signature
struct DiscoveryMessage {
  std::uint8_t type = kRelayAnnouncementType;
  std::string sender_user_info_id;
  Layer2Id sender_layer2_id = 0;
  std::uint16_t signalling_port = 0;  // announcements and responses
  std::optional<std::uint32_t> relay_service_code;
  std::vector<ReachableTarget> reachable_targets;
  std::string target_user_info_id;
  std::optional<Layer2Id> target_layer2_id;
  std::optional<Nonce> nonce;
  std::uint64_t timestamp_ms = 0;
  Bytes certificate;
  Signature signature{};
  bool operator==(const DiscoveryMessage&) const = default;
};

struct DecodedDiscovery {
  Bytes bytes;  // the message, type octet onward
  DiscoveryMessage message;
  std::size_t signature_offset = 0;
  ByteView covered_by_signature() const { return ByteView(bytes).first(signature_offset); }
};

struct DiscoveryDatagram {
  Layer2Id source = 0;
  Layer2Id destination = 0;  // kBroadcastLayer2Id, or the addressee's
  DecodedDiscovery message;
};

std::string_view discovery_name(std::uint8_t type);
Result<DecodedDiscovery> decode_discovery(ByteView message);
Result<DiscoveryDatagram> decode_discovery_datagram(ByteView datagram);
// The message without its signature IE; append_discovery_signature() completes it.
Bytes encode_discovery_unsigned(const DiscoveryMessage& message);
void append_discovery_signature(Bytes& message, const Signature& signature);

// The largest relay announcement (every target and name at its maximum) fits one datagram.
inline constexpr std::size_t kLargestRelayAnnouncement =
    kHeaderSize + 1 + kIdIe + (kIeHeaderSize + kLayer2IdSize) + (kIeHeaderSize + 2) +
    (kIeHeaderSize + kRelayServiceCodeSize) + (kIeHeaderSize + kTimestampSize) + kIeHeaderSize +
    kMaxReachableTargets * (kLayer2IdSize + 1 + kUserInfoIdMaxSize) + kCertIe + kSigIe;
static_assert(kLargestRelayAnnouncement <= kMaxDatagramSize, "a relay announcement must fit one datagram");

}  // namespace u2u::wire
