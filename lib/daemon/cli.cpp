#include "daemon/cli.hpp"

#include <iostream>

#include "common/command_line.hpp"

namespace u2u::daemon {

#ifndef U2U_VERSION
#define U2U_VERSION "0.0.0"
#endif

std::string usage(const FlagSpec& spec) {
  std::string text = "Usage: " + spec.program + " --config FILE [options]\n\n" + spec.summary +
                     "\n\nOptions:\n"
                     "  -c, --config FILE         YAML configuration: u2u-relay.yaml(5), with documented examples\n"
                     "                            in <prefix>/share/doc/u2u-relay/examples\n"
                     "      --check-config        validate the configuration and credentials, then exit\n"
                     "                            (0 good, 2 bad)\n"
                     "      --log-format FORMAT   text (default) or json: one JSON object per line on stdout\n";
  if (spec.has_once) {
    text += "      --once                establish one link, print the result, exit 0 on success, 1 on failure\n";
  }
  text +=
      "      --version             print the version and exit\n"
      "  -h, --help                print this help and exit\n\n"
      "Exit codes: 0 success, 1 failure at run time, 2 bad usage or configuration.\n\n"
      "Signals:\n"
      "  SIGTERM, SIGINT           stop (source-ue releases its link first; a second signal stops at once)\n"
      "  SIGHUP                    reload credentials, CA certificate and deny list; recheck every link\n"
      "  SIGUSR1                   rekey every link (source-ue, target-ue; relay-ue logs it and goes on)\n";
  return text;
}

std::string version_text(const std::string& program) {
  return program + " " U2U_VERSION " (3GPP TR 33.740 Key Issue #2 UE-to-UE relay authentication)\n";
}

std::optional<Options> parse(const FlagSpec& spec, const std::vector<std::string>& args) {
  Options o;
  const auto fail = [&](const std::string& message) -> std::optional<Options> {
    std::cerr << spec.program << ": " << message << "\nTry '" << spec.program << " --help'.\n";
    return std::nullopt;
  };
  command_line::FlagCursor flags(args);
  while (flags.next()) {
    const std::string& arg = flags.name();
    const bool inline_value = flags.has_inline_value();
    if (arg == "-c" || arg == "--config") {
      auto v = flags.value();
      if (!v) return fail(arg + " needs a file");
      o.config = *v;
    } else if (arg == "--log-format") {
      auto v = flags.value();
      if (!v) return fail("--log-format needs text or json");
      o.log_format = logging::parse_format(*v);
      if (!o.log_format) return fail("--log-format: \"" + *v + "\" is not text or json");
    } else if (arg == "--check-config" && !inline_value) {
      o.check_config = true;
    } else if (arg == "--once" && spec.has_once && !inline_value) {
      o.once = true;
    } else if ((arg == "-h" || arg == "--help") && !inline_value) {
      o.help = true;
    } else if (arg == "--version" && !inline_value) {
      o.version = true;
    } else {
      return fail("unknown option '" + flags.argument() + "'");
    }
  }
  if (!o.help && !o.version && o.config.empty()) return fail("--config FILE is required");
  return o;
}

}  // namespace u2u::daemon
