// Issue #4 with the real daemons: lossy links (through u2u-impair on both hops), late starts, restarts with
// SIGKILL, keep-alive, release, SIGHUP, and a junk flood while handshakes run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

// Quick link maintenance for tests: a keep-alive each 0.5 s, 3 tries of 0.2 s; links forgotten after 2 s.
void fast_maintenance(const LoopbackTestbed& tb) {
  set_if_present(tb.config("source-ue"), "keepalive_interval_ms", "500");
  set_if_present(tb.config("source-ue"), "keepalive_timeout_ms", "200");
  set_if_present(tb.config("source-ue"), "retry_interval_ms", "300");
  set_if_present(tb.config("relay-ue"), "link_timeout_ms", "2000");
  set_if_present(tb.config("target-ue"), "link_timeout_ms", "2000");
}

std::size_t count(const std::string& log, const std::string& event) { return events(log, event).size(); }

bool wait_for_count(const std::string& log, const std::string& event, std::size_t n,
                    std::chrono::milliseconds timeout = 20s) {
  return wait_for(
             log, [&](const Json&) { return count(log, event) >= n; }, timeout)
      .has_value();
}

// The junk flood is paced: unpaced, it keeps the relay's socket buffer full and a handshake's datagrams rarely fit in,
// a race for the CPU rather than the property under test (and under the sanitizers, which slow the daemons far more
// than the flood's sendto loop, a lost one). Paced, it is still tens of thousands of junk datagrams a second.
constexpr long kFloodBurst = 64;  // this many datagrams, then 1 ms of pause

Process start_source_daemon(const LoopbackTestbed& tb) {
  return Process({bin("source-ue"), "--config", tb.config("source-ue")}, tb.log("source-ue"));
}

void restart(std::optional<Process>& p, const std::string& program, const std::string& config, const std::string& log) {
  p->signal(SIGKILL);
  p->wait(5s);
  const std::size_t before = count(log, "started");
  p.emplace(std::vector<std::string>{bin(program), "--config", config}, log);
  ASSERT_TRUE(wait_for_count(log, "started", before + 1, 5s)) << read_file(log);
}

TEST(ReliabilityDaemons, ThirtyPercentLossAndTwentyPercentDuplicationOnBothHopsEveryHandshakeCompletes) {
  LoopbackTestbed tb;
  const int relay_port = tb.base_port() + 1;
  const int target_port = tb.base_port() + 2;
  const std::vector<std::string> lossy{"--loss", "30", "--duplicate", "20"};
  Impair source_hop(tb.dir() + "/impair-1.log", relay_port, lossy);
  Impair target_hop(tb.dir() + "/impair-2.log", target_port, lossy);
  repoint(tb.config("source-ue"), relay_port, source_hop.port);
  repoint(tb.config("relay-ue"), target_port, target_hop.port);
  tb.start_relay();
  tb.start_target();
  constexpr int kHandshakes = 5;
  for (int i = 0; i < kHandshakes; ++i) {
    ASSERT_EQ(tb.run_source_once(60s), 0) << "handshake " << i << "\n" << read_file(tb.log("source-ue"));
  }
  ASSERT_TRUE(wait_for_count(tb.log("target-ue"), "link_established", kHandshakes, 10s));
  // Each session: the same KD-sess at both ends (corruption aside, duplicates and losses change nothing).
  const auto at_source = events(tb.log("source-ue"), "link_established");
  const auto at_target = events(tb.log("target-ue"), "link_established");
  ASSERT_EQ(at_source.size(), static_cast<std::size_t>(kHandshakes));
  for (const auto& s : at_source) {
    const auto match =
        std::find_if(at_target.begin(), at_target.end(), [&](const Json& t) { return t["session"] == s["session"]; });
    ASSERT_NE(match, at_target.end()) << s.dump();
    EXPECT_EQ((*match)["kd_sess_id"], s["kd_sess_id"]);
  }
  const Json up = source_hop.stop();
  EXPECT_GT(up.value("up_dropped", 0) + up.value("down_dropped", 0), 0) << "the proxy did not impair anything";
}

