#pragma once
// The command line every daemon shares: --config FILE, --check-config, --log-format text|json, --version,
// --help, and role-specific flags (source-ue: --once).
#include <optional>
#include <string>
#include <vector>

#include "logging/event_log.hpp"

namespace u2u::daemon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // e.g. source-ue --once could not establish the link
inline constexpr int kExitUsage = 2;    // bad flags or bad configuration

struct Options {
  std::string config;
  bool check_config = false;
  bool once = false;
  bool help = false;
  bool version = false;
  std::optional<logging::Format> log_format;
};

struct FlagSpec {
  std::string program;
  std::string summary;
  bool has_once = false;
};

// nullopt after printing a usage error to stderr.
std::optional<Options> parse(const FlagSpec& spec, const std::vector<std::string>& args);
std::string usage(const FlagSpec& spec);
std::string version_text(const std::string& program);

}  // namespace u2u::daemon
