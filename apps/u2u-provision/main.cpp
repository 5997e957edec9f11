// u2u-provision: seed step 0 for testbeds: a provisioning CA, role credentials and ready daemon configs.
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/cli.hpp"
#include "provision/provision.hpp"

namespace {

using namespace u2u;
using namespace std::chrono_literals;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// The layout help2man reads (man/CMakeLists.txt makes u2u-provision(1) from it): usage lines, a description, then
// sections of options, each option and its text two spaces apart.
constexpr const char* kUsage = R"(Usage: u2u-provision testbed --out DIR [--base-port N] [options]
  or:  u2u-provision ca --out DIR [--name NAME] [--days N] [--force]
  or:  u2u-provision issue --ca CADIR --role ue|relay --user-info-id ID --out DIR [options]
  or:  u2u-provision --help | --version

Seed step 0 for testbeds: a provisioning CA, role credentials and ready daemon configurations.
  testbed  writes DIR/ca/{cert,key}.pem, DIR/<role>/{cert,key}.pem and DIR/<role>.yaml for
           source-ue (port N), relay-ue (N+1) and target-ue (N+2); N defaults to 40100
  ca       writes a provisioning CA alone: DIR/{cert,key}.pem
  issue    writes one credential, DIR/{cert,key}.pem, from the CA in CADIR

Options of testbed:
      --base-port N          source-ue's port; relay-ue's is N+1, target-ue's N+2 (default 40100)
      --source-address A     where source-ue listens (default 127.0.0.1)
      --relay-address A      where the source reaches relay-ue (default 127.0.0.1)
      --target-address A     where relay-ue reaches target-ue (default 127.0.0.1)
      --relay-listen A       where relay-ue binds (default: --relay-address; 0.0.0.0 for a relay
                             with one leg on each network)
      --relay-target-address A
                             the relay's address on the target's network, where it has two legs
      --source-id ID, --relay-id ID, --target-id ID
                             User Info IDs (default source-ue, relay-ue, target-ue)
      --log-format FORMAT    the configs' log format: text (default) or json
      --discovery neighbours|multicast
                             configs that find the relay and the target by discovery (no static
                             addresses): to each other's discovery ports (source N+10, relay N+11,
                             target N+12), or over a multicast group (all on port N+10)
      --discovery-model A|B  Model A (announcements, the default) or Model B (solicitation/response)
      --multicast-group G    the group for --discovery multicast (default 239.192.85.50)

Options of ca:
      --name NAME            the CA's name, its certificate's CN (default u2u-provisioning-ca)

Options of issue:
      --ca CADIR             the CA's directory, holding cert.pem and key.pem
      --role ue|relay        the credential's role (extended key usage)
      --user-info-id ID      the User Info ID, its certificate's CN (1 to 64 characters)
      --not-before UTC, --not-after UTC
                             the validity period instead of --days (UTC as 2026-01-31T12:00:00Z)

Options of every command:
      --out DIR              where the files are written
      --days N               validity of every certificate from now (default 365)
      --force                overwrite existing keys
  -h, --help                 print this help and exit
      --version              print the version and exit

Private keys are written with mode 0600. Exit codes: 0 success, 1 failure, 2 bad usage.
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
};

int usage_error(const std::string& message) {
  std::cerr << "u2u-provision: " << message << "\nTry 'u2u-provision --help'.\n";
  return kExitUsage;
}

std::optional<Args> parse(int argc, char** argv, const std::set<std::string>& valued,
                          const std::set<std::string>& flags, std::string& error) {
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags.count(arg) != 0) {
      a.flags.insert(arg);
    } else if (valued.count(arg) != 0) {
      if (i + 1 >= argc) {
        error = arg + " needs a value";
        return std::nullopt;
      }
      a.values[arg] = argv[++i];
    } else {
      error = "unknown option '" + arg + "' for " + a.command;
      return std::nullopt;
    }
  }
  return a;
}

