#pragma once
// A UDP address as a plain value, so that the protocol core can route answers without doing I/O.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace u2u {

struct Endpoint {
  std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 octets when !v6
  bool v6 = false;
  std::uint16_t port = 0;

  auto operator<=>(const Endpoint&) const = default;
  std::string to_string() const;
  // "1.2.3.4" or "::1" plus a port; nullopt when the text is not a numeric address.
  static std::optional<Endpoint> parse(std::string_view address, std::uint16_t port);
};

// A DNS host name (RFC 1123 2.1): dot-separated labels of letters, digits and hyphens, 1-63 octets each, not starting
// or ending with a hyphen, at most 253 octets in all, its last label not all digits (so that no mistyped numeric
// address passes for a name).
bool is_host_name(std::string_view text);

}  // namespace u2u
