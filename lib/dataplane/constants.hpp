#pragma once
// Every constant of the data plane (docs/protocol.md section 11), with its source.
#include <cstddef>
#include <cstdint>

#include "wire/constants.hpp"

namespace u2u::dataplane {

// The data PDU's message type octet (after the per-hop datagram header); outside TS 24.554's signalling types.
inline constexpr std::uint8_t kDataPduType = 0x30;

// Data PDU header after the datagram header: type (1) || link label (8) || KD-sess ID (2) || BEARER (1) || COUNT (4).
// The link label is the first octets of the link's request digest (the session label of the logs): the relay routes
// by it. The 16-bit KD-sess ID names the keys, as TS 38.323 6.3.13 carries the KNRP-sess ID. COUNT is carried whole:
// no HFN to keep in step over a lossy UDP hop (TS 38.323 5.2.2.1 reconstructs it from a shorter SN).
inline constexpr std::size_t kLinkLabelSize = 8;
inline constexpr std::size_t kKdSessIdSize = 2;
inline constexpr std::size_t kBearerSize = 1;
inline constexpr std::size_t kCountSize = 4;
inline constexpr std::size_t kPduHeaderSize = 1 + kLinkLabelSize + kKdSessIdSize + kBearerSize + kCountSize;
inline constexpr std::size_t kPduPrefixSize = wire::kHeaderSize + kPduHeaderSize;  // what precedes the payload
inline constexpr std::size_t kNia2MacSize = 4;                                     // MAC-I (TS 33.501 D.3)
inline constexpr std::size_t kGcmTagSize = 16;
inline constexpr std::size_t kMaxTrailerSize = kGcmTagSize;
// The largest payload one datagram carries under every suite: the TUN MTU's default.
inline constexpr std::size_t kMaxPayloadSize = wire::kMaxDatagramSize - kPduPrefixSize - kMaxTrailerSize;

// BEARER (5 bits, TS 33.401 B.1.3): 0 the TUN interface's IP packets, 1-31 the UDP forwards (data.udp_forward).
inline constexpr std::uint8_t kTunBearer = 0;
inline constexpr std::uint8_t kMaxBearer = 31;
// DIRECTION (1 bit): what the source UE sends, and what the target UE sends.
inline constexpr std::uint8_t kDirectionFromSource = 0;
inline constexpr std::uint8_t kDirectionFromTarget = 1;

// COUNT never repeats under one key: a sender stops sending on a key at this COUNT (the link is then released and
// established anew until rekeying exists), far enough below 2^32 that the last PDUs in flight are still received.
inline constexpr std::uint64_t kCountLimit = (std::uint64_t{1} << 32) - (std::uint64_t{1} << 16);

// Rekeying (docs/protocol.md 12): an end starts one once it sent data.rekey_after_packets PDUs under its keys
// (default 2^30, a quarter of COUNT's range), and always at kRekeyForcedAtCount, 2^24 PDUs before kCountLimit; while
// none completes it asks again every kRekeyRetryPackets PDUs. COUNT restarts at 0 under new keys.
inline constexpr std::uint64_t kDefaultRekeyAfterPackets = std::uint64_t{1} << 30;
inline constexpr std::uint64_t kRekeyForcedAtCount = kCountLimit - (std::uint64_t{1} << 24);
inline constexpr std::uint64_t kRekeyRetryPackets = std::uint64_t{1} << 16;

// The replay window (RFC 6479): a ring of kReplayWindowBits bits, of which kReplayWindowSize COUNTs behind the highest
// are tracked (one word is kept spare so that sliding never clears a tracked COUNT). WireGuard tracks 8,128.
inline constexpr std::size_t kReplayWindowBits = 4096;
inline constexpr std::size_t kReplayWindowSize = kReplayWindowBits - 64;

// UDP forwards (data.udp_forward): the payload starts with the flow's 16-bit ID, chosen by the listening end for
// each client address; a flow idle this long is forgotten, and a forward holds at most this many flows.
inline constexpr std::size_t kFlowIdSize = 2;
inline constexpr std::uint32_t kDefaultFlowIdleMs = 60000;
inline constexpr std::size_t kMaxFlowsPerForward = 1024;

}  // namespace u2u::dataplane
