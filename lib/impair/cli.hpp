#pragma once
// u2u-impair's command line, apart from main() so that tests parse flags without starting a proxy.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "impair/proxy.hpp"
#include "logging/event_log.hpp"

namespace u2u::impair {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;  // bad flags, or the listen address cannot be bound

struct Options {
  ProxyConfig proxy;
  std::optional<std::uint64_t> seed;  // nullopt: from the clock
  logging::Format log_format = logging::Format::kJson;
  bool help = false;
  bool version = false;
};

// `args` without the program name. The error's reason is the message for the person at the terminal.
Result<Options> parse(const std::vector<std::string>& args);
std::string usage();
// A seed from the clock, below 2^48 so that JSON readers that hold numbers as doubles keep it exact.
std::uint64_t clock_seed();
// Parses, binds, forwards until SIGINT/SIGTERM; returns the exit code.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace u2u::impair
