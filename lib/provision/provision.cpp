#include "provision/provision.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace u2u::provision {

namespace fs = std::filesystem;

namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Cause::kNone, "provision", what + " " + path + ": " + std::strerror(errno));
}

Status make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(Cause::kNone, "provision", "cannot create " + dir + ": " + ec.message());
  return {};
}

// Writes `data` to `path` with `mode`, replacing it atomically (write to a temporary, fsync, rename).
Status write_file(const std::string& path, ByteView data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create", tmp);
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t done = 0;
  while (ok && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return io_error("cannot write", path);
  }
  return {};
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string hex24(wire::Layer2Id id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%06X", static_cast<unsigned>(id));
  return buf;
}

std::string common_yaml(const std::string& role, const Host& h, const std::string& log_format) {
  std::ostringstream y;
  y << "# " << role << " configuration, written by u2u-provision testbed.\n"
    << "# Every key is documented in u2u-relay.yaml(5) and in config/" << role << ".yaml of the source tree\n"
    << "# (installed as /usr/share/doc/u2u-relay/examples/" << role << ".yaml by the Debian package and in the\n"
    << "# Docker image). Relative paths are relative to this file.\n"
    << "user_info_id: " << h.user_info_id << "\n"
    << "layer2_id: " << hex24(h.layer2_id) << "\n"
    << "listen:\n"
    << "  address: " << h.listen << "\n"
    << "  port: " << h.port << "\n"
    << "credentials:\n"
    << "  ca: ca/cert.pem\n"
    << "  certificate: " << role << "/cert.pem\n"
    << "  private_key: " << role << "/key.pem\n"
    << "log:\n"
    << "  format: " << log_format << "\n"
    << "  level: info\n";
  return y.str();
}

}  // namespace

