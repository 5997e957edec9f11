#include "config/config.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace u2u::config {

namespace {

struct ConfigError {
  std::string key;
  std::string message;
};

// A YAML mapping whose keys are consumed one by one; done() refuses whatever was not consumed.
class Section {
 public:
  Section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {
    if (!node_.IsMap()) throw ConfigError{path_.empty() ? "(top level)" : path_, "must be a mapping"};
  }

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  bool has(const std::string& key) const { return node_[key].IsDefined() && !node_[key].IsNull(); }

  YAML::Node get(const std::string& key) {
    used_.insert(key);
    YAML::Node n = node_[key];
    if (!n.IsDefined() || n.IsNull()) throw ConfigError{key_path(key), "missing"};
    return n;
  }

  std::string scalar(const std::string& key) {
    YAML::Node n = get(key);
    if (!n.IsScalar()) throw ConfigError{key_path(key), "must be a scalar"};
    return n.Scalar();
  }

  std::string string(const std::string& key) {
    std::string s = scalar(key);
    if (s.empty()) throw ConfigError{key_path(key), "must not be empty"};
    return s;
  }

  std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max) {
    const std::string s = scalar(key);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used, 0);
    } catch (const std::exception&) {
      throw ConfigError{key_path(key), "\"" + s + "\" is not an integer"};
    }
    if (used != s.size()) throw ConfigError{key_path(key), "\"" + s + "\" is not an integer"};
    if (v < min || v > max) {
      throw ConfigError{key_path(key),
                        std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max)};
    }
    return v;
  }

  std::int64_t integer_or(const std::string& key, std::int64_t min, std::int64_t max, std::int64_t fallback) {
    if (!has(key)) {
      used_.insert(key);
      return fallback;
    }
    return integer(key, min, max);
  }

  bool boolean_or(const std::string& key, bool fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    YAML::Node n = get(key);
    const std::string v = n.IsScalar() ? n.Scalar() : std::string();
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    throw ConfigError{key_path(key), "\"" + v + "\" is not true or false"};
  }

  std::vector<std::string> string_list_or_empty(const std::string& key) {
    used_.insert(key);
    if (!has(key)) return {};
    YAML::Node n = get(key);
    if (!n.IsSequence()) throw ConfigError{key_path(key), "must be a list"};
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) throw ConfigError{key_path(key) + "[" + std::to_string(i) + "]", "must be a scalar"};
      out.push_back(n[i].Scalar());
    }
    return out;
  }

  wire::Layer2Id layer2_id(const std::string& key) {
    return static_cast<wire::Layer2Id>(integer(key, 0, wire::kLayer2IdMax));
  }

  std::string user_info_id(const std::string& key) {
    std::string s = string(key);
    if (s.size() > wire::kUserInfoIdMaxSize) {
      throw ConfigError{key_path(key), "longer than " + std::to_string(wire::kUserInfoIdMaxSize) + " octets"};
    }
    for (char c : s) {
      if (c < 0x21 || c > 0x7E) throw ConfigError{key_path(key), "must be printable ASCII without spaces"};
    }
    return s;
  }

  Listen listen(const std::string& key) {
    Section s = section(key);
    Listen l;
    l.address = s.string("address");
    l.port = static_cast<std::uint16_t>(s.integer("port", 1, 65535));
    s.done();
    return l;
  }

  Section section(const std::string& key) { return Section(get(key), key_path(key)); }

  std::optional<std::string> optional_string(const std::string& key) {
    used_.insert(key);
    if (!has(key)) return std::nullopt;
    return string(key);
  }

  std::optional<Section> optional_section(const std::string& key) {
    used_.insert(key);
    if (!has(key)) return std::nullopt;
    return Section(node_[key], key_path(key));
  }

  std::vector<Section> list(const std::string& key) {
    YAML::Node n = get(key);
    if (!n.IsSequence()) throw ConfigError{key_path(key), "must be a list"};
    std::vector<Section> out;
    for (std::size_t i = 0; i < n.size(); ++i) out.emplace_back(n[i], key_path(key) + "[" + std::to_string(i) + "]");
    return out;
  }

  void done() const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (used_.count(key) == 0) throw ConfigError{key_path(key), "unknown key"};
    }
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::set<std::string> used_;
};

