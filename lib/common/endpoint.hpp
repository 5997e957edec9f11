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

}  // namespace u2u
