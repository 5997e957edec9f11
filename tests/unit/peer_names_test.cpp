// Peers named by host name in a config (lib/daemon/peer_names.hpp): the name's syntax, the address taken, a new
// address noticed, a failure that keeps the last address, and the relay routing to a target's new address.
#include <gtest/gtest.h>

#include <map>

#include "config/config.hpp"
#include "daemon/peer_names.hpp"
#include "logging/event_log.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using daemon::PeerNames;

TEST(HostName, NamesAreLettersDigitsAndHyphensInLabelsAndNoNumericAddressPassesForOne) {
  for (const char* good : {"localhost", "target-1", "relay.example.org", "relay.example.org.", "a1", "x.1a", "R"})
    EXPECT_TRUE(is_host_name(good)) << good;
  for (const char* bad : {"", ".", "10.0.0.1", "10.0.0.256", "1", "::1", "-relay", "relay-", "a..b", "a b", "a_b",
                          "relay.example.org..", "r\xc3\xa9lay", "host:40101"})
    EXPECT_FALSE(is_host_name(bad)) << bad;
  EXPECT_TRUE(is_host_name(std::string(63, 'a')));
  EXPECT_FALSE(is_host_name(std::string(64, 'a')));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(62, 'a') + ".";
  EXPECT_FALSE(is_host_name(long_name + "abcd"));  // 256 octets
}

TEST(HostName, AConfigAddressIsNumericOrAHostNameElseAnErrorNamingTheFileAndKey) {
  auto numeric = config::peer_address({"10.1.2.3", 40102}, "relay-ue.yaml", "targets[0]");
  ASSERT_TRUE(numeric);
  ASSERT_TRUE(numeric->endpoint);
  EXPECT_EQ(numeric->endpoint->to_string(), "10.1.2.3:40102");
  auto named = config::peer_address({"target-1", 40102}, "relay-ue.yaml", "targets[0]");
  ASSERT_TRUE(named);
  EXPECT_FALSE(named->endpoint);
  EXPECT_EQ(named->host, "target-1");
  EXPECT_EQ(named->port, 40102);
  auto bad = config::peer_address({"10.0.0.300", 40102}, "relay-ue.yaml", "targets[1]");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason,
            "relay-ue.yaml: targets[1].address: \"10.0.0.300\" is neither a numeric IPv4 or IPv6 address nor a host "
            "name");
}

// A resolver that answers from a table, at once.
struct FakeDns {
  std::map<std::string, std::vector<std::string>> table;  // name: addresses
  int asked = 0;
  PeerNames::Resolver resolver() {
    return [this](const std::string& host, std::uint16_t port, PeerNames::Done done) {
      ++asked;
      const auto it = table.find(host);
      if (it == table.end()) return done({}, "Host not found (authoritative)");
      std::vector<Endpoint> out;
      for (const auto& a : it->second) out.push_back(*Endpoint::parse(a, port));
      done(out, {});
    };
  }
};

struct Logged {
  logging::EventLog log{"relay-ue", logging::Format::kJson, protocol::Level::kError};  // prints nothing here
  std::vector<protocol::Event> events;
  Logged() {
    log.set_observer([this](const protocol::Event& e) { events.push_back(e); });
  }
  std::vector<protocol::Event> named(const std::string& name) const {
    std::vector<protocol::Event> out;
    for (const auto& e : events)
      if (e.name == name) out.push_back(e);
    return out;
  }
};

std::vector<std::string> checks_of(const Testbed& tb, std::string_view role) {
  std::vector<std::string> out;
  for (const auto& e : tb.net.events(role, "check_failed")) out.push_back(str(e, "check"));
  return out;
}

