#pragma once
// The type-length-value framing every message shares, decoded against a per-message schema: bounds-checked,
// strictly ordered, no duplicates, unknown comprehension-required IEs refused (docs/protocol.md section 2).
// Private to lib/wire.
#include <array>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "wire/constants.hpp"
#include "wire/reader.hpp"

namespace u2u::wire::detail {

// An IE as the schema expects it. Group 0 IEs are mandatory; group 1 is the relay's Authentication_Info,
// present as a whole or not at all; group 2 IEs are optional.
struct IeSpec {
  std::uint8_t iei;
  std::uint16_t min_size;
  std::uint16_t max_size;
  std::uint8_t group;
  constexpr IeSpec(Iei i, std::uint16_t min, std::uint16_t max, std::uint8_t g)
      : iei(static_cast<std::uint8_t>(i)), min_size(min), max_size(max), group(g) {}
  constexpr IeSpec(DiscoveryIei i, std::uint16_t min, std::uint16_t max, std::uint8_t g)
      : iei(static_cast<std::uint8_t>(i)), min_size(min), max_size(max), group(g) {}
};

struct FoundIe {
  ByteView value;
  std::size_t offset = 0;  // of the IEI octet
  std::size_t end = 0;     // one past the value
  bool present = false;
};

inline constexpr std::size_t kMaxSchemaSize = 12;
using Found = std::array<FoundIe, kMaxSchemaSize>;

Error decode_error(std::string_view message, std::string reason);

// The datagram header (docs/protocol.md section 2), checked: size bound, length, version.
struct Header {
  std::uint32_t source = 0;
  std::uint32_t destination = 0;
};
Result<Header> decode_header(ByteView datagram);
std::string hex_iei(std::uint8_t iei);
// Parses the IEs after the message type octet of `bytes` against `schema`, filling `found` (indexed like it).
Status parse_ies(std::string_view message, ByteView bytes, std::span<const IeSpec> schema, Found& found);
Result<std::string> user_info_id(std::string_view message, ByteView value);
// Anything after the last signature would be covered by no signature.
Status nothing_after(std::string_view message, const FoundIe& last_signature, std::size_t message_size);

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const FoundIe& ie) {
  std::array<std::uint8_t, N> out{};
  std::copy(ie.value.begin(), ie.value.end(), out.begin());
  return out;
}

inline std::uint32_t u24(ByteView v) { return (std::uint32_t{v[0]} << 16) | (std::uint32_t{v[1]} << 8) | v[2]; }

void put_ie(Writer& w, std::uint8_t iei, ByteView value);
inline void put_ie(Writer& w, Iei iei, ByteView value) { put_ie(w, static_cast<std::uint8_t>(iei), value); }
inline void put_ie(Writer& w, DiscoveryIei iei, ByteView value) { put_ie(w, static_cast<std::uint8_t>(iei), value); }
std::array<std::uint8_t, 3> l2_octets(std::uint32_t layer2_id);

}  // namespace u2u::wire::detail