TEST(ReliabilityDaemons, RelayAndTargetStartingAfterTheSourceAreReachedByItsRetransmissions) {
  LoopbackTestbed tb;
  fast_maintenance(tb);
  Process source = start_source_daemon(tb);
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "started", 5s));
  std::this_thread::sleep_for(2s);  // the source sends and resends into the void
  tb.start_relay();
  tb.start_target();
  EXPECT_TRUE(wait_for_event(tb.log("source-ue"), "link_confirmed", 25s)) << read_file(tb.log("source-ue"));
  EXPECT_TRUE(wait_for_event(tb.log("target-ue"), "link_established", 5s));
  // One handshake, begun before the relay existed, carried through by its retransmissions.
  const auto established = events(tb.log("source-ue"), "link_established");
  ASSERT_EQ(established.size(), 1u);
  EXPECT_GE(established[0]["elapsed_ms"].get<int>(), 1500);
  EXPECT_TRUE(events(tb.log("source-ue"), "link_failed").empty());
}

TEST(ReliabilityDaemons, KeepaliveDetectsAKilledRelayAndTheSourceReestablishesThroughItsRestart) {
  LoopbackTestbed tb;
  fast_maintenance(tb);
  tb.start_relay();
  tb.start_target();
  Process source = start_source_daemon(tb);
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "link_confirmed", 15s)) << read_file(tb.log("source-ue"));
  tb.relay->signal(SIGKILL);
  tb.relay->wait(5s);
  const auto lost = wait_for_event(tb.log("source-ue"), "link_lost", 10s);
  ASSERT_TRUE(lost) << read_file(tb.log("source-ue"));
  EXPECT_EQ((*lost)["check"], "keepalive_timeout");
  // The target, hearing nothing more, frees the link.
  EXPECT_TRUE(wait_for_event(tb.log("target-ue"), "link_expired", 10s));
  // The relay comes back: the source, never restarted, establishes a new link through it.
  tb.relay.emplace(std::vector<std::string>{bin("relay-ue"), "--config", tb.config("relay-ue")}, tb.log("relay-ue"));
  EXPECT_TRUE(wait_for_count(tb.log("source-ue"), "link_confirmed", 2, 30s)) << read_file(tb.log("source-ue"));
  EXPECT_TRUE(wait_for_count(tb.log("target-ue"), "link_established", 2, 5s));
}

TEST(ReliabilityDaemons, TargetKilledAndRestartedIsDetectedAndTheLinkReestablished) {
  LoopbackTestbed tb;
  fast_maintenance(tb);
  tb.start_relay();
  tb.start_target();
  Process source = start_source_daemon(tb);
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "link_confirmed", 15s));
  restart(tb.target, "target-ue", tb.config("target-ue"), tb.log("target-ue"));
  // The restarted target knows no link: keep-alives go unanswered, the source establishes anew.
  EXPECT_TRUE(wait_for_event(tb.log("source-ue"), "link_lost", 10s));
  EXPECT_TRUE(wait_for_count(tb.log("source-ue"), "link_confirmed", 2, 30s)) << read_file(tb.log("source-ue"));
  EXPECT_TRUE(wait_for_count(tb.log("target-ue"), "link_established", 2, 5s));
}

TEST(ReliabilityDaemons, SigtermReleasesTheLinkAndFreesItAtTheRelayAndTheTarget) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  Process source = start_source_daemon(tb);
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "link_confirmed", 15s));
  source.signal(SIGTERM);
  EXPECT_EQ(source.wait(10s), 0);
  const auto released = events(tb.log("source-ue"), "link_released");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0]["acknowledged"], "yes");
  EXPECT_TRUE(wait_for_event(tb.log("relay-ue"), "link_released", 5s));
  const auto at_target = wait_for_event(tb.log("target-ue"), "link_released", 5s);
  ASSERT_TRUE(at_target);
  EXPECT_EQ((*at_target)["cause"], 2);
}

