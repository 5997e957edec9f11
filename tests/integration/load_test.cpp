// u2u-load against the real daemons (issue 4 item 5): simulated sources, each with its own credential, Layer-2 ID
// and socket, through a loopback testbed's relay-ue to its target-ue, with junk or bad signatures at the relay.
// Short versions of scripts/reliability's load scenarios: no timing assertions beyond generous deadlines, and floods
// of a fixed size before the first handshake (--flood-lead-datagrams), whatever the machine's speed.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

// ASan keeps freed memory in quarantine, so an instrumented relay's RSS does not come back down.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMemoryIsReturned = false;
#else
constexpr bool kMemoryIsReturned = true;
#endif
constexpr long kRssSlackKib = 32 * 1024;  // far above what 50 handshakes cost the relay (about 1 MiB)

TEST(LoadTool, FiftySourcesThroughAJunkFloodAreAllConfirmedWithTheirOwnKeysAndTheRelaysMemoryReturns) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  const LoadRun r = run_load(tb, {"--sources", "50", "--concurrency", "10", "--junk-rate", "2000", "--junk-sockets",
                                  "16", "--flood-lead-ms", "0", "--flood-lead-datagrams", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.report["confirmed"], 50) << r.output;
  EXPECT_EQ(r.report["failed"], 0);
  EXPECT_EQ(r.report["releases_acknowledged"], 50);
  EXPECT_GE(r.report["junk_sent"].get<long>(), 1000) << r.output;
  EXPECT_FALSE(tb.relay->wait(0ms).has_value()) << "the relay died";
  EXPECT_TRUE(r.report["relay_alive"].get<bool>());

  const long before = r.report["relay_rss_kib_before"].get<long>();
  EXPECT_GT(before, 0) << r.output;
  EXPECT_GE(r.report["relay_rss_kib_peak"].get<long>(), before);
  if (kMemoryIsReturned) {
    EXPECT_LT(r.report["relay_rss_kib_after"].get<long>(), before + kRssSlackKib) << r.output;
  }

  // Fifty distinct sources at the target, each with the KD-sess its source derived.
  ASSERT_TRUE(wait_for(
      tb.log("target-ue"), [&](const Json&) { return events(tb.log("target-ue"), "link_established").size() >= 50; },
      10s));
  const auto at_target = events(tb.log("target-ue"), "link_established");
  std::set<std::string> peers;
  for (const auto& e : at_target) peers.insert(e["peer"]);
  EXPECT_EQ(peers.size(), 50u);
  EXPECT_EQ(peers.count("load-source-0001"), 1u);
  EXPECT_EQ(peers.count("load-source-0050"), 1u);
  const auto at_source = events(r.events_path, "link_established");
  ASSERT_EQ(at_source.size(), 50u);
  for (const auto& s : at_source) {
    const auto match =
        std::find_if(at_target.begin(), at_target.end(), [&](const Json& t) { return t["session"] == s["session"]; });
    ASSERT_NE(match, at_target.end()) << s.dump();
    EXPECT_EQ((*match)["kd_sess_id"], s["kd_sess_id"]);
  }
}

TEST(LoadTool, RequestsWithBadSignaturesAreEachRefusedWithCause6WhileLegitimateSourcesComplete) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  // 32 addresses x the relay's 5 new requests/s per address: 100/s all reach the signature check.
  const LoadRun r =
      run_load(tb, {"--sources", "20", "--concurrency", "10", "--bad-signature-rate", "100", "--bad-signature-sockets",
                    "32", "--flood-lead-ms", "0", "--flood-lead-datagrams", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.report["confirmed"], 20) << r.output;
  EXPECT_GE(r.report["bad_signature_sent"].get<long>(), 60) << r.output;
  EXPECT_GT(r.report["bad_signature_rejects"].get<long>(), 0) << r.output;
  for (const auto& [cause, n] : r.report["bad_signature_rejects_by_cause"].items()) {
    EXPECT_EQ(cause, "6") << n << " REJECTs with cause #" << cause;
  }
  const auto refused = events(tb.log("relay-ue"), "check_failed");
  EXPECT_NE(std::find_if(refused.begin(), refused.end(), [](const Json& e) { return e["check"] == "sign_source"; }),
            refused.end())
      << read_file(tb.log("relay-ue"));
  // Nothing of the flood reached the target.
  for (const auto& e : events(tb.log("target-ue"))) {
    EXPECT_EQ(e.value("peer", std::string()).find("load-flood"), std::string::npos) << e.dump();
  }
  EXPECT_FALSE(tb.relay->wait(0ms).has_value()) << "the relay died";
}