std::string relative_to(const std::string& file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(file).parent_path() / p).lexically_normal().string();
}

Common common(Section& top, const std::string& file) {
  Common c;
  c.file = file;
  c.user_info_id = top.user_info_id("user_info_id");
  c.layer2_id = top.layer2_id("layer2_id");
  c.listen = top.listen("listen");
  Section cred = top.section("credentials");
  c.credentials.ca = relative_to(file, cred.string("ca"));
  c.credentials.certificate = relative_to(file, cred.string("certificate"));
  c.credentials.private_key = relative_to(file, cred.string("private_key"));
  const auto serials = cred.string_list_or_empty("revoked_serials");
  for (std::size_t i = 0; i < serials.size(); ++i) {
    auto normal = crypto::normalize_serial(serials[i]);
    if (!normal) {
      throw ConfigError{cred.key_path("revoked_serials") + "[" + std::to_string(i) + "]",
                        "\"" + serials[i] + "\" is not a hex serial number"};
    }
    c.credentials.revoked_serials.insert(*normal);
  }
  cred.done();
  if (auto log = top.optional_section("log")) {
    if (auto f = log->optional_string("format")) {
      auto parsed = logging::parse_format(*f);
      if (!parsed) throw ConfigError{log->key_path("format"), "\"" + *f + "\" is not text or json"};
      c.log.format = *parsed;
    }
    if (auto k = log->optional_string("key_log_file")) c.log.key_log_file = relative_to(file, *k);
    if (auto l = log->optional_string("level")) {
      auto parsed = logging::parse_level(*l);
      if (!parsed) throw ConfigError{log->key_path("level"), "\"" + *l + "\" is not debug, info, warn or error"};
      c.log.level = *parsed;
    }
    log->done();
  }
  if (auto m = top.optional_section("metrics")) {
    c.metrics = m->listen("listen");
    m->done();
  }
  return c;
}

enum class Role { kSource, kRelay, kTarget };

std::optional<DiscoveryFile> discovery(Section& top, Role role) {
  auto s = top.optional_section("discovery");
  if (!s) return std::nullopt;
  DiscoveryFile d;
  d.listen = s->listen("listen");
  if (auto group = s->optional_section("multicast")) {
    Listen g;
    g.address = group->string("group");
    g.port = d.listen.port;
    d.multicast_group = g;
    d.interfaces = group->string_list_or_empty("interfaces");
    if (d.interfaces.empty()) throw ConfigError{group->key_path("interfaces"), "name at least one local address"};
    group->done();
  }
  if (s->has("neighbours")) {
    for (Section& n : s->list("neighbours")) {
      Listen l;
      l.address = n.string("address");
      l.port = static_cast<std::uint16_t>(n.integer("port", 1, 65535));
      n.done();
      d.neighbours.push_back(l);
    }
  } else {
    s->optional_section("neighbours");
  }
  if (!d.multicast_group && d.neighbours.empty()) {
    throw ConfigError{s->key_path("multicast"), "discovery needs a multicast group or neighbours"};
  }
  d.interval = Millis(s->integer_or("interval_ms", 100, 600000, protocol::kDefaultDiscoveryInterval.count()));
  d.lifetime = Millis(s->integer_or("lifetime_ms", 100, 3600000, protocol::kDefaultDiscoveryLifetime.count()));
  d.max_clock_skew =
      Millis(s->integer_or("max_clock_skew_ms", 100, 86400000, protocol::kDefaultDiscoveryMaxClockSkew.count()));
  if (role != Role::kTarget) {
    d.relay_service_code = static_cast<std::uint32_t>(
        s->integer_or("relay_service_code", 0, wire::kLayer2IdMax, protocol::kDefaultRelayServiceCode));
  }
  // Source: A listens to announcements, B solicits. Relay and target: A announces (and answers solicitations),
  // B only answers.
  if (auto model = s->optional_string("model")) {
    if (*model == "A" || *model == "a") {
      d.model = protocol::DiscoveryModel::kModelA;
    } else if (*model == "B" || *model == "b") {
      d.model = protocol::DiscoveryModel::kModelB;
    } else {
      throw ConfigError{s->key_path("model"), "\"" + *model + "\" is not A or B"};
    }
  }
  if (role == Role::kSource) {
    if (auto policy = s->optional_string("selection")) {
      if (*policy == "first") {
        d.selection = protocol::SelectionPolicy::kFirst;
      } else if (*policy == "preference") {
        d.selection = protocol::SelectionPolicy::kPreference;
      } else if (*policy == "rtt") {
        d.selection = protocol::SelectionPolicy::kLowestRtt;
      } else {
        throw ConfigError{s->key_path("selection"), "\"" + *policy + "\" is not first, preference or rtt"};
      }
    }
    d.preference = s->string_list_or_empty("preference");
    if (d.selection == protocol::SelectionPolicy::kPreference && d.preference.empty()) {
      throw ConfigError{s->key_path("preference"), "the preference policy needs a list of relay User Info IDs"};
    }
  }
  s->done();
  return d;
}