TEST(ReliabilityDaemons, SighupReloadsCredentialsAndKeepsTheEstablishedLink) {
  LoopbackTestbed tb;
  fast_maintenance(tb);
  tb.start_relay();
  tb.start_target();
  Process source = start_source_daemon(tb);
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "link_confirmed", 15s));
  // A fresh credential for the target (same identity, new key), loaded by SIGHUP.
  tb.reissue("target-ue", tb.dir() + "/ca", "ue", "target-ue");
  tb.target->signal(SIGHUP);
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "reloaded", 5s)) << read_file(tb.log("target-ue"));
  std::this_thread::sleep_for(2s);  // keep-alives go on over the old link's keys
  EXPECT_TRUE(events(tb.log("source-ue"), "link_lost").empty()) << read_file(tb.log("source-ue"));
  EXPECT_TRUE(events(tb.log("target-ue"), "link_expired").empty());
  // A broken file is refused and the old credentials stay.
  std::ofstream(tb.dir() + "/target-ue/cert.pem", std::ios::trunc) << "garbage\n";
  tb.target->signal(SIGHUP);
  const auto failed = wait_for_event(tb.log("target-ue"), "reload_failed", 5s);
  ASSERT_TRUE(failed);
  EXPECT_NE((*failed)["reason"].get<std::string>().find("credentials.certificate"), std::string::npos);
}

// The flood is a fixed number of junk datagrams, and handshakes run back to back for as long as it lasts (at least
// kFloodHandshakes of them, the flood going on until they have ended): every handshake overlaps the flood, and the
// flood has its full size, on a machine of any speed.
TEST(ReliabilityDaemons, JunkFloodWhileHandshakesRunEveryHandshakeCompletesAndTheRelayStaysUp) {
  constexpr long kJunkDatagrams = 20000;
  constexpr int kFloodHandshakes = 3;
  LoopbackTestbed tb;
  set_if_present(tb.config("relay-ue"), "level", "debug");  // datagram_dropped is a debug event
  tb.start_relay();
  tb.start_target();
  std::atomic<int> handshakes_ended{0};
  std::atomic<bool> flood_ended{false};
  long sent = 0;
  const auto flood_started = std::chrono::steady_clock::now();
  std::thread flood([&] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(tb.base_port() + 1));
    std::mt19937 rng(7);
    std::uint8_t buf[1500];
    while (sent < kJunkDatagrams || handshakes_ended < kFloodHandshakes) {
      const std::size_t n = 1 + rng() % sizeof buf;
      for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<std::uint8_t>(rng());
      if (rng() % 2 == 0 && n > 8) buf[0] = 0x01;  // half of it gets past the version octet
      ::sendto(fd, buf, n, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (++sent % kFloodBurst == 0) std::this_thread::sleep_for(1ms);
    }
    ::close(fd);
    flood_ended = true;
  });
  int started = 0;
  int established = 0;
  while (!flood_ended) {  // each handshake starts while the flood runs
    ++started;
    established += tb.run_source_once(40s) == 0 ? 1 : 0;
    ++handshakes_ended;
  }
  flood.join();
  const double flood_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - flood_started).count();
  EXPECT_GE(started, kFloodHandshakes);
  EXPECT_EQ(established, started) << read_file(tb.log("source-ue"));
  EXPECT_GE(sent, kJunkDatagrams);
  EXPECT_FALSE(tb.relay->wait(0ms).has_value()) << "the relay died";
  // Drops of junk are logged, but rate-limited (lib/logging/event_log.cpp: bursts of 50, then 20 a second).
  const std::size_t drop_lines = count(tb.log("relay-ue"), "datagram_dropped");
  EXPECT_GT(drop_lines, 0u);
  EXPECT_LE(drop_lines, static_cast<std::size_t>(50 + 20 * (flood_seconds + 2)))
      << drop_lines << " lines for " << sent << " datagrams in " << flood_seconds << " s";
}

}  // namespace
}  // namespace u2u::test