// Issue 20: at u2u-provision's defaults (max_sessions and max_pending 1,024, 45 s timeouts), more handshakes than
// the tables hold, back to back: each confirmed handshake leaves the tables at once, so every one completes, and
// after the releases the relay and the target hold nothing in progress and no link.
TEST(LoadTool, ThreeThousandHandshakesAtTheDefaultsAllCompleteAndTheTablesEmptyAfterTheReleases) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  const LoadRun r = run_load(tb, {"--sources", "3000", "--concurrency", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.report["confirmed"], 3000) << r.output;
  EXPECT_EQ(r.report["failed"], 0);
  EXPECT_EQ(r.report["releases_acknowledged"], 3000);
  EXPECT_TRUE(events(tb.log("target-ue"), "check_failed").empty()) << read_file(tb.log("target-ue"));
  tb.relay->signal(SIGTERM);
  tb.target->signal(SIGTERM);
  tb.relay->wait(10s);
  tb.target->wait(10s);
  const auto relay = events(tb.log("relay-ue"), "stopping");
  const auto target = events(tb.log("target-ue"), "stopping");
  ASSERT_EQ(relay.size(), 1u);
  ASSERT_EQ(target.size(), 1u);
  EXPECT_EQ(relay[0]["pending"], 0);
  EXPECT_EQ(relay[0]["links"], 0);
  EXPECT_EQ(target[0]["sessions"], 0);
  EXPECT_EQ(target[0]["links"], 0);
  // What stays for a while, by design: released routes (link_timeout_ms) and released links (10 s), each at most one
  // per handshake.
  EXPECT_LE(relay[0]["released"].get<int>(), 3000);
  EXPECT_LE(target[0]["released"].get<int>(), 3000);
}

// Issue 11: the relay's and the target's signature work on four worker threads each, under many handshakes at once:
// every handshake completes with its own keys, and the started event says how many workers run. Under ASan
// (scripts/sanitize) and ThreadSanitizer (scripts/tsan) this is the daemons' concurrency test.
TEST(LoadTool, TwoHundredConcurrentHandshakesThroughFourWorkersAtTheRelayAndTheTargetEachGetTheirOwnKeys) {
  LoopbackTestbed tb;
  for (const char* role : {"relay-ue", "target-ue"}) {
    std::ofstream(tb.config(role), std::ios::app) << "workers: 4\n";
  }
  tb.start_relay();
  tb.start_target();
  const LoadRun r = run_load(tb, {"--sources", "200", "--concurrency", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.report["confirmed"], 200) << r.output;
  EXPECT_EQ(r.report["failed"], 0);
  for (const char* role : {"relay-ue", "target-ue"}) {
    const auto started = events(tb.log(role), "started");
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0]["workers"], 4) << role;
  }
  ASSERT_TRUE(wait_for(
      tb.log("target-ue"), [&](const Json&) { return events(tb.log("target-ue"), "link_established").size() >= 200; },
      10s));
  const auto at_target = events(tb.log("target-ue"), "link_established");
  const auto at_source = events(r.events_path, "link_established");
  ASSERT_EQ(at_source.size(), 200u);
  std::set<std::string> keys;
  for (const auto& s : at_source) {
    const auto match =
        std::find_if(at_target.begin(), at_target.end(), [&](const Json& t) { return t["session"] == s["session"]; });
    ASSERT_NE(match, at_target.end()) << s.dump();
    EXPECT_EQ((*match)["kd_sess_id"], s["kd_sess_id"]);
    EXPECT_EQ((*match)["peer"], s["user_info_id"]);
    keys.insert(s["kd_sess_id"].get<std::string>());
  }
  EXPECT_EQ(keys.size(), 200u) << "no two handshakes share a key";
  EXPECT_TRUE(events(tb.log("relay-ue"), "check_failed").empty()) << read_file(tb.log("relay-ue"));
  EXPECT_TRUE(events(tb.log("target-ue"), "check_failed").empty()) << read_file(tb.log("target-ue"));
}