std::optional<WallTime> parse_utc(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Status write_credential(const std::string& dir, const crypto::Certificate& cert, const crypto::PrivateKey& key,
                        bool force) {
  if (auto s = make_dir(dir); !s) return s;
  const std::string key_path = dir + "/key.pem";
  if (!force && fs::exists(key_path)) {
    return make_error(Cause::kNone, "provision", key_path + " exists; not overwriting a private key (--force)");
  }
  const crypto::SecretBytes pem = key.to_pem();
  if (auto s = write_file(key_path, pem.reveal(), 0600); !s) return s;
  return write_file(dir + "/cert.pem", as_bytes(cert.pem()), 0644);
}

Result<crypto::CertificateAuthority> create_ca(const std::string& dir, const std::string& name, WallTime not_before,
                                               WallTime not_after, bool force) {
  auto ca = crypto::CertificateAuthority::create(name, not_before, not_after);
  if (!ca) return ca.error();
  if (auto s = write_credential(dir, ca->certificate(), ca->key(), force); !s) return s.error();
  return ca;
}

Result<crypto::CertificateAuthority> load_ca(const std::string& dir) {
  auto cert_pem = read_text(dir + "/cert.pem");
  if (!cert_pem) return cert_pem.error();
  auto key_pem = read_text(dir + "/key.pem");
  if (!key_pem) return key_pem.error();
  auto cert = crypto::Certificate::from_pem(*cert_pem);
  if (!cert) return make_error(Cause::kNone, "provision", dir + "/cert.pem: " + cert.error().reason);
  auto key = crypto::PrivateKey::from_pem(*key_pem);
  crypto::secure_wipe(key_pem.value());
  if (!key) return make_error(Cause::kNone, "provision", dir + "/key.pem: " + key.error().reason);
  auto ca = crypto::CertificateAuthority::load(std::move(cert).value(), std::move(key).value());
  if (!ca) return make_error(Cause::kNone, "provision", dir + ": " + ca.error().reason);
  return ca;
}

Status issue(const crypto::CertificateAuthority& ca, const crypto::IssueRequest& request, const std::string& out_dir,
             bool force) {
  auto key = crypto::PrivateKey::generate();
  if (!key) return key.error();
  auto cert = ca.issue(request, key->public_key());
  if (!cert) return cert.error();
  if (cert->der().size() > wire::kCertificateMaxSize) {
    return make_error(Cause::kNone, "provision",
                      "the certificate for \"" + request.user_info_id + "\" takes " +
                          std::to_string(cert->der().size()) + " octets, over the protocol's " +
                          std::to_string(wire::kCertificateMaxSize) + " (shorten the User Info ID or CA name)");
  }
  return write_credential(out_dir, *cert, *key, force);
}

// The discovery section of one role's config; `self` its own addresses, `neighbours` whom it reaches.
std::string discovery_yaml(const TestbedPlan& plan, std::uint16_t port, const std::string& listen,
                           const std::vector<std::string>& own_addresses,
                           const std::vector<std::pair<std::string, std::uint16_t>>& neighbours) {
  std::ostringstream y;
  y << "discovery:\n";
  if (plan.discovery == TestbedDiscovery::kMulticast) {
    // Multicast datagrams reach a socket bound to the wildcard address (or the group), not to a unicast one.
    y << "  listen: {address: 0.0.0.0, port: " << port << "}\n"
      << "  multicast:\n"
      << "    group: " << plan.multicast_group << "\n"
      << "    interfaces: [";
    for (std::size_t i = 0; i < own_addresses.size(); ++i) y << (i ? ", " : "") << own_addresses[i];
    y << "]\n";
  } else {
    y << "  listen: {address: " << listen << ", port: " << port << "}\n"
      << "  neighbours:\n";
    for (const auto& [address, p] : neighbours) y << "    - {address: " << address << ", port: " << p << "}\n";
  }
  y << "  model: " << plan.discovery_model << "\n";
  return y.str();
}

Result<std::vector<std::string>> write_testbed(const TestbedPlan& plan, WallTime now) {
  using namespace std::chrono_literals;
  const WallTime not_before = now - 1h;  // tolerate clocks a little behind across hosts
  const WallTime not_after = now + 24h * plan.days;
  std::vector<std::string> written;
  auto ca = create_ca(plan.out + "/ca", "u2u-provisioning-ca", not_before, not_after, plan.force);
  if (!ca) return ca.error();
  written.push_back(plan.out + "/ca/cert.pem");
  written.push_back(plan.out + "/ca/key.pem");
  const struct {
    const char* role;
    const Host& host;
    crypto::Role cert_role;
  } parties[] = {{"source-ue", plan.source, crypto::Role::kUe},
                 {"relay-ue", plan.relay, crypto::Role::kRelay},
                 {"target-ue", plan.target, crypto::Role::kUe}};
  for (const auto& p : parties) {
    if (auto s =
            issue(*ca, {p.host.user_info_id, p.cert_role, not_before, not_after}, plan.out + "/" + p.role, plan.force);
        !s) {
      return s.error();
    }
    written.push_back(plan.out + "/" + p.role + "/cert.pem");
    written.push_back(plan.out + "/" + p.role + "/key.pem");
  }

  const bool discovery = plan.discovery != TestbedDiscovery::kNone;
  const bool multicast = plan.discovery == TestbedDiscovery::kMulticast;
  const std::uint16_t discovery_base = static_cast<std::uint16_t>(plan.source.port + kDiscoveryPortOffset);
  const std::uint16_t source_dport = discovery_base;
  const std::uint16_t relay_dport = multicast ? discovery_base : static_cast<std::uint16_t>(discovery_base + 1);
  const std::uint16_t target_dport = multicast ? discovery_base : static_cast<std::uint16_t>(discovery_base + 2);
  const std::string relay_target_address =
      plan.relay_target_address.empty() ? plan.relay.address : plan.relay_target_address;

  std::ostringstream source;
  source << common_yaml("source-ue", plan.source, plan.log_format);
  if (discovery) {  // the relay and the target's Layer-2 ID are learnt
    source << discovery_yaml(plan, source_dport, plan.source.listen, {plan.source.address},
                             {{plan.relay.address, relay_dport}})
           << "target:\n"
           << "  user_info_id: " << plan.target.user_info_id << "\n";
  } else {
    source << "relay:\n"
           << "  user_info_id: " << plan.relay.user_info_id << "\n"
           << "  layer2_id: " << hex24(plan.relay.layer2_id) << "\n"
           << "  address: " << plan.relay.address << "\n"
           << "  port: " << plan.relay.port << "\n"
           << "target:\n"
           << "  user_info_id: " << plan.target.user_info_id << "\n"
           << "  layer2_id: " << hex24(plan.target.layer2_id) << "\n";
  }
  source << "timers:\n"
         << "  t5080_ms: 500\n"
         << "  t5080_max_ms: 1000\n"
         << "  max_tries: 20\n"
         << "  keepalive_interval_ms: 10000\n"
         << "  keepalive_timeout_ms: 1000\n"
         << "  keepalive_max_tries: 3\n"
         << "retry_interval_ms: 5000\n";
  std::ostringstream relay;
  relay << common_yaml("relay-ue", plan.relay, plan.log_format);
  if (discovery) {  // the targets are learnt
    std::vector<std::string> legs{plan.relay.address};
    if (relay_target_address != plan.relay.address) legs.push_back(relay_target_address);
    relay << discovery_yaml(plan, relay_dport, plan.relay.listen, legs,
                            {{plan.source.address, source_dport}, {plan.target.address, target_dport}});
  } else {
    relay << "targets:\n"
          << "  - user_info_id: " << plan.target.user_info_id << "\n"
          << "    layer2_id: " << hex24(plan.target.layer2_id) << "\n"
          << "    address: " << plan.target.address << "\n"
          << "    port: " << plan.target.port << "\n";
  }
  relay << "max_pending: 1024\n"
        << "pending_timeout_ms: 45000\n"
        << "max_links: 4096\n"
        << "link_timeout_ms: 45000\n";
  std::ostringstream target;
  target << common_yaml("target-ue", plan.target, plan.log_format) << "max_sessions: 1024\n"
         << "session_timeout_ms: 45000\n"
         << "link_timeout_ms: 45000\n";
  if (discovery) {
    target << discovery_yaml(plan, target_dport, plan.target.listen, {plan.target.address},
                             {{relay_target_address, relay_dport}});
  }
  for (const auto& [role, text] : {std::pair{"source-ue", source.str()}, std::pair{"relay-ue", relay.str()},
                                   std::pair{"target-ue", target.str()}}) {
    const std::string path = plan.out + "/" + role + ".yaml";
    if (auto s = write_file(path, as_bytes(text), 0644); !s) return s.error();
    written.push_back(path);
  }
  return written;
}

}  // namespace u2u::provision