void replay_settings(Section& top, Millis& window, std::size_t& size) {
  window = Millis(top.integer_or("replay_window_ms", 1000, 86400000, protocol::kDefaultReplayWindow.count()));
  size = static_cast<std::size_t>(
      top.integer_or("replay_cache_size", 16, 10000000, static_cast<std::int64_t>(protocol::kDefaultReplayCacheSize)));
}

template <class Parse>
auto load(const std::string& path, Parse parse) -> Result<decltype(parse(std::declval<Section&>(), path))> {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return make_error(Cause::kNone, "config", path + ": cannot read: " + std::strerror(errno));
  } catch (const YAML::ParserException& e) {
    return make_error(Cause::kNone, "config",
                      path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                          ": YAML syntax: " + e.msg);
  }
  try {
    Section top(root, "");
    auto value = parse(top, path);
    top.done();
    return value;
  } catch (const ConfigError& e) {
    return make_error(Cause::kNone, "config", path + ": " + e.key + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return make_error(Cause::kNone, "config", path + ": " + e.msg);
  }
}

Result<std::string> read_file(const std::string& config_file, const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Cause::kNone, "config",
                      config_file + ": " + key + ": cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

namespace {

// "a.b.c.d/len": the TUN interface's IPv4 address and prefix length.
void parse_tun_address(const std::string& key, const std::string& text, TunFile& tun) {
  const auto slash = text.find('/');
  const auto address = Endpoint::parse(text.substr(0, slash), 0);
  if (slash == std::string::npos || !address || address->v6) {
    throw ConfigError{key, "\"" + text + "\" is not an IPv4 address with a prefix length, e.g. 10.77.0.1/24"};
  }
  const std::string prefix = text.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 2 || prefix.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(prefix) < 1 || std::stoi(prefix) > 30) {
    throw ConfigError{key, "prefix length \"" + prefix + "\" is not 1 .. 30"};
  }
  tun.address = text;
  tun.address_v4 = (std::uint32_t{address->address[0]} << 24) | (std::uint32_t{address->address[1]} << 16) |
                   (std::uint32_t{address->address[2]} << 8) | address->address[3];
  tun.prefix = static_cast<unsigned>(std::stoi(prefix));
}

// link_stats_interval_ms (issue 15): 0 (off), or kMinLinkStatsInterval .. one day.
Millis link_stats_interval(Section& s, const std::string& key_path, Millis fallback) {
  const std::int64_t ms = s.integer_or("link_stats_interval_ms", 0, 86400000, fallback.count());
  if (ms != 0 && ms < protocol::kMinLinkStatsInterval.count()) {
    throw ConfigError{key_path, "must be 0 (off) or " + std::to_string(protocol::kMinLinkStatsInterval.count()) +
                                    " .. 86400000, not " + std::to_string(ms)};
  }
  return Millis(ms);
}

// data: (docs/protocol.md 11) at source-ue and target-ue.
DataFile data(Section& top) {
  DataFile d;
  auto s = top.optional_section("data");
  if (!s) return d;
  if (s->has("algorithms")) {
    d.algorithms.clear();
    const auto names = s->string_list_or_empty("algorithms");
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto suite = dataplane::parse_suite(names[i]);
      const std::string key = "data.algorithms[" + std::to_string(i) + "]";
      if (!suite) throw ConfigError{key, "\"" + names[i] + "\" is not aes-128-gcm, nea2-nia2 or null-nia2"};
      if (std::find(d.algorithms.begin(), d.algorithms.end(), *suite) != d.algorithms.end()) {
        throw ConfigError{key, "\"" + names[i] + "\" listed twice"};
      }
      d.algorithms.push_back(*suite);
    }
    if (d.algorithms.empty()) throw ConfigError{"data.algorithms", "lists no suite"};
    if (d.algorithms.size() > dataplane::kMaxOfferedSuites) {
      throw ConfigError{"data.algorithms", "at most " + std::to_string(dataplane::kMaxOfferedSuites) + " suites"};
    }
  }
  if (auto t = s->optional_section("tun")) {
    TunFile tun;
    tun.name = t->has("name") ? t->string("name") : "u2u0";
    if (tun.name.empty() || tun.name.size() > 15) throw ConfigError{"data.tun.name", "must be 1 .. 15 characters"};
    parse_tun_address("data.tun.address", t->string("address"), tun);
    tun.mtu =
        static_cast<std::uint32_t>(t->integer_or("mtu", 576, static_cast<std::int64_t>(dataplane::kMaxPayloadSize),
                                                 static_cast<std::int64_t>(dataplane::kMaxPayloadSize)));
    t->done();
    d.tun = tun;
  }
  if (s->has("udp_forward")) {
    for (Section& f : s->list("udp_forward")) {
      ForwardFile fw;
      fw.name = f.string("name");
      fw.bearer = static_cast<std::uint8_t>(f.integer("bearer", 1, dataplane::kMaxBearer));
      if (f.has("listen")) fw.listen = f.listen("listen");
      if (f.has("to")) fw.to = f.listen("to");
      f.optional_section("listen");
      f.optional_section("to");
      if (fw.listen.has_value() == fw.to.has_value()) {
        throw ConfigError{"data.udp_forward." + fw.name, "needs exactly one of listen (this end's side) and to"};
      }
      for (const auto& other : d.forwards) {
        if (other.bearer == fw.bearer) {
          throw ConfigError{"data.udp_forward." + fw.name + ".bearer",
                            "bearer " + std::to_string(fw.bearer) + " is also " + other.name + "'s"};
        }
      }
      f.done();
      d.forwards.push_back(std::move(fw));
    }
  } else {
    s->optional_section("udp_forward");
  }
  d.link_stats_interval = link_stats_interval(*s, "data.link_stats_interval_ms", protocol::kDefaultLinkStatsInterval);
  d.rekey_after =
      Millis(1000 * s->integer_or("rekey_after_seconds", 0, 2592000, protocol::kDefaultRekeyAfter.count() / 1000));
  d.rekey_after_packets = static_cast<std::uint64_t>(
      s->integer_or("rekey_after_packets", 0, static_cast<std::int64_t>(dataplane::kRekeyForcedAtCount),
                    static_cast<std::int64_t>(dataplane::kDefaultRekeyAfterPackets)));
  s->done();
  return d;
}

