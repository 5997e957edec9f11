// Issue 13 with the real daemons: handshakes at the edge of range (u2u-impair on both hops, fixed seeds), each source
// trying once within the default T5080 budget (20 tries, 19.5 s), through relay-ue to target-ue. Short versions of
// scripts/reliability's scenarios; no timing assertions beyond generous deadlines.
#include <gtest/gtest.h>

#include <fstream>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

constexpr int kSources = 20;

struct EdgeRun {
  LoadRun load;
  Json source_hop;  // the proxies' counters
  Json target_hop;
};

// kSources sources at once through proxies on both hops applying `source_hop` and `target_hop`.
EdgeRun run_through_proxies(LoopbackTestbed& tb, const std::vector<std::string>& source_hop,
                            const std::vector<std::string>& target_hop) {
  const int relay_port = tb.base_port() + 1;
  const int target_port = tb.base_port() + 2;
  Impair to_relay(tb.dir() + "/impair-source-hop.log", relay_port, source_hop);
  Impair to_target(tb.dir() + "/impair-target-hop.log", target_port, target_hop);
  repoint(tb.config("relay-ue"), target_port, to_target.port);
  // Every source comes from the proxy's one address: the relay's limits per sending host (5 new requests/s, 16
  // pending) would throttle them as one host, which is not what these tests measure.
  std::ofstream(tb.config("relay-ue"), std::ios::app)
      << "max_pending_per_host: 4096\nrate_limit:\n  per_second: 100000\n  burst: 100000\n";
  tb.start_relay();
  tb.start_target();
  EdgeRun r;
  r.load =
      run_load(tb, {"--sources", std::to_string(kSources), "--concurrency", std::to_string(kSources)}, to_relay.port);
  r.source_hop = to_relay.stop();
  r.target_hop = to_target.stop();
  return r;
}

// Every session established at both ends has the same KD and KD-sess at both (their IDs), and the target established
// none that the source did not.
void expect_equal_keys(const LoopbackTestbed& tb, const LoadRun& r) {
  const auto at_source = events(r.events_path, "link_established");
  const auto at_target = events(tb.log("target-ue"), "link_established");
  for (const auto& t : at_target) {
    const auto match =
        std::find_if(at_source.begin(), at_source.end(), [&](const Json& s) { return s["session"] == t["session"]; });
    ASSERT_NE(match, at_source.end()) << "a link the source never established: " << t.dump();
    EXPECT_EQ((*match)["kd_id"], t["kd_id"]);
    EXPECT_EQ((*match)["kd_sess_id"], t["kd_sess_id"]);
  }
}

long impaired(const Json& counters, const std::string& what) {
  return counters.value("up_" + what, 0L) + counters.value("down_" + what, 0L);
}

TEST(EdgeOfRange, FiftyPercentLossOnBothHopsAtLeast19Of20HandshakesCompleteWithinOneT5080Budget) {
  LoopbackTestbed tb;
  const std::vector<std::string> loss{"--loss", "50"};
  const EdgeRun r = run_through_proxies(tb, loss, loss);
  EXPECT_GE(r.load.report.value("confirmed", 0), kSources - 1) << r.load.output;
  expect_equal_keys(tb, r.load);
  EXPECT_GT(impaired(r.source_hop, "dropped"), 0);
  EXPECT_GT(impaired(r.target_hop, "dropped"), 0);
  EXPECT_TRUE(r.load.report.value("relay_alive", false));
}

TEST(EdgeOfRange, FivePercentCorruptionOnBothHopsEveryHandshakeCompletes) {
  LoopbackTestbed tb;
  const std::vector<std::string> corrupt{"--corrupt", "5"};
  const EdgeRun r = run_through_proxies(tb, corrupt, corrupt);
  EXPECT_EQ(r.load.report.value("confirmed", 0), kSources) << r.load.output;
  EXPECT_EQ(r.load.report.value("failed", -1), 0) << r.load.output;
  expect_equal_keys(tb, r.load);
  EXPECT_GT(impaired(r.source_hop, "corrupted") + impaired(r.target_hop, "corrupted"), 0);
}

// An on-path attacker on both hops answers every request with a forged REJECT, of each cause in turn, towards its
// sender (the source "from the relay", the relay "from the target"), and every accept with one towards the target
// "from the relay": none ends a handshake, and each party logs the ones it saw as unauthenticated.
TEST(EdgeOfRange, ForgedRejectsOfEveryCauseOnBothHopsEndNoHandshakeAndAreLoggedAsUnauthenticated) {
  LoopbackTestbed tb;
  const EdgeRun r = run_through_proxies(tb, {"--forge-reject-down", "all"}, {"--forge-reject", "all"});
  EXPECT_EQ(r.load.report.value("confirmed", 0), kSources) << r.load.output;
  EXPECT_EQ(r.load.report.value("failed", -1), 0) << r.load.output;
  expect_equal_keys(tb, r.load);
  EXPECT_GE(r.source_hop.value("down_forged", 0L), kSources) << r.source_hop.dump();
  EXPECT_GE(r.target_hop.value("down_forged", 0L) + r.target_hop.value("up_forged", 0L), 2L * kSources)
      << r.target_hop.dump();
  const auto unauthenticated = [](const std::vector<Json>& logged) {
    return std::all_of(logged.begin(), logged.end(),
                       [](const Json& e) { return e.value("check", "") == "reject_unauthenticated"; });
  };
  const auto at_sources = events(r.load.events_path, "reject_hint");
  EXPECT_GE(at_sources.size(), static_cast<std::size_t>(kSources));
  EXPECT_TRUE(unauthenticated(at_sources));
  const auto at_relay = events(tb.log("relay-ue"), "reject_forwarded");
  EXPECT_GE(at_relay.size(), static_cast<std::size_t>(kSources));
  EXPECT_TRUE(unauthenticated(at_relay));
  const auto at_target = events(tb.log("target-ue"), "reject_hint");
  EXPECT_GE(at_target.size(), static_cast<std::size_t>(kSources));
  EXPECT_TRUE(unauthenticated(at_target));
  EXPECT_TRUE(events(tb.log("target-ue"), "link_failed").empty());
}

}  // namespace
}  // namespace u2u::test
