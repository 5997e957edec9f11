#pragma once
// What the tools' command lines (u2u-impair, u2u-load) share: flags given as "--name value" or "--name=value",
// whole numbers, and numeric ADDR:PORT addresses.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/endpoint.hpp"

namespace u2u::command_line {

// The whole of `text` as a number of type T (integer or floating point); nullopt otherwise.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// "127.0.0.1:40101" or "[::1]:40101"; numeric addresses only. Port 0 only when `port_zero_ok`.
inline std::optional<Endpoint> parse_address(const std::string& text, bool port_zero_ok = false) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const auto p = parse_number<std::uint16_t>(port);
  if (!p || (*p == 0 && !port_zero_ok)) return std::nullopt;
  return Endpoint::parse(host, *p);
}

// Walks the arguments one flag at a time: `while (flags.next()) { if (flags.name() == "--x") v = flags.value(); }`.
class FlagCursor {
 public:
  explicit FlagCursor(const std::vector<std::string>& args) : args_(args) {}

  // Moves to the next argument; false after the last.
  bool next() {
    if (++at_ >= args_.size()) return false;
    name_ = args_[at_];
    inline_value_.reset();
    if (const auto eq = name_.find('='); name_.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value_ = name_.substr(eq + 1);
      name_.resize(eq);
    }
    return true;
  }
  // The flag without its "=value"; the argument as given; whether it had "=value" (wrong for a switch).
  const std::string& name() const { return name_; }
  const std::string& argument() const { return args_[at_]; }
  bool has_inline_value() const { return inline_value_.has_value(); }
  // The flag's value: what followed '=', else the next argument (which it consumes); nullopt when there is none.
  std::optional<std::string> value() {
    if (inline_value_) return inline_value_;
    if (at_ + 1 < args_.size()) return args_[++at_];
    return std::nullopt;
  }

 private:
  const std::vector<std::string>& args_;
  std::size_t at_ = static_cast<std::size_t>(-1);
  std::string name_;
  std::optional<std::string> inline_value_;
};

}  // namespace u2u::command_line