std::optional<int> number(const Args& a, const std::string& key, int fallback, int min, int max, std::string& error) {
  auto it = a.values.find(key);
  if (it == a.values.end()) return fallback;
  try {
    std::size_t used = 0;
    const int v = std::stoi(it->second, &used, 0);
    if (used == it->second.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  error = key + ": \"" + it->second + "\" is not a number in " + std::to_string(min) + ".." + std::to_string(max);
  return std::nullopt;
}

int report(const Status& s) {
  if (s) return kExitOk;
  std::cerr << "u2u-provision: " << s.error().reason << "\n";
  return kExitError;
}

int testbed(const Args& a) {
  std::string error;
  if (a.values.count("--out") == 0) return usage_error("testbed needs --out DIR");
  const bool discovery = a.values.count("--discovery") != 0;
  const int max_base = discovery ? 65535 - 2 - provision::kDiscoveryPortOffset : 65533;
  const auto base = number(a, "--base-port", provision::kDefaultBasePort, 1, max_base, error);
  const auto days = number(a, "--days", 365, 1, 36500, error);
  if (!base || !days) return usage_error(error);
  provision::TestbedPlan plan;
  plan.out = a.values.at("--out");
  plan.days = *days;
  plan.force = a.flags.count("--force") != 0;
  const auto value = [&](const std::string& key, const std::string& fallback) {
    auto it = a.values.find(key);
    return it == a.values.end() ? fallback : it->second;
  };
  plan.source.address = plan.source.listen = value("--source-address", "127.0.0.1");
  plan.relay.address = value("--relay-address", "127.0.0.1");
  plan.relay.listen = value("--relay-listen", plan.relay.address);
  plan.target.address = plan.target.listen = value("--target-address", "127.0.0.1");
  plan.source.user_info_id = value("--source-id", "source-ue");
  plan.relay.user_info_id = value("--relay-id", "relay-ue");
  plan.target.user_info_id = value("--target-id", "target-ue");
  plan.source.port = static_cast<std::uint16_t>(*base);
  plan.relay.port = static_cast<std::uint16_t>(*base + 1);
  plan.target.port = static_cast<std::uint16_t>(*base + 2);
  if (discovery) {
    const std::string mode = value("--discovery", "");
    if (mode == "neighbours") {
      plan.discovery = provision::TestbedDiscovery::kNeighbours;
    } else if (mode == "multicast") {
      plan.discovery = provision::TestbedDiscovery::kMulticast;
    } else {
      return usage_error("--discovery is neighbours or multicast");
    }
  }
  plan.discovery_model = value("--discovery-model", "A");
  if (plan.discovery_model != "A" && plan.discovery_model != "B") return usage_error("--discovery-model is A or B");
  plan.multicast_group = value("--multicast-group", provision::kDefaultMulticastGroup);
  plan.relay_target_address = value("--relay-target-address", "");
  plan.log_format = value("--log-format", "text");
  if (plan.log_format != "text" && plan.log_format != "json") return usage_error("--log-format is text or json");
  auto written = provision::write_testbed(plan, std::chrono::system_clock::now());
  if (!written) return report(written.error());
  for (const auto& f : *written) std::cout << f << "\n";
  std::cout << "testbed ready: start relay-ue, target-ue and source-ue with --config " << plan.out << "/<role>.yaml\n";
  return kExitOk;
}

int ca(const Args& a) {
  std::string error;
  if (a.values.count("--out") == 0) return usage_error("ca needs --out DIR");
  const auto days = number(a, "--days", 365, 1, 36500, error);
  if (!days) return usage_error(error);
  const auto now = std::chrono::system_clock::now();
  auto name = a.values.count("--name") ? a.values.at("--name") : std::string("u2u-provisioning-ca");
  auto result = provision::create_ca(a.values.at("--out"), name, now - 1h, now + 24h * *days, a.flags.count("--force"));
  if (!result) return report(result.error());
  std::cout << a.values.at("--out") << "/cert.pem\n" << a.values.at("--out") << "/key.pem\n";
  return kExitOk;
}

int issue(const Args& a) {
  std::string error;
  for (const char* required : {"--ca", "--role", "--user-info-id", "--out"}) {
    if (a.values.count(required) == 0) return usage_error(std::string("issue needs ") + required);
  }
  const std::string role = a.values.at("--role");
  if (role != "ue" && role != "relay") return usage_error("--role is ue or relay");
  const auto days = number(a, "--days", 365, 1, 36500, error);
  if (!days) return usage_error(error);
  const auto now = std::chrono::system_clock::now();
  crypto::IssueRequest request{a.values.at("--user-info-id"), role == "ue" ? crypto::Role::kUe : crypto::Role::kRelay,
                               now - 1h, now + 24h * *days};
  for (const auto& [key, field] :
       {std::pair{"--not-before", &request.not_before}, {"--not-after", &request.not_after}}) {
    if (auto it = a.values.find(key); it != a.values.end()) {
      auto t = provision::parse_utc(it->second);
      if (!t)
        return usage_error(std::string(key) + ": \"" + it->second + "\" is not a UTC time like 2026-01-31T12:00:00Z");
      *field = *t;
    }
  }
  if (request.not_after <= request.not_before) return usage_error("the validity period ends before it begins");
  if (request.user_info_id.empty() || request.user_info_id.size() > wire::kUserInfoIdMaxSize) {
    return usage_error("--user-info-id must hold 1 to 64 characters");
  }
  auto authority = provision::load_ca(a.values.at("--ca"));
  if (!authority) return report(authority.error());
  if (auto s = provision::issue(*authority, request, a.values.at("--out"), a.flags.count("--force")); !s) {
    return report(s);
  }
  std::cout << a.values.at("--out") << "/cert.pem\n" << a.values.at("--out") << "/key.pem\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is required: testbed, ca or issue");
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << daemon::version_text("u2u-provision");
    return kExitOk;
  }
  std::string error;
  std::optional<Args> args;
  if (command == "testbed") {
    args = parse(argc, argv,
                 {"--out", "--base-port", "--source-address", "--relay-address", "--target-address", "--relay-listen",
                  "--source-id", "--relay-id", "--target-id", "--log-format", "--days", "--discovery",
                  "--discovery-model", "--multicast-group", "--relay-target-address"},
                 {"--force"}, error);
    if (!args) return usage_error(error);
    return testbed(*args);
  }
  if (command == "ca") {
    args = parse(argc, argv, {"--out", "--name", "--days"}, {"--force"}, error);
    if (!args) return usage_error(error);
    return ca(*args);
  }
  if (command == "issue") {
    args = parse(argc, argv, {"--ca", "--role", "--user-info-id", "--out", "--days", "--not-before", "--not-after"},
                 {"--force"}, error);
    if (!args) return usage_error(error);
    return issue(*args);
  }
  return usage_error("unknown command '" + command + "'");
}