// docs/protocol.md 7.3: a link ends this long after it was established (10 s .. 30 days).
Millis link_max_lifetime(Section& top) {
  return Millis(top.integer_or("link_max_lifetime_ms", 10000, 2592000000, protocol::kDefaultLinkMaxLifetime.count()));
}

}  // namespace

Result<SourceFile> load_source(const std::string& path) {
  return load(path, [](Section& top, const std::string& file) {
    SourceFile f;
    f.common = common(top, file);
    f.discovery = discovery(top, Role::kSource);
    if (auto relay = top.optional_section("relay")) {
      f.relay_user_info_id = relay->user_info_id("user_info_id");
      f.relay_layer2_id = relay->layer2_id("layer2_id");
      f.relay.address = relay->string("address");
      f.relay.port = static_cast<std::uint16_t>(relay->integer("port", 1, 65535));
      relay->done();
    } else if (!f.discovery) {
      throw ConfigError{"relay", "missing (name the relay, or configure discovery)"};
    }
    Section target = top.section("target");
    f.target_user_info_id = target.user_info_id("user_info_id");
    if (f.discovery && !target.has("layer2_id")) {
      target.optional_string("layer2_id");  // learnt by discovery
    } else {
      f.target_layer2_id = target.layer2_id("layer2_id");
    }
    target.done();
    if (auto timers = top.optional_section("timers")) {
      f.t5080 = Millis(timers->integer_or("t5080_ms", 10, 60000, protocol::kDefaultT5080.count()));
      f.t5080_max = Millis(timers->integer_or("t5080_max_ms", 10, 600000, protocol::kDefaultT5080Max.count()));
      f.max_tries = static_cast<unsigned>(timers->integer_or("max_tries", 1, 100, protocol::kDefaultMaxTries));
      f.keepalive_interval = Millis(
          timers->integer_or("keepalive_interval_ms", 100, 3600000, protocol::kDefaultKeepaliveInterval.count()));
      f.keepalive_timeout =
          Millis(timers->integer_or("keepalive_timeout_ms", 10, 60000, protocol::kDefaultKeepaliveTimeout.count()));
      f.keepalive_max_tries =
          static_cast<unsigned>(timers->integer_or("keepalive_max_tries", 1, 20, protocol::kDefaultKeepaliveMaxTries));
      timers->done();
    } else {
      f.t5080 = protocol::kDefaultT5080;
      f.t5080_max = protocol::kDefaultT5080Max;
      f.max_tries = protocol::kDefaultMaxTries;
      f.keepalive_interval = protocol::kDefaultKeepaliveInterval;
      f.keepalive_timeout = protocol::kDefaultKeepaliveTimeout;
      f.keepalive_max_tries = protocol::kDefaultKeepaliveMaxTries;
    }
    f.retry_interval = Millis(top.integer_or("retry_interval_ms", 100, 3600000, 5000));
    f.data = data(top);
    f.link_max_lifetime = link_max_lifetime(top);
    if (auto security = top.optional_section("security")) {
      f.forward_secrecy = security->boolean_or("forward_secrecy", false);
      security->done();
    }
    return f;
  });
}

