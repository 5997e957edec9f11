#include "wire/ie_schema.hpp"

#include <algorithm>

#include "wire/messages.hpp"

namespace u2u::wire::detail {

Result<Header> decode_header(ByteView datagram) {
  if (datagram.size() > kMaxDatagramSize) {
    return make_error(
        Cause::kProtocolErrorUnspecified, "decode",
        "datagram of " + std::to_string(datagram.size()) + " octets exceeds " + std::to_string(kMaxDatagramSize));
  }
  Reader reader(datagram);
  const auto version = reader.u8();
  const auto source = reader.u24();
  const auto destination = reader.u24();
  if (!version || !source || !destination) {
    return make_error(Cause::kProtocolErrorUnspecified, "decode", "datagram shorter than its header");
  }
  if (*version != kProtocolVersion) {
    return make_error(Cause::kProtocolErrorUnspecified, "decode",
                      "unsupported protocol version " + std::to_string(*version));
  }
  return Header{*source, *destination};
}

Error decode_error(std::string_view message, std::string reason) {
  return make_error(Cause::kProtocolErrorUnspecified, "decode", std::string(message) + ": " + std::move(reason));
}

std::string hex_iei(std::uint8_t iei) {
  return "0x" + to_hex(ByteView(&iei, 1)) + " (" + std::string(iei_name(iei)) + ")";
}

Status parse_ies(std::string_view message, ByteView bytes, std::span<const IeSpec> schema, Found& found) {
  Reader reader(bytes.subspan(1));
  std::ptrdiff_t last_index = -1;
  while (!reader.empty()) {
    const std::size_t offset = 1 + reader.position();
    const auto iei = reader.u8();
    const auto length = reader.u16();
    if (!iei || !length) return decode_error(message, "truncated IE header at offset " + std::to_string(offset));
    const auto value = reader.bytes(*length);
    if (!value) {
      return decode_error(message, "IE " + hex_iei(*iei) + " at offset " + std::to_string(offset) + " declares " +
                                       std::to_string(*length) + " octets, " + std::to_string(reader.remaining()) +
                                       " remain");
    }
    const auto it = std::find_if(schema.begin(), schema.end(), [&](const IeSpec& s) { return s.iei == *iei; });
    if (it == schema.end()) {
      if ((*iei & kIeiComprehensionNotRequired) != 0) continue;  // unknown but may be ignored; still signed over
      return decode_error(message, "unknown comprehension-required IE " + hex_iei(*iei));
    }
    const auto index = it - schema.begin();
    if (found[index].present) return decode_error(message, "duplicate IE " + hex_iei(*iei));
    if (index < last_index) return decode_error(message, "IE " + hex_iei(*iei) + " out of order");
    if (*length < it->min_size || *length > it->max_size) {
      return decode_error(message, "IE " + hex_iei(*iei) + " has length " + std::to_string(*length) + ", allowed " +
                                       std::to_string(it->min_size) + ".." + std::to_string(it->max_size));
    }
    found[index] = FoundIe{*value, offset, 1 + reader.position(), true};
    last_index = index;
  }
  bool any_relay = false;
  bool all_relay = true;
  bool has_relay_group = false;
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].group == 0 && !found[i].present) {
      return decode_error(message, "missing mandatory IE " + hex_iei(schema[i].iei));
    }
    if (schema[i].group == 1) {
      has_relay_group = true;
      any_relay = any_relay || found[i].present;
      all_relay = all_relay && found[i].present;
    }
  }
  if (has_relay_group && any_relay && !all_relay) return decode_error(message, "incomplete relay Authentication_Info");
  return {};
}

Result<std::string> user_info_id(std::string_view message, ByteView value) {
  for (std::uint8_t c : value) {
    if (c < 0x21 || c > 0x7E) return decode_error(message, "User Info ID holds a character outside printable ASCII");
  }
  return std::string(value.begin(), value.end());
}

Status nothing_after(std::string_view message, const FoundIe& last_signature, std::size_t message_size) {
  if (last_signature.end != message_size) {
    return decode_error(message,
                        std::to_string(message_size - last_signature.end) + " octets after the final signature");
  }
  return {};
}

void put_ie(Writer& w, std::uint8_t iei, ByteView value) {
  w.u8(iei);
  w.u16(static_cast<std::uint16_t>(value.size()));
  w.bytes(value);
}

std::array<std::uint8_t, 3> l2_octets(std::uint32_t id) {
  return {static_cast<std::uint8_t>(id >> 16), static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
}

}  // namespace u2u::wire::detail
