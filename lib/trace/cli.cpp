#include "trace/cli.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/command_line.hpp"
#include "trace/parser.hpp"
#include "trace/render.hpp"
#include "trace/timeline.hpp"

namespace u2u::trace {

namespace {

constexpr const char* kProgram = "u2u-trace";

struct Options {
  std::vector<std::string> inputs;
  std::optional<std::string> session;
  std::optional<std::string> svg;
  bool help = false;
  bool version = false;
};

std::optional<Options> parse(const std::vector<std::string>& args, std::ostream& err) {
  Options o;
  const auto fail = [&](const std::string& message) -> std::optional<Options> {
    err << kProgram << ": " << message << "\nTry '" << kProgram << " --help'.\n";
    return std::nullopt;
  };
  bool only_files = false;
  command_line::FlagCursor flags(args);
  while (flags.next()) {
    const std::string& given = flags.argument();
    if (only_files || given == "-" || given.empty() || given[0] != '-') {
      o.inputs.push_back(given);
      continue;
    }
    if (given == "--") {
      only_files = true;
      continue;
    }
    const std::string& arg = flags.name();
    const bool inline_value = flags.has_inline_value();
    if (arg == "--session") {
      auto v = flags.value();
      if (!v || v->empty()) return fail("--session needs a session ID (16 hex digits, as logged)");
      o.session = *v;
    } else if (arg == "--svg") {
      auto v = flags.value();
      if (!v || v->empty()) return fail("--svg needs a file");
      o.svg = *v;
    } else if ((arg == "-h" || arg == "--help") && !inline_value) {
      o.help = true;
    } else if (arg == "--version" && !inline_value) {
      o.version = true;
    } else {
      return fail("unknown option '" + flags.argument() + "'");
    }
  }
  if (o.inputs.empty()) o.inputs.push_back("-");
  return o;
}

}  // namespace

std::string usage() {
  return std::string("Usage: ") + kProgram +
         " [options] [FILE...]\n\n"
         "Reads the JSON logs of source-ue, relay-ue and target-ue (--log-format json), from one host or three,\n"
         "merges them by time and prints, per handshake (session), the ladder of seed steps 1-8 across the\n"
         "parties with each event's offset from the session's first event, where a check failed (party, check,\n"
         "cause, reason), and the outcome: link_established at both ends with equal kd_id, or not. A rekeying of\n"
         "the link shows its REQUEST, RESPONSE and CONFIRM (logged at debug level) and the rekeyed event of each\n"
         "end with its generation and kd_sess_id; ends with different keys after a rekeying are a warning.\n"
         "Reads standard input when no FILE is given or FILE is '-'. Lines that are not JSON are skipped and\n"
         "counted on standard error.\n\n"
         "Options:\n"
         "      --session ID   show only that session\n"
         "      --svg FILE     also write the sessions shown as an SVG sequence diagram\n"
         "      --version      print the version and exit\n"
         "  -h, --help         print this help and exit\n\n"
         "Exit codes: 0 every session shown was established at both ends, 1 some failed or never completed\n"
         "(or there was no session to show, or a link failed before any request was sent, or a rekeying left\n"
         "the ends with different keys), 2 bad usage or an input or output file that cannot be used.\n";
}

int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  auto options = parse(args, err);
  if (!options) return kExitUsage;
  if (options->help) {
    out << usage();
    return kExitEstablished;
  }
  if (options->version) {
    out << kProgram << " " U2U_VERSION " (3GPP TR 33.740 Key Issue #2 UE-to-UE relay authentication)\n";
    return kExitEstablished;
  }

  ParseStats stats;
  std::vector<std::vector<Record>> inputs;
  bool stdin_read = false;
  for (const auto& name : options->inputs) {
    const std::size_t index = inputs.size();
    if (name == "-") {
      if (stdin_read) continue;  // one standard input, however often it is named
      stdin_read = true;
      inputs.push_back(parse_stream(in, index, stats));
      if (in.bad()) {
        err << kProgram << ": cannot read standard input\n";
        return kExitUsage;
      }
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(name, ec)) {
      err << kProgram << ": cannot read " << name << ": is a directory\n";
      return kExitUsage;
    }
    std::ifstream file(name);
    if (!file) {
      err << kProgram << ": cannot read " << name << ": " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
    inputs.push_back(parse_stream(file, index, stats));
    if (file.bad()) {
      err << kProgram << ": cannot read " << name << "\n";
      return kExitUsage;
    }
  }
  if (stats.not_json > 0) {
    // Among JSON lines, others are another program's (docker-compose's "Attaching to ..."): no advice then.
    err << kProgram << ": skipped " << stats.not_json << (stats.not_json == 1 ? " line that is" : " lines that are")
        << " not JSON" << (stats.records == 0 ? " (run the daemons with --log-format json)" : "") << "\n";
  }
  if (stats.invalid > 0) {
    err << kProgram << ": skipped " << stats.invalid << " JSON " << (stats.invalid == 1 ? "line" : "lines")
        << " without a valid time, role and event, or nested deeper than a log line\n";
  }

  const Timeline timeline = build_timeline(merge(std::move(inputs)));
  std::vector<const Session*> shown;
  if (options->session) {
    const Session* s = find_session(timeline, *options->session);
    if (s == nullptr) {
      err << kProgram << ": no session " << printable(*options->session) << " in the input\n";
      return kExitNotEstablished;
    }
    shown.push_back(s);
  } else {
    for (const auto& s : timeline.sessions) shown.push_back(&s);
  }

  for (std::size_t i = 0; i < shown.size(); ++i) out << (i ? "\n" : "") << render_text(*shown[i]);
  if (!options->session) {
    if (timeline.sessions.empty()) {
      out << "no session: no event in the input carries one\n";
      out << render_sessionless(timeline.after, "events", false);
    } else {
      const std::string after = render_sessionless(timeline.after, "after the last session", true);
      if (!after.empty()) out << '\n' << after;
      out << '\n' << render_totals(shown);
    }
  }

  if (options->svg) {
    std::ofstream svg(*options->svg, std::ios::binary | std::ios::trunc);
    svg << render_svg(shown);
    svg.close();
    if (!svg) {
      err << kProgram << ": cannot write " << *options->svg << "\n";
      return kExitUsage;
    }
  }

  if (shown.empty()) return kExitNotEstablished;
  if (!options->session && timeline.failures_without_session > 0) return kExitNotEstablished;
  for (const Session* s : shown) {
    if (s->outcome != Outcome::kEstablished || !s->warnings.empty()) return kExitNotEstablished;
  }
  return kExitEstablished;
}

}  // namespace u2u::trace