namespace {

// workers: auto (the default: one per core), or a number of threads; 0 runs the signature work on the I/O thread.
std::optional<std::size_t> workers(Section& top) {
  const auto value = top.optional_string("workers");
  if (!value || *value == "auto") return std::nullopt;
  return static_cast<std::size_t>(top.integer("workers", 0, static_cast<std::int64_t>(protocol::kMaxWorkers)));
}

}  // namespace

Result<RelayFile> load_relay(const std::string& path) {
  return load(path, [](Section& top, const std::string& file) {
    RelayFile f;
    f.common = common(top, file);
    f.discovery = discovery(top, Role::kRelay);
    if (f.discovery && !top.has("targets")) {
      top.optional_section("targets");  // discovered
    } else
      for (Section& t : top.list("targets")) {
        RelayTargetFile rt;
        rt.user_info_id = t.user_info_id("user_info_id");
        rt.layer2_id = t.layer2_id("layer2_id");
        rt.endpoint.address = t.string("address");
        rt.endpoint.port = static_cast<std::uint16_t>(t.integer("port", 1, 65535));
        t.done();
        f.targets.push_back(std::move(rt));
      }
    f.max_pending = static_cast<std::size_t>(
        top.integer_or("max_pending", 1, 1000000, static_cast<std::int64_t>(protocol::kDefaultRelayMaxPending)));
    f.max_pending_per_source = static_cast<std::size_t>(top.integer_or(
        "max_pending_per_source", 1, 1000000, static_cast<std::int64_t>(protocol::kDefaultRelayMaxPendingPerSource)));
    f.max_pending_per_host = static_cast<std::size_t>(top.integer_or(
        "max_pending_per_host", 1, 1000000, static_cast<std::int64_t>(protocol::kDefaultRelayMaxPendingPerHost)));
    f.pending_timeout =
        Millis(top.integer_or("pending_timeout_ms", 100, 600000, protocol::kDefaultRelayPendingTimeout.count()));
    f.max_links = static_cast<std::size_t>(
        top.integer_or("max_links", 1, 10000000, static_cast<std::int64_t>(protocol::kDefaultRelayMaxLinks)));
    f.link_timeout = Millis(top.integer_or("link_timeout_ms", 1000, 86400000, protocol::kDefaultLinkTimeout.count()));
    f.link_max_lifetime = link_max_lifetime(top);
    f.rate_limit_per_second = protocol::kDefaultRateLimitPerSecond;
    f.rate_limit_burst = protocol::kDefaultRateLimitBurst;
    if (auto rate = top.optional_section("rate_limit")) {
      f.rate_limit_per_second = static_cast<double>(rate->integer_or("per_second", 1, 1000000, 5));
      f.rate_limit_burst = static_cast<double>(rate->integer_or("burst", 1, 1000000, 10));
      rate->done();
    }
    replay_settings(top, f.replay_window, f.replay_cache_size);
    f.workers = workers(top);
    f.link_stats_interval = link_stats_interval(top, "link_stats_interval_ms", Millis{0});
    if (!f.common.log.key_log_file.empty()) {
      throw ConfigError{"log.key_log_file",
                        "the relay holds no session keys; a key log is for source-ue and target-ue"};
    }
    return f;
  });
}

