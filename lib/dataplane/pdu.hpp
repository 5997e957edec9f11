#pragma once
// The data PDU (docs/protocol.md 11.3): the per-hop datagram header, then
//   type 0x30 (1) || link label (8) || KD-sess ID (2) || BEARER (1) || COUNT (4) || payload || MAC-I or tag.
// Decoding only splits and bounds-checks; what the fields mean is checked by DataLink (ends) or the relay.
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "dataplane/constants.hpp"
#include "wire/messages.hpp"

namespace u2u::dataplane {

using LinkLabel = std::array<std::uint8_t, kLinkLabelSize>;
LinkLabel link_label(const wire::Digest& request_digest);  // its first octets

struct PduHeader {
  LinkLabel link_label{};
  std::uint16_t kd_sess_id = 0;
  std::uint8_t bearer = 0;
  std::uint32_t count = 0;
};

// A received data PDU, split (views into the datagram).
struct PduView {
  wire::Layer2Id source = 0;
  wire::Layer2Id destination = 0;
  PduHeader header;
  ByteView covered;  // type octet through COUNT: the header the MAC or tag covers
  std::size_t payload_offset = 0;
  std::size_t payload_size = 0;  // with the trailer: trailer_size(suite) octets at the end
};

// True when the datagram's version and type say "data PDU" (the cheap test before any routing).
bool is_data_pdu(ByteView datagram);
// Splits a data PDU: refuses a wrong version or type, and one shorter than its header (cause #111, check
// "pdu_format"), or longer than the protocol's largest datagram.
Result<PduView> parse_pdu(ByteView datagram);
// Writes the datagram header and the PDU header into `out` (at least kPduPrefixSize octets).
void write_pdu_prefix(std::span<std::uint8_t> out, wire::Layer2Id source, wire::Layer2Id destination,
                      const PduHeader& header);
// Rewrites the per-hop Layer-2 IDs of a datagram in place (the relay's only change to a data PDU).
void readdress(std::span<std::uint8_t> datagram, wire::Layer2Id source, wire::Layer2Id destination);

// The 16 bits of a KD-sess ID (8 hex digits, logged) that a data PDU carries: its first two octets.
std::uint16_t short_kd_sess_id(std::string_view kd_sess_id_hex);

}  // namespace u2u::dataplane
