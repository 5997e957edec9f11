#include "load/options.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "common/command_line.hpp"

namespace u2u::load {

namespace {

using command_line::parse_address;
using command_line::parse_number;

constexpr wire::Layer2Id kMaxLayer2Id = 0xFFFFFF;
constexpr std::size_t kMaxSources = 100000;
constexpr std::size_t kMaxSockets = 60000;

Error usage_error(std::string message) { return make_error(Cause::kNone, "usage", std::move(message)); }

std::optional<std::uint64_t> parse_count(const std::string& text, std::uint64_t min, std::uint64_t max) {
  const auto v = parse_number<std::uint64_t>(text);
  if (!v || *v < min || *v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_rate(const std::string& text) {
  const auto v = parse_number<double>(text);
  if (!v || !std::isfinite(*v) || *v < 0 || *v > 1e7) return std::nullopt;
  return v;
}

// A 24-bit Layer-2 ID, hex (0x...) or decimal, as in the daemons' configs.
std::optional<wire::Layer2Id> parse_layer2_id(const std::string& text) {
  std::optional<std::uint64_t> v;
  if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data() + 2, end, value, 16);
    if (ec == std::errc() && ptr == end && text.size() > 2) v = value;
  } else {
    v = parse_number<std::uint64_t>(text);
  }
  if (!v || *v > kMaxLayer2Id) return std::nullopt;
  return static_cast<wire::Layer2Id>(*v);
}

// A host name for --relay NAME:PORT (letters, digits, '.', '-', '_'), as a Docker service name is.
bool host_name(const std::string& text) {
  if (text.empty() || text.size() > 253) return false;
  for (const char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return false;
  }
  return true;
}

bool printable_id(const std::string& text) {
  for (const char c : text) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

// --timers KEY=VALUE,...: the source-ue config's timer keys (config/source-ue.yaml), with its ranges.
Status parse_timers(const std::string& text, Options& o) {
  struct Key {
    const char* name;
    std::uint64_t min;
    std::uint64_t max;
  };
  static const Key kKeys[] = {{"t5080_ms", 10, 60000},
                              {"t5080_max_ms", 10, 600000},
                              {"max_tries", 1, 100},
                              {"keepalive_interval_ms", 100, 3600000},
                              {"keepalive_timeout_ms", 10, 60000},
                              {"keepalive_max_tries", 1, 20}};
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    at = comma + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const Key* key = nullptr;
    for (const auto& k : kKeys) {
      if (name == k.name) key = &k;
    }
    if (key == nullptr || eq == std::string::npos) {
      return usage_error("--timers: \"" + item +
                         "\" is not KEY=VALUE with KEY one of t5080_ms, t5080_max_ms, max_tries, "
                         "keepalive_interval_ms, keepalive_timeout_ms, keepalive_max_tries");
    }
    const auto v = parse_count(item.substr(eq + 1), key->min, key->max);
    if (!v) {
      return usage_error("--timers: " + name + " must be from " + std::to_string(key->min) + " to " +
                         std::to_string(key->max));
    }
    const auto n = static_cast<unsigned>(*v);
    if (name == "t5080_ms") o.t5080.initial = Millis(*v);
    if (name == "t5080_max_ms") o.t5080.max_wait = Millis(*v);
    if (name == "max_tries") o.t5080.max_tries = n;
    if (name == "keepalive_interval_ms") o.keepalive_interval = Millis(*v);
    if (name == "keepalive_timeout_ms") o.t5085.initial = o.t5085.max_wait = Millis(*v);
    if (name == "keepalive_max_tries") o.t5085.max_tries = n;
  }
  return {};
}

}  // namespace

std::string usage() {
  return "Usage: u2u-load --ca DIR --relay ADDR:PORT [--sources N] [floods] [options]\n"
         "  or:  u2u-load --ca CA_CERT --credentials FILE --relay ADDR:PORT --hold [--reestablish] [options]\n\n"
         "Drives many simulated source UEs through one real relay-ue to a real target-ue, in one process: each\n"
         "source has its own credential (issued at start from the CA in DIR, User Info ID PREFIX0001, ...), its\n"
         "own 24-bit Layer-2 ID and its own UDP socket, and runs the source UE's state machine (T5080\n"
         "retransmission, LINK CONFIRM until acknowledged, keep-alive, release). Optionally floods the relay\n"
         "meanwhile, samples the relay's memory, and reports what it measured.\n\n"
         "Where:\n"
         "      --ca DIR                 provisioning CA (cert.pem, key.pem), e.g. the testbed's DIR/ca\n"
         "      --relay ADDR:PORT        the relay-ue's address (numeric; [::1]:PORT for IPv6), or NAME:PORT: a\n"
         "                               host name, resolved at the start and before each --reestablish\n"
         "      --credentials FILE       the sources' credentials, issued beforehand (u2u-provision issue, each\n"
         "                               source's cert.pem then its key.pem, concatenated): source i is the\n"
         "                               i-th pair, its User Info ID its certificate's CN; no CA key is needed,\n"
         "                               --ca names the CA's certificate (a file, or DIR/cert.pem). --sources\n"
         "                               defaults to every pair; no floods (they issue their own credential)\n"
         "      --relay-id ID            its User Info ID (default relay-ue)\n"
         "      --relay-layer2-id N      its Layer-2 ID, hex 0x... or decimal (default 0x000002)\n"
         "      --target-id ID           the target UE's User Info ID (default target-ue)\n"
         "      --target-layer2-id N     its Layer-2 ID (default 0x000003)\n"
         "      --bind ADDR              local address of every socket (default: any, the relay's family)\n"
         "      --hosts ADDR             socket n (sources first, then the floods) from IPv4 ADDR + n: each\n"
         "                               simulated UE its own host, as the relay counts them (its rate limit and\n"
         "                               quotas are per host). Default 127.100.0.1 for a relay on 127/8 without\n"
         "                               --bind (every 127/8 address is local on Linux)\n"
         "      --one-host               every socket from --bind or any address: the relay sees one host\n\n"
         "Handshakes:\n"
         "      --sources N              simulated sources, one handshake each (default 0)\n"
         "      --concurrency C          at most C handshakes in progress at once (default 50)\n"
         "      --hold                   keep each confirmed link (keep-alive) until the end, then release it;\n"
         "                               without it a source releases its link once confirmed\n"
         "      --hold-ms N              with --hold: how long after the last handshake (default 2000)\n"
         "      --reestablish            with --hold: a held link that is lost (the keep-alive goes unanswered,\n"
         "                               e.g. the relay restarted) is established anew, as source-ue does, until\n"
         "                               it is confirmed (counted apart: reestablished)\n"
         "      --id-prefix PREFIX       User Info IDs PREFIX0001, PREFIX0002, ... (default load-source-)\n"
         "      --layer2-base N          source i gets Layer-2 ID N + i (default 0x100000)\n"
         "      --timers KEY=V,...       source timers, keys as in config/source-ue.yaml: t5080_ms,\n"
         "                               t5080_max_ms, max_tries, keepalive_interval_ms, keepalive_timeout_ms,\n"
         "                               keepalive_max_tries (defaults 500, 1000, 20, 10000, 1000, 3)\n\n"
         "Floods, while the handshakes run (from --flood-lead-ms before the first until the last ends):\n"
         "      --junk-rate R            R junk datagrams/s to the relay, from --junk-sockets ports (default 64):\n"
         "                               random bytes, a valid header with garbage, truncated real requests\n"
         "      --bad-signature-rate R   R DIRECT COMMUNICATION REQUESTs/s with a genuine certificate, a fresh\n"
         "                               Nonce_1 and a corrupted SIGN-Source UE; \"max\": as fast as the relay\n"
         "                               answers them with REJECTs (--bad-signature-window in flight)\n"
         "      --bad-signature-sockets N  from N sockets, each its own host (--hosts; default 256). The relay\n"
         "                               admits at most 5 new requests/s per host, bursts of 10 (its rate_limit):\n"
         "                               the flood keeps to that, so it reaches at most N x 5/s\n"
         "      --bad-signature-window W requests awaiting their REJECT at once with \"max\" (default 64)\n"
         "      --relay-rate-limit R[/B] the relay's rate_limit, if not 5/10\n"
         "      --flood-lead-ms N        (default 1000)\n"
         "      --flood-lead-datagrams N and until the floods have sent N datagrams (default 0): a flood of a\n"
         "                               size that does not depend on the machine's speed\n"
         "      --duration-ms N          with --sources 0: flood for N ms\n\n"
         "Measurement and output:\n"
         "      --relay-pid PID          sample the relay's VmRSS before, each second during, after the releases\n"
         "                               and after --settle-ms\n"
         "      --settle-ms N            wait after the releases for the relay's timeouts (default 0)\n"
         "      --timeout-ms N           give up on the run after N ms (default 600000)\n"
         "      --seed N                 seed of the floods' contents and the start order (default: clock)\n"
         "      --json FILE              write one JSON object with every figure\n"
         "      --events FILE            write the sources' events as source-ue logs them (JSON lines)\n"
         "      --label TEXT             a name for the run, in the summary and the JSON\n"
         "      --version, -h/--help\n\n"
         "Exit codes: 0 the run completed (handshakes may have failed: the figures say so); 1 it did not (timeout,\n"
         "or the relay process died); 2 bad usage, an unreadable CA, or too few file descriptors.\n";
}

Result<Options> parse(const std::vector<std::string>& args) {
  Options o;
  bool have_relay = false;
  command_line::FlagCursor flags(args);
  while (flags.next()) {
    const std::string& arg = flags.name();
    // A flag's value, or the usage error that it lacks one.
    std::string v;
    const auto take = [&](const std::string& what) -> Status {
      auto got = flags.value();
      if (!got) return usage_error(arg + " needs " + what);
      v = *got;
      return {};
    };
    const auto count = [&](std::uint64_t min, std::uint64_t max, auto& field) -> Status {
      if (auto s = take("a number"); !s) return s;
      const auto n = parse_count(v, min, max);
      if (!n)
        return usage_error(arg + ": \"" + v + "\" is not from " + std::to_string(min) + " to " + std::to_string(max));
      field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
      return {};
    };
    const auto millis = [&](std::uint64_t min, std::uint64_t max, Millis& field) -> Status {
      std::uint64_t n = 0;
      if (auto s = count(min, max, n); !s) return s;
      field = Millis(n);
      return {};
    };
    const auto layer2 = [&](wire::Layer2Id& field) -> Status {
      if (auto s = take("a 24-bit Layer-2 ID"); !s) return s;
      const auto id = parse_layer2_id(v);
      if (!id) return usage_error(arg + ": \"" + v + "\" is not a 24-bit Layer-2 ID (0x000000 .. 0xFFFFFF)");
      field = *id;
      return {};
    };
    const auto user_info_id = [&](std::string& field) -> Status {
      if (auto s = take("a User Info ID"); !s) return s;
      if (v.empty() || v.size() > wire::kUserInfoIdMaxSize || !printable_id(v)) {
        return usage_error(arg + ": \"" + v + "\" is not 1-64 printable ASCII characters without space");
      }
      field = v;
      return {};
    };

    Status s;
    if (arg == "--ca") {
      s = take("a directory");
      o.ca_dir = v;
    } else if (arg == "--relay") {
      if (s = take("ADDR:PORT"); s) {
        const auto e = parse_address(v);
        const auto colon = v.rfind(':');
        const auto port = colon == std::string::npos ? std::nullopt : parse_count(v.substr(colon + 1), 1, 65535);
        if (e) {
          o.relay = *e;
        } else if (port && host_name(v.substr(0, colon))) {
          o.relay_host = v.substr(0, colon);
          o.relay.port = static_cast<std::uint16_t>(*port);
        } else {
          s = usage_error("--relay: \"" + v + "\" is not ADDR:PORT or NAME:PORT (e.g. 127.0.0.1:40101, relay-1:40101)");
        }
        have_relay = true;
      }
    } else if (arg == "--bind") {
      if (s = take("an address"); s) {
        o.bind = Endpoint::parse(v, 0);
        if (!o.bind) s = usage_error("--bind: \"" + v + "\" is not a numeric address");
      }
    } else if (arg == "--hosts") {
      if (s = take("an IPv4 address"); s) {
        o.hosts_base = Endpoint::parse(v, 0);
        if (!o.hosts_base || o.hosts_base->v6) s = usage_error("--hosts: \"" + v + "\" is not a numeric IPv4 address");
      }
    } else if (arg == "--one-host" && !flags.has_inline_value()) {
      o.one_host = true;
    } else if (arg == "--relay-id") {
      s = user_info_id(o.relay_id);
    } else if (arg == "--target-id") {
      s = user_info_id(o.target_id);
    } else if (arg == "--relay-layer2-id") {
      s = layer2(o.relay_layer2_id);
    } else if (arg == "--target-layer2-id") {
      s = layer2(o.target_layer2_id);
    } else if (arg == "--layer2-base") {
      s = layer2(o.layer2_base);
    } else if (arg == "--id-prefix") {
      if (s = take("a prefix"); s) {
        if (v.empty() || v.size() > 48 || !printable_id(v)) {
          s = usage_error("--id-prefix: \"" + v + "\" is not 1-48 printable ASCII characters without space");
        }
        o.id_prefix = v;
      }
    } else if (arg == "--sources") {
      s = count(0, kMaxSources, o.sources);
    } else if (arg == "--concurrency") {
      s = count(1, kMaxSources, o.concurrency);
    } else if (arg == "--hold" && !flags.has_inline_value()) {
      o.hold = true;
    } else if (arg == "--reestablish" && !flags.has_inline_value()) {
      o.reestablish = true;
    } else if (arg == "--credentials") {
      s = take("a file");
      o.credentials_path = v;
    } else if (arg == "--hold-ms") {
      s = millis(0, 3600000, o.hold_time);
    } else if (arg == "--timers") {
      if (s = take("KEY=VALUE,..."); s) s = parse_timers(v, o);
    } else if (arg == "--junk-rate") {
      if (s = take("a rate"); s) {
        const auto r = parse_rate(v);
        if (!r) s = usage_error("--junk-rate: \"" + v + "\" is not a rate from 0 to 10000000 per second");
        if (r) o.junk_rate = *r;
      }
    } else if (arg == "--junk-sockets") {
      s = count(1, kMaxSockets, o.junk_sockets);
    } else if (arg == "--bad-signature-rate") {
      if (s = take("a rate or max"); s) {
        const auto r = v == "max" ? std::optional<double>(0) : parse_rate(v);
        if (!r) s = usage_error("--bad-signature-rate: \"" + v + "\" is not max or a rate from 0 to 10000000");
        if (r) {
          o.bad_signature_max = v == "max";
          o.bad_signature_rate = *r;
        }
      }
    } else if (arg == "--bad-signature-sockets") {
      s = count(1, kMaxSockets, o.bad_signature_sockets);
    } else if (arg == "--bad-signature-window") {
      s = count(1, 100000, o.bad_signature_window);
    } else if (arg == "--relay-rate-limit") {
      if (s = take("PER_SECOND[/BURST]"); s) {
        const auto slash = v.find('/');
        const auto r = parse_rate(v.substr(0, slash));
        const auto b = slash == std::string::npos ? r : parse_rate(v.substr(slash + 1));
        if (!r || !b || *r <= 0 || *b < 1) {
          s = usage_error("--relay-rate-limit: \"" + v + "\" is not PER_SECOND[/BURST], e.g. 5/10");
        } else {
          o.relay_rate_per_second = *r;
          o.relay_rate_burst = *b;
        }
      }
    } else if (arg == "--flood-lead-ms") {
      s = millis(0, 600000, o.flood_lead);
    } else if (arg == "--flood-lead-datagrams") {
      s = count(0, 100000000, o.flood_lead_datagrams);
    } else if (arg == "--duration-ms") {
      s = millis(1, 86400000, o.duration);
    } else if (arg == "--relay-pid") {
      int pid = 0;
      s = count(1, 4194304, pid);
      o.relay_pid = pid;
    } else if (arg == "--settle-ms") {
      s = millis(0, 3600000, o.settle);
    } else if (arg == "--timeout-ms") {
      s = millis(1000, 86400000, o.timeout);
    } else if (arg == "--seed") {
      std::uint64_t seed = 0;
      s = count(0, UINT64_MAX, seed);
      o.seed = seed;
    } else if (arg == "--json") {
      s = take("a file");
      o.json_path = v;
    } else if (arg == "--events") {
      s = take("a file");
      o.events_path = v;
    } else if (arg == "--label") {
      s = take("a text");
      o.label = v;
    } else if ((arg == "-h" || arg == "--help") && !flags.has_inline_value()) {
      o.help = true;
    } else if (arg == "--version" && !flags.has_inline_value()) {
      o.version = true;
    } else {
      return usage_error("unknown option '" + flags.argument() + "'");
    }
    if (!s) return s.error();
  }
  if (o.help || o.version) return o;
  if (o.ca_dir.empty()) return usage_error("--ca DIR is required");
  if (!have_relay) return usage_error("--relay ADDR:PORT is required");
  if (!o.credentials_path.empty() && o.flooding()) {
    return usage_error("--credentials: the floods issue a credential of their own from the CA: not with --credentials");
  }
  if (o.reestablish && !o.hold) return usage_error("--reestablish needs --hold (a link released is not lost)");
  if (o.sources == 0 && !o.flooding() && o.credentials_path.empty()) {
    return usage_error("nothing to do: give --sources N, or a flood (--junk-rate, --bad-signature-rate)");
  }
  if (o.sources == 0 && o.duration.count() == 0 && o.credentials_path.empty()) {
    return usage_error("a flood without handshakes (--sources 0) needs --duration-ms");
  }
  if (static_cast<std::uint64_t>(o.layer2_base) + o.sources > kMaxLayer2Id) {
    return usage_error("--layer2-base + --sources goes beyond the 24-bit Layer-2 ID 0xFFFFFF");
  }
  if (o.t5080.max_wait < o.t5080.initial) o.t5080.max_wait = o.t5080.initial;
  if (o.bind && o.bind->v6 != o.relay.v6) return usage_error("--bind and --relay are of different address families");
  if (o.one_host && o.hosts_base) return usage_error("--one-host and --hosts exclude each other");
  if (o.hosts_base && (o.bind || o.relay.v6)) return usage_error("--hosts needs an IPv4 relay and no --bind");
  if (!o.one_host && !o.bind && !o.hosts_base && !o.relay.v6 && o.relay.address[0] == 127) {
    o.hosts_base = Endpoint::parse("127.100.0.1", 0);
  }
  return o;
}

}  // namespace u2u::load