// The swarm stack's fleet (docker/stack): credentials issued beforehand, so that no CA key is in the load tool, the
// relay named rather than numbered, and links that a relay's restart took established anew.
TEST(LoadTool, PreIssuedCredentialsNeedNoCaKeyAndLinksLostWhenTheRelayRestartsAreEstablishedAnew) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  std::string bundle;
  for (const std::string id : {"fleet-a", "fleet-b", "fleet-c"}) {
    tb.reissue(id, tb.dir() + "/ca", "ue", id);
    bundle += read_file(tb.dir() + "/" + id + "/cert.pem") + read_file(tb.dir() + "/" + id + "/key.pem");
  }
  std::ofstream(tb.dir() + "/fleet.pem") << bundle;
  const std::string events_path = tb.dir() + "/fleet-events.log";
  Process load({bin("u2u-load"), "--ca", tb.dir() + "/ca/cert.pem", "--credentials", tb.dir() + "/fleet.pem", "--relay",
                "localhost:" + std::to_string(tb.base_port() + 1), "--hold", "--hold-ms", "600000", "--reestablish",
                "--timers", "keepalive_interval_ms=300,keepalive_timeout_ms=200,keepalive_max_tries=2", "--events",
                events_path, "--json", tb.dir() + "/fleet.json"},
               tb.dir() + "/fleet.out");
  const auto confirmed = [&](std::size_t n) {
    return wait_for(
        events_path, [&](const Json&) { return events(events_path, "link_confirmed").size() >= n; }, 30s);
  };
  ASSERT_TRUE(confirmed(3)) << read_file(tb.dir() + "/fleet.out");
  std::set<std::string> ids;
  for (const auto& e : events(events_path, "link_established")) ids.insert(e["user_info_id"]);
  EXPECT_EQ(ids, (std::set<std::string>{"fleet-a", "fleet-b", "fleet-c"}));

  tb.relay->signal(SIGKILL);
  tb.relay->wait(5s);
  tb.relay.reset();
  tb.start_relay();  // it has forgotten every link: each source's keep-alive goes unanswered
  ASSERT_TRUE(confirmed(6)) << read_file(tb.dir() + "/fleet.out");
  load.signal(SIGTERM);
  load.wait(10s);
  const Json report = Json::parse(read_file(tb.dir() + "/fleet.json"));
  EXPECT_EQ(report["confirmed"], 3);
  EXPECT_EQ(report["reestablished"], 3);
  EXPECT_EQ(report["lost_while_held_by_check"]["keepalive_timeout"], 3);
}

TEST(LoadTool, UsageErrorsExitWith2AndHelpWith0) {
  std::string output;
  EXPECT_EQ(run({bin("u2u-load"), "--sources", "3"}, &output), 2);
  EXPECT_NE(output.find("--ca"), std::string::npos) << output;
  EXPECT_EQ(run({bin("u2u-load"), "--ca", "/nonexistent", "--relay", "127.0.0.1:1", "--sources", "x"}, &output), 2);
  EXPECT_EQ(run({bin("u2u-load"), "--ca", "/nonexistent", "--relay", "127.0.0.1:1", "--sources", "1"}, &output), 2);
  EXPECT_NE(output.find("/nonexistent"), std::string::npos) << output;
  EXPECT_EQ(run({bin("u2u-load"), "--ca", "c", "--relay", "relay-1:40101", "--sources", "1", "--reestablish"}, &output),
            2);
  EXPECT_NE(output.find("--reestablish needs --hold"), std::string::npos) << output;
  EXPECT_EQ(run({bin("u2u-load"), "--ca", "c", "--relay", "relay 1:40101", "--sources", "1"}, &output), 2);
  EXPECT_EQ(
      run({bin("u2u-load"), "--ca", "c", "--credentials", "f", "--relay", "127.0.0.1:1", "--junk-rate", "9"}, &output),
      2);
  EXPECT_NE(output.find("not with --credentials"), std::string::npos) << output;
  EXPECT_EQ(run({bin("u2u-load"), "--ca", "/nonexistent", "--credentials", "f", "--relay", "127.0.0.1:1"}, &output), 2);
  EXPECT_NE(output.find("cannot read the CA certificate /nonexistent"), std::string::npos) << output;
  EXPECT_EQ(run({bin("u2u-load"), "--help"}, &output), 0);
  EXPECT_NE(output.find("--bad-signature-rate"), std::string::npos);
}

}  // namespace
}  // namespace u2u::test
