#include "impair/cli.hpp"

#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <map>
#include <string_view>

#include "common/command_line.hpp"

namespace u2u::impair {

#ifndef U2U_VERSION
#define U2U_VERSION "0.0.0"
#endif

namespace {

using command_line::parse_address;
using command_line::parse_number;

constexpr const char* kProgram = "u2u-impair";

// Every impairment flag exists three times: --NAME for both directions, --NAME-up and --NAME-down for one. A
// per-direction flag wins over --NAME whatever their order.
struct PercentFlag {
  const char* name;
  double Settings::*field;
};
constexpr PercentFlag kPercentFlags[] = {{"loss", &Settings::loss_pct},
                                         {"duplicate", &Settings::duplicate_pct},
                                         {"reorder", &Settings::reorder_pct},
                                         {"corrupt", &Settings::corrupt_pct}};
struct MillisFlag {
  const char* name;
  Millis Settings::*field;
};
constexpr MillisFlag kMillisFlags[] = {
    {"delay-ms", &Settings::delay}, {"jitter-ms", &Settings::jitter}, {"reorder-delay-ms", &Settings::reorder_delay}};
constexpr const char* kForgeRejectFlag = "forge-reject";  // its value: CAUSES (parse_causes)
constexpr const char* kSuffixes[] = {"", "-up", "-down"};

Error usage_error(std::string message) { return make_error(Cause::kNone, "usage", std::move(message)); }

std::optional<double> parse_percent(const std::string& text) {
  const auto v = parse_number<double>(text);
  if (!v || !std::isfinite(*v) || *v < 0 || *v > 100) return std::nullopt;
  return v;
}

std::optional<Millis> parse_millis(const std::string& text, Millis max) {
  const auto v = parse_number<std::int64_t>(text);
  if (!v || *v < 0 || *v > max.count()) return std::nullopt;
  return Millis(*v);
}

// "all" (every cause that goes on the wire), "none", or cause numbers separated by commas ("5,6,111").
std::optional<std::vector<Cause>> parse_causes(std::string_view text) {
  if (text == "all") return std::vector<Cause>(kWireCauses.begin(), kWireCauses.end());
  if (text == "none") return std::vector<Cause>{};
  std::vector<Cause> causes;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const auto number = parse_number<unsigned>(text.substr(start, comma - start));
    const auto known = std::find_if(kWireCauses.begin(), kWireCauses.end(),
                                    [&](Cause c) { return number && static_cast<unsigned>(c) == *number; });
    if (known == kWireCauses.end()) return std::nullopt;
    causes.push_back(*known);
    start = comma + 1;
  }
  return causes;
}

}  // namespace