std::string text(const protocol::Event& e, const std::string& key) {
  const auto* v = e.find(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "(none)";
}

TEST(PeerNames, ANewAddressIsTakenAndReportedAndAFailureKeepsTheLastAddressAndIsLoggedOnce) {
  FakeDns dns;
  Logged l;
  PeerNames names(l.log, dns.resolver(), false);
  const std::size_t t = names.add("targets[0]", "target-1", 40102);
  std::vector<std::size_t> changed;
  int done = 0;
  const auto refresh = [&] { names.refresh([&](std::size_t i) { changed.push_back(i); }, [&] { ++done; }); };

  refresh();  // not known yet
  EXPECT_FALSE(names.endpoint(t));
  EXPECT_TRUE(changed.empty());
  ASSERT_EQ(l.named("peer_unresolved").size(), 1u);
  EXPECT_EQ(text(l.named("peer_unresolved")[0], "key"), "targets[0]");
  EXPECT_EQ(text(l.named("peer_unresolved")[0], "using"), "none: no peer yet");

  dns.table["target-1"] = {"::1", "10.0.1.5"};  // the first address of the socket's family (IPv4) is taken
  refresh();
  ASSERT_TRUE(names.endpoint(t));
  EXPECT_EQ(names.endpoint(t)->to_string(), "10.0.1.5:40102");
  EXPECT_EQ(changed, std::vector<std::size_t>{t});
  ASSERT_EQ(l.named("peer_resolved").size(), 1u);
  EXPECT_EQ(text(l.named("peer_resolved")[0], "address"), "10.0.1.5:40102");
  EXPECT_EQ(text(l.named("peer_resolved")[0], "previous"), "(none)");

  refresh();  // the same: nothing new, nothing logged
  EXPECT_EQ(changed.size(), 1u);
  EXPECT_EQ(l.named("peer_resolved").size(), 1u);

  dns.table.erase("target-1");
  refresh();
  refresh();
  EXPECT_EQ(names.endpoint(t)->to_string(), "10.0.1.5:40102") << "a name that stops resolving keeps its address";
  ASSERT_EQ(l.named("peer_unresolved").size(), 2u) << "logged once per failure, not on every refresh";
  EXPECT_EQ(text(l.named("peer_unresolved")[1], "using"), "10.0.1.5:40102");

  dns.table["target-1"] = {"10.0.2.9"};  // the task replaced elsewhere
  refresh();
  EXPECT_EQ(names.endpoint(t)->to_string(), "10.0.2.9:40102");
  EXPECT_EQ(changed, (std::vector<std::size_t>{t, t}));
  ASSERT_EQ(l.named("peer_resolved").size(), 2u);
  EXPECT_EQ(text(l.named("peer_resolved")[1], "previous"), "10.0.1.5:40102");
  EXPECT_EQ(done, 6);
  EXPECT_EQ(dns.asked, 6);
}

TEST(PeerNames, ANameWithAddressesOnlyOfTheOtherFamilyIsUnresolvedAndSaysSo) {
  FakeDns dns;
  dns.table["relay"] = {"fd00::7"};
  Logged l;
  PeerNames names(l.log, dns.resolver(), false);
  names.add("relay", "relay", 40101);
  names.refresh({});
  EXPECT_FALSE(names.endpoint(0));
  ASSERT_EQ(l.named("peer_unresolved").size(), 1u);
  EXPECT_EQ(text(l.named("peer_unresolved")[0], "reason"), "no IPv4 address (this daemon's socket is IPv4)");
  PeerNames v6(l.log, dns.resolver(), true);
  v6.add("relay", "relay", 40101);
  v6.refresh({});
  ASSERT_TRUE(v6.endpoint(0));
  EXPECT_EQ(v6.endpoint(0)->to_string(), "[fd00::7]:40101");
}

TEST(PeerNames, EveryNameIsAskedAndDoneComesOnceAllHaveAnswered) {
  std::vector<std::pair<std::string, PeerNames::Done>> waiting;  // answered later, in another order
  Logged l;
  PeerNames names(
      l.log, [&](const std::string& host, std::uint16_t, PeerNames::Done done) { waiting.emplace_back(host, done); },
      false);
  names.add("targets[0]", "a", 1);
  names.add("targets[2]", "b", 2);
  int done = 0;
  names.refresh({}, [&] { ++done; });
  ASSERT_EQ(waiting.size(), 2u);
  waiting[1].second({*Endpoint::parse("10.0.0.2", 2)}, {});
  EXPECT_EQ(done, 0);
  waiting[0].second({*Endpoint::parse("10.0.0.1", 1)}, {});
  EXPECT_EQ(done, 1);
  EXPECT_EQ(names.endpoint(0)->to_string(), "10.0.0.1:1");
  EXPECT_EQ(names.endpoint(1)->to_string(), "10.0.0.2:2");
}

// relay-ue with a target named by host name: no route to it until its name resolves (RelayUe::set_target), then
// requests go to its address, and to its new one when the name resolves elsewhere.
TEST(PeerNames, TheRelayRefusesATargetWhoseNameNeverResolvedAndRoutesToItsLatestAddress) {
  const TestPki pki;
  const Parties p(pki);
  auto unresolved = relay_config(p.relay);
  unresolved.targets.clear();
  Testbed refused(source_config(p.source), std::move(unresolved), target_config(p.target));
  refused.run();
  EXPECT_EQ(checks_of(refused, "relay-ue"), std::vector<std::string>{"unknown_target"});
  EXPECT_NE(refused.source.state(), protocol::SourceUe::State::kEstablished);

  auto moved = relay_config(p.relay);
  moved.targets.clear();
  Testbed tb(source_config(p.source), std::move(moved), target_config(p.target));
  tb.relay.set_target({"target-ue", kTargetL2, *Endpoint::parse("10.0.0.99", 4003)});  // where it was
  tb.relay.set_target({"target-ue", kTargetL2, kTargetEndpoint});                      // where it is now
  ASSERT_EQ(tb.relay.config().targets.size(), 1u);
  tb.run();
  EXPECT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  for (const auto& f : tb.net.wire_log) EXPECT_NE(f.to.to_string(), "10.0.0.99:4003");
}

TEST(PeerNames, ARequestTheTargetHasNotAnsweredFollowsItToItsNewAddress) {
  const TestPki pki;
  const Parties p(pki);
  auto gone = relay_config(p.relay);
  gone.targets = {{"target-ue", kTargetL2, *Endpoint::parse("10.0.0.99", 4003)}};  // a task that was killed
  Testbed tb(source_config(p.source), std::move(gone), target_config(p.target));
  tb.run();
  ASSERT_EQ(tb.relay.pending_count(), 1u);
  ASSERT_EQ(tb.net.events("target-ue", "step").size(), 0u);
  tb.relay.set_target({"target-ue", kTargetL2, kTargetEndpoint});  // its name resolved to the new task
  tb.fire_timers(later(test_now(), std::chrono::seconds(5)));      // the next copy of the request
  EXPECT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  EXPECT_EQ(tb.net.events("relay-ue", "link_relayed").size(), 1u) << "the same request, not a new handshake";
}

}  // namespace
}  // namespace u2u::test