Result<TargetFile> load_target(const std::string& path) {
  return load(path, [](Section& top, const std::string& file) {
    TargetFile f;
    f.common = common(top, file);
    f.discovery = discovery(top, Role::kTarget);
    f.max_sessions = static_cast<std::size_t>(
        top.integer_or("max_sessions", 1, 1000000, static_cast<std::int64_t>(protocol::kDefaultTargetMaxSessions)));
    f.max_sessions_per_source = static_cast<std::size_t>(
        top.integer_or("max_sessions_per_source", 1, 1000000,
                       static_cast<std::int64_t>(protocol::kDefaultTargetMaxSessionsPerSource)));
    f.max_sessions_per_relay = static_cast<std::size_t>(top.integer_or(
        "max_sessions_per_relay", 1, 1000000, static_cast<std::int64_t>(protocol::kDefaultTargetMaxSessionsPerRelay)));
    f.session_timeout =
        Millis(top.integer_or("session_timeout_ms", 100, 3600000, protocol::kDefaultTargetSessionTimeout.count()));
    f.link_timeout = Millis(top.integer_or("link_timeout_ms", 1000, 86400000, protocol::kDefaultLinkTimeout.count()));
    f.link_max_lifetime = link_max_lifetime(top);
    f.data = data(top);
    replay_settings(top, f.replay_window, f.replay_cache_size);
    f.workers = workers(top);
    if (auto security = top.optional_section("security")) {
      f.forward_secrecy = security->boolean_or("forward_secrecy", false);
      security->done();
    }
    return f;
  });
}

Result<Endpoint> resolve(const Listen& listen, const std::string& file, const std::string& key) {
  auto e = Endpoint::parse(listen.address, listen.port);
  if (!e) {
    return make_error(Cause::kNone, "config",
                      file + ": " + key + ".address: \"" + listen.address + "\" is not a numeric IPv4 or IPv6 address");
  }
  return *e;
}

Result<PeerAddress> peer_address(const Listen& listen, const std::string& file, const std::string& key) {
  if (auto e = Endpoint::parse(listen.address, listen.port)) return PeerAddress{*e, {}, listen.port};
  if (is_host_name(listen.address)) return PeerAddress{std::nullopt, listen.address, listen.port};
  return make_error(Cause::kNone, "config",
                    file + ": " + key + ".address: \"" + listen.address +
                        "\" is neither a numeric IPv4 or IPv6 address nor a host name");
}