std::string usage() {
  return std::string("Usage: ") + kProgram +
         " --listen ADDR:PORT --upstream ADDR:PORT [impairments] [options]\n\n"
         "UDP impairment proxy for the u2u-relay testbed (the PC5 sidelink's loss, duplication, reordering,\n"
         "delay and corruption): forwards every datagram received on --listen to --upstream, and the upstream's\n"
         "answers back to the peer they belong to. Each downstream peer gets its own socket towards the upstream\n"
         "(closed after --idle-timeout-ms unused), so the upstream sees each peer as a distinct address.\n\n"
         "Impairments, decided independently for each datagram and each direction. \"up\" is from the peers to\n"
         "the upstream, \"down\" back. Every flag below also exists with -up or -down appended (e.g. --loss-up 30\n"
         "--loss-down 10), which wins over the flag for both directions:\n"
         "      --loss PCT            drop PCT % of the datagrams (0-100, decimals allowed)\n"
         "      --duplicate PCT       send PCT % twice; the copy 1-10 ms after the original\n"
         "      --reorder PCT         hold PCT % back and send each right after the next datagram of the same peer\n"
         "                            and direction (a datagram that releases one is never held itself)\n"
         "      --reorder-delay-ms N  longest a held datagram waits for the next one, then it goes (default 50)\n"
         "      --delay-ms N          delay every datagram by N ms\n"
         "      --jitter-ms N         plus a uniform random 0-N ms\n"
         "      --corrupt PCT         flip 1-3 random bits of PCT % (the length is kept)\n"
         "      --forge-reject CAUSES act as an on-path attacker: besides forwarding them, answer DIRECT\n"
         "                            COMMUNICATION REQUESTs and ACCEPTs with forged (unsigned) REJECTs naming their\n"
         "                            request digest. Down: back to each request's sender, as if its addressee\n"
         "                            refused it. Up: after each request, as if its sender withdrew it, and back to\n"
         "                            each accept's sender, as if its addressee refused it. CAUSES: all, none, or\n"
         "                            cause numbers such as 5,6,111, used in turn; Rejected by is relay, then\n"
         "                            target, then source, each for a round of causes. Forgeries are never lost or\n"
         "                            corrupted, leave at once (a withdrawal with its request), and do not change\n"
         "                            the seed's decisions\n\n"
         "Options:\n"
         "      --listen ADDR:PORT    where the peers send (numeric address; [::1]:PORT for IPv6; port 0: any)\n"
         "      --upstream ADDR:PORT  where their datagrams go\n"
         "      --seed N              seed of the random decisions (default: from the clock; logged at start)\n"
         "      --stats-interval-ms N log the counters every N ms (default 0: only when stopping)\n"
         "      --idle-timeout-ms N   forget a peer unused for N ms (default 60000)\n"
         "      --max-peers N         peers at once; a new one evicts the least recently active (default 1024)\n"
         "      --log-format FORMAT   json (default): one JSON object per line on stdout, or text\n"
         "      --version             print the version and exit\n"
         "  -h, --help                print this help and exit\n\n"
         "Events: started (listen, upstream, seed, settings), peer_added, peer_expired, peer_evicted, stats, and\n"
         "on SIGINT/SIGTERM a last line, stopping, with per direction (up_*, down_*) the counters received,\n"
         "forwarded (copies included), dropped, duplicated, reordered, corrupted, delayed and forged.\n\n"
         "Exit codes: 0 stopped by SIGINT or SIGTERM, 2 bad usage or the listen address cannot be bound.\n";
}

std::uint64_t clock_seed() {
  std::uint64_t s = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
                    (static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) << 17);
  return Prng(s).next() & ((std::uint64_t{1} << 48) - 1);
}

