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

bool is_host_name(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);  // a fully qualified name's root
  if (text.empty() || text.size() > 253) return false;
  bool all_digits = true;
  std::size_t label = 0;  // the current label's length
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label == 0 || label > 63 || text[i - 1] == '-' || text[i - label] == '-') return false;
      if (i < text.size()) all_digits = true, label = 0;
      continue;
    }
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    if (!digit && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-') return false;
    all_digits = all_digits && digit;
    ++label;
  }
  return !all_digits;
}

}  // namespace u2u