Result<protocol::DiscoveryConfig> discovery_config(const DiscoveryFile& d, const std::string& file,
                                                   std::uint16_t signalling_port) {
  protocol::DiscoveryConfig c;
  if (d.multicast_group) {
    auto group = resolve(*d.multicast_group, file, "discovery.multicast.group");
    if (!group) return group.error();
    c.destinations.push_back(*group);
  }
  for (std::size_t i = 0; i < d.neighbours.size(); ++i) {
    auto n = resolve(d.neighbours[i], file, "discovery.neighbours[" + std::to_string(i) + "]");
    if (!n) return n.error();
    c.destinations.push_back(*n);
  }
  c.interval = d.interval;
  c.lifetime = d.lifetime;
  c.max_clock_skew = d.max_clock_skew;
  c.relay_service_code = d.relay_service_code;
  c.announce = d.model == protocol::DiscoveryModel::kModelA;
  c.signalling_port = signalling_port;
  return c;
}

Result<protocol::LocalParty> load_party(const Common& c, crypto::Role role, WallTime now,
                                        std::vector<std::string>& warnings) {
  const auto fail = [&](const std::string& key, const std::string& what) {
    return make_error(Cause::kNone, "config", c.file + ": credentials." + key + ": " + what);
  };
  auto ca_pem = read_file(c.file, "credentials.ca", c.credentials.ca);
  if (!ca_pem) return ca_pem.error();
  auto cert_pem = read_file(c.file, "credentials.certificate", c.credentials.certificate);
  if (!cert_pem) return cert_pem.error();
  auto key_pem = read_file(c.file, "credentials.private_key", c.credentials.private_key);
  if (!key_pem) return key_pem.error();

  auto ca = crypto::Certificate::from_pem(*ca_pem);
  if (!ca) return fail("ca", c.credentials.ca + ": " + ca.error().reason);
  auto trust = crypto::TrustStore::from_ca(*ca);
  if (!trust) return fail("ca", c.credentials.ca + ": " + trust.error().reason);
  auto cert = crypto::Certificate::from_pem(*cert_pem);
  if (!cert) return fail("certificate", c.credentials.certificate + ": " + cert.error().reason);
  if (cert->der().size() > wire::kCertificateMaxSize) {
    return fail("certificate", c.credentials.certificate + " takes " + std::to_string(cert->der().size()) +
                                   " octets in DER, over the protocol's " + std::to_string(wire::kCertificateMaxSize));
  }
  auto key = crypto::PrivateKey::from_pem(*key_pem);
  crypto::secure_wipe(key_pem.value());
  if (!key) return fail("private_key", c.credentials.private_key + ": " + key.error().reason);
  auto cert_key = cert->public_key();
  if (!cert_key) return fail("certificate", c.credentials.certificate + ": " + cert_key.error().reason);
  if (!(*cert_key == key->public_key())) {
    return fail("private_key",
                c.credentials.private_key + " does not match the public key of " + c.credentials.certificate);
  }
  if (cert->subject_cn() != c.user_info_id) {
    return make_error(Cause::kNone, "config",
                      c.file + ": user_info_id: \"" + c.user_info_id + "\" differs from the certificate's CN \"" +
                          cert->subject_cn() + "\" in " + c.credentials.certificate);
  }

  trust->set_revoked_serials(c.credentials.revoked_serials);
  if (auto s = trust->verify_chain(*cert, now); !s) {
    warnings.push_back("own certificate will be refused by peers: " + s.error().reason);
  }
  if (!cert->has_role(role)) {
    warnings.push_back("own certificate lacks the " + std::string(crypto::role_name(role)) +
                       " role; peers will refuse it");
  }
  struct stat st {};
  if (::stat(c.credentials.private_key.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    warnings.push_back("private key " + c.credentials.private_key + " is readable by group or others (chmod 600)");
  }

  auto shared_key = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
  return protocol::LocalParty{
      c.user_info_id, c.layer2_id, std::move(cert).value(),
      shared_key,     shared_key,  std::make_shared<const crypto::TrustStore>(std::move(trust).value())};
}

}  // namespace u2u::config