Result<Options> parse(const std::vector<std::string>& args) {
  Options o;
  std::map<std::string, std::string> impairments;  // full flag name (without "--") -> its last value
  bool have_listen = false;
  bool have_upstream = false;
  command_line::FlagCursor flags(args);
  while (flags.next()) {
    const std::string& arg = flags.name();
    const auto needs = [&](const std::string& what) { return usage_error(arg + " needs " + what); };

    bool is_impairment = false;
    for (const char* suffix : kSuffixes) {
      for (const auto& f : kPercentFlags) {
        if (arg != std::string("--") + f.name + suffix) continue;
        auto v = flags.value();
        if (!v) return needs("a percentage");
        if (!parse_percent(*v)) return usage_error(arg + ": \"" + *v + "\" is not a percentage from 0 to 100");
        impairments[arg.substr(2)] = *v;
        is_impairment = true;
      }
      for (const auto& f : kMillisFlags) {
        if (arg != std::string("--") + f.name + suffix) continue;
        auto v = flags.value();
        if (!v) return needs("a number of milliseconds");
        if (!parse_millis(*v, kMaxDelaySetting)) {
          return usage_error(arg + ": \"" + *v + "\" is not a number of milliseconds from 0 to " +
                             std::to_string(kMaxDelaySetting.count()));
        }
        impairments[arg.substr(2)] = *v;
        is_impairment = true;
      }
      if (arg == std::string("--") + kForgeRejectFlag + suffix) {
        auto v = flags.value();
        if (!v) return needs("all, none or a list of causes");
        if (!parse_causes(*v)) {
          return usage_error(arg + ": \"" + *v + "\" is not all, none or a list of causes from " +
                             cause_numbers(kWireCauses) + " separated by commas");
        }
        impairments[arg.substr(2)] = *v;
        is_impairment = true;
      }
    }
    if (is_impairment) continue;

    if (arg == "--listen" || arg == "--upstream") {
      auto v = flags.value();
      if (!v) return needs("ADDR:PORT");
      const bool listen = arg == "--listen";
      const auto endpoint = parse_address(*v, listen);
      if (!endpoint) {
        return usage_error(arg + ": \"" + *v + "\" is not a numeric ADDR:PORT (e.g. 127.0.0.1:40101, [::1]:40101)");
      }
      (listen ? o.proxy.listen : o.proxy.upstream) = *endpoint;
      (listen ? have_listen : have_upstream) = true;
    } else if (arg == "--seed") {
      auto v = flags.value();
      if (!v) return needs("a number");
      const auto seed = parse_number<std::uint64_t>(*v);
      if (!seed) return usage_error("--seed: \"" + *v + "\" is not a number from 0 to 2^64-1");
      o.seed = *seed;
    } else if (arg == "--stats-interval-ms" || arg == "--idle-timeout-ms") {
      auto v = flags.value();
      if (!v) return needs("a number of milliseconds");
      const auto ms = parse_millis(*v, Millis(86'400'000));
      if (!ms || (arg == "--idle-timeout-ms" && ms->count() == 0)) {
        return usage_error(arg + ": \"" + *v + "\" is not a number of milliseconds" +
                           (arg == "--idle-timeout-ms" ? " from 1 to 86400000" : " from 0 to 86400000"));
      }
      (arg == "--stats-interval-ms" ? o.proxy.stats_interval : o.proxy.idle_timeout) = *ms;
    } else if (arg == "--max-peers") {
      auto v = flags.value();
      if (!v) return needs("a number");
      const auto n = parse_number<std::size_t>(*v);
      if (!n || *n == 0 || *n > 1'000'000) return usage_error("--max-peers: \"" + *v + "\" is not from 1 to 1000000");
      o.proxy.max_peers = *n;
    } else if (arg == "--log-format") {
      auto v = flags.value();
      if (!v) return needs("json or text");
      const auto format = logging::parse_format(*v);
      if (!format) return usage_error("--log-format: \"" + *v + "\" is not json or text");
      o.log_format = *format;
    } else if ((arg == "-h" || arg == "--help") && !flags.has_inline_value()) {
      o.help = true;
    } else if (arg == "--version" && !flags.has_inline_value()) {
      o.version = true;
    } else {
      return usage_error("unknown option '" + flags.argument() + "'");
    }
  }
  if (o.help || o.version) return o;
  if (!have_listen) return usage_error("--listen ADDR:PORT is required");
  if (!have_upstream) return usage_error("--upstream ADDR:PORT is required");

  for (const Direction d : kDirections) {
    Settings& s = o.proxy.settings[static_cast<std::size_t>(d)];
    const std::string suffix = "-" + std::string(direction_name(d));
    const auto lookup = [&](const std::string& name) -> const std::string* {
      if (auto it = impairments.find(name + suffix); it != impairments.end()) return &it->second;
      if (auto it = impairments.find(name); it != impairments.end()) return &it->second;
      return nullptr;
    };
    for (const auto& f : kPercentFlags) {
      if (const auto* v = lookup(f.name)) s.*f.field = *parse_percent(*v);
    }
    for (const auto& f : kMillisFlags) {
      if (const auto* v = lookup(f.name)) s.*f.field = *parse_millis(*v, kMaxDelaySetting);
    }
    if (const auto* v = lookup(kForgeRejectFlag)) s.forge_reject = *parse_causes(*v);
  }
  return o;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse(args);
  if (!parsed) {
    err << kProgram << ": " << parsed.error().reason << "\nTry '" << kProgram << " --help'.\n";
    return kExitUsage;
  }
  Options& o = *parsed;
  if (o.help) {
    out << usage();
    return kExitOk;
  }
  if (o.version) {
    out << kProgram << " " U2U_VERSION " (UDP impairment proxy for the u2u-relay testbed)\n";
    return kExitOk;
  }
  o.proxy.seed = o.seed.value_or(clock_seed());

  logging::EventLog log(kProgram, o.log_format, protocol::Level::kInfo);
  boost::asio::io_context io;
  Proxy proxy(io, o.proxy, log);
  if (auto bound = proxy.bind(); !bound) {
    err << kProgram << ": " << bound.error().reason << "\n";
    return kExitUsage;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    log.emit(proxy.counters_event("stopping").with("signal", static_cast<std::int64_t>(signal)));
    proxy.stop();
    io.stop();
  });
  proxy.start();
  io.run();
  return kExitOk;
}

}  // namespace u2u::impair
