#include "common/endpoint.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace u2u {

std::string Endpoint::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, address.data(), text, sizeof text);
  return v6 ? "[" + std::string(text) + "]:" + std::to_string(port) : std::string(text) + ":" + std::to_string(port);
}

std::optional<Endpoint> Endpoint::parse(std::string_view address, std::uint16_t port) {
  const std::string text(address);
  Endpoint e;
  e.port = port;
  if (inet_pton(AF_INET, text.c_str(), e.address.data()) == 1) return e;
  e.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), e.address.data()) == 1) return e;
  return std::nullopt;
}

}  // namespace u2u
