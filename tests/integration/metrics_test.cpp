// The Prometheus endpoint of the real daemons (issue 14): exact counters after a handshake in the loopback testbed,
// promtool's check of the output, 404/405/400, a slowloris client that delays neither a handshake nor a scrape,
// and a bad metrics.listen.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "integration/process.hpp"
#include "integration/scrape.hpp"

namespace u2u::test {
namespace {

struct Scrapeable {
  LoopbackTestbed tb;
  int source_port = free_tcp_port();
  int relay_port = free_tcp_port();
  int target_port = free_tcp_port();
  Scrapeable() {
    enable_metrics(tb.config("source-ue"), source_port);
    enable_metrics(tb.config("relay-ue"), relay_port);
    enable_metrics(tb.config("target-ue"), target_port);
  }
};

// promtool check metrics (Debian's prometheus package) on `text`; skipped without promtool.
void expect_promtool_accepts(const std::string& text, const std::string& role) {
  const std::string path = ::testing::TempDir() + "/metrics-" + role + ".txt";
  std::ofstream(path, std::ios::trunc) << text;
  std::string out;
  const int rc = run({"/bin/sh", "-c", "promtool check metrics < " + path}, &out);
  EXPECT_EQ(rc, 0) << role << ":\n" << out;
}

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

TEST(Metrics, EachCounterHasItsValueAfterAHandshakeAndTheGaugesFallBackAfterRelease) {
  Scrapeable s;
  s.tb.start_relay();
  s.tb.start_target();
  // The source as a daemon (it keeps the link), so that it can be scraped while the link is up.
  Process source({bin("source-ue"), "--config", s.tb.config("source-ue")}, s.tb.log("source-ue"));
  ASSERT_TRUE(wait_for_event(s.tb.log("source-ue"), "link_confirmed")) << read_file(s.tb.log("source-ue"));
  ASSERT_TRUE(wait_for_event(s.tb.log("target-ue"), "link_established"));
  const auto started = events(s.tb.log("source-ue"), "started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["metrics"], "http://127.0.0.1:" + std::to_string(s.source_port) + "/metrics");

  const std::string at_source = body_of(get(s.source_port));
  const std::string at_relay = body_of(get(s.relay_port));
  const std::string at_target = body_of(get(s.target_port));
  // source-ue: signs SIGN-Source UE (step 1), verifies SIGN-Target UE and SIGN2-relay (step 8).
  EXPECT_EQ(sample(at_source, "u2u_handshakes_total{outcome=\"established\"}"), 1) << at_source;
  EXPECT_EQ(sample(at_source, "u2u_handshakes_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(sample(at_source, "u2u_signatures_generated_total"), 1);
  EXPECT_EQ(sample(at_source, "u2u_signature_verifications_total{result=\"valid\"}"), 2);
  EXPECT_EQ(sample(at_source, "u2u_signature_verifications_total{result=\"invalid\"}"), 0);
  EXPECT_EQ(sample(at_source, "u2u_links_established"), 1);
  EXPECT_EQ(sample(at_source, "u2u_requests_pending"), 0);
  EXPECT_EQ(sample(at_source, "u2u_handshake_duration_seconds_count"), 1);
  EXPECT_EQ(sample(at_source, "u2u_handshake_duration_seconds_bucket{le=\"+Inf\"}"), 1);
  EXPECT_GT(sample(at_source, "u2u_handshake_duration_seconds_sum"), 0);
  EXPECT_EQ(sample(at_source, "u2u_handshake_failures_total{check=\"other\"}"), 0);
  // relay-ue: verifies SIGN-Source UE and SIGN-Target UE, generates SIGN1-relay and SIGN2-relay (steps 2, 6).
  EXPECT_EQ(sample(at_relay, "u2u_handshakes_total{outcome=\"relayed\"}"), 1) << at_relay;
  EXPECT_EQ(sample(at_relay, "u2u_signature_verifications_total{result=\"valid\"}"), 2);
  EXPECT_EQ(sample(at_relay, "u2u_signatures_generated_total"), 2);
  EXPECT_EQ(sample(at_relay, "u2u_links_established"), 1);
  EXPECT_EQ(sample(at_relay, "u2u_requests_pending"), 0);
  EXPECT_EQ(sample(at_relay, "u2u_requests_rate_limited_total"), 0);
  EXPECT_EQ(sample(at_relay, "u2u_requests_replayed_total"), 0);
  EXPECT_EQ(sample(at_relay, "u2u_handshake_duration_seconds_count"), 1);
  EXPECT_EQ(sample(at_relay, "u2u_data_packets_total{direction=\"forwarded\"}"), 0);
  // target-ue: verifies SIGN-Source UE and SIGN1-relay (step 4), generates SIGN-Target UE (step 5).
  EXPECT_EQ(sample(at_target, "u2u_handshakes_total{outcome=\"established\"}"), 1) << at_target;
  EXPECT_EQ(sample(at_target, "u2u_signature_verifications_total{result=\"valid\"}"), 2);
  EXPECT_EQ(sample(at_target, "u2u_signatures_generated_total"), 1);
  EXPECT_EQ(sample(at_target, "u2u_links_established"), 1);
  EXPECT_EQ(sample(at_target, "u2u_handshake_duration_seconds_count"), 1);
  // Nothing dropped in a clean run, and no identity or address in any output.
  for (const auto* text : {&at_source, &at_relay, &at_target}) {
    for (const auto& label : {"rate_limited", "duplicate", "malformed", "other"}) {
      EXPECT_EQ(sample(*text, std::string("u2u_datagrams_dropped_total{reason=\"") + label + "\"}"), 0) << label;
    }
    for (const char* id : {"\"source-ue\"", "\"relay-ue\"", "\"target-ue\"", "127.0.0.1"}) {
      EXPECT_EQ(text->find(id), std::string::npos) << id;  // no identity or address as a label value
    }
  }
  if (have_promtool()) {
    expect_promtool_accepts(at_source, "source-ue");
    expect_promtool_accepts(at_relay, "relay-ue");
    expect_promtool_accepts(at_target, "target-ue");
  }

  // SIGTERM releases the link: the relay's and the target's gauges fall back to 0, the counters stay.
  source.signal(SIGTERM);
  ASSERT_EQ(source.wait(10s), 0);
  ASSERT_TRUE(wait_for_event(s.tb.log("target-ue"), "link_released"));
  const std::string relay_after = body_of(get(s.relay_port));
  const std::string target_after = body_of(get(s.target_port));
  EXPECT_EQ(sample(relay_after, "u2u_links_established"), 0) << relay_after;
  EXPECT_EQ(sample(relay_after, "u2u_requests_pending"), 0);
  EXPECT_EQ(sample(relay_after, "u2u_handshakes_total{outcome=\"relayed\"}"), 1);
  EXPECT_EQ(sample(target_after, "u2u_links_established"), 0) << target_after;
  EXPECT_EQ(sample(target_after, "u2u_requests_pending"), 0);
  EXPECT_EQ(sample(target_after, "u2u_handshakes_total{outcome=\"established\"}"), 1);
  if (!have_promtool()) GTEST_SKIP() << "promtool (Debian's prometheus package) is not installed";
}

TEST(Metrics, OtherPathsAre404OtherMethods405AndGarbage400WhileTheDaemonKeepsServing) {
  Scrapeable s;
  s.tb.start_relay();
  EXPECT_EQ(get(s.relay_port, "/other").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(get(s.relay_port, "/").rfind("HTTP/1.1 404", 0), 0u);
  const std::string post = http(s.relay_port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15), std::string("HELLO\r\n\r\n"),
        std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nX: ") + std::string(20000, 'a') + "\r\n\r\n",
        std::string("GET /metrics HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")}) {
    const std::string answer = http(s.relay_port, garbage);
    EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400", 0) == 0) << answer.substr(0, 80);
  }
  const std::string head = http(s.relay_port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(body_of(head), "") << head;
  const std::string ok = get(s.relay_port);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_NE(ok.find("u2u_handshakes_total"), std::string::npos);
  EXPECT_FALSE(s.tb.relay->wait(0ms)) << "relay-ue exited";
}

TEST(Metrics, ASlowlorisClientDelaysNeitherAHandshakeNorAnotherScrapeAndIsCutOff) {
  Scrapeable s;
  s.tb.start_relay();
  s.tb.start_target();
  // One client sends its request a byte at a time, another connects and sends nothing.
  const int silent = connect_to(s.relay_port);
  const int slow = connect_to(s.relay_port);
  ASSERT_GE(silent, 0);
  ASSERT_GE(slow, 0);
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa";
    for (std::size_t i = 0; i < request.size() && !stop; ++i) {
      if (::send(slow, &request[i], 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(200ms);
    }
  });
  EXPECT_EQ(s.tb.run_source_once(10s), 0) << read_file(s.tb.log("source-ue"));
  // The handshake ended while the silent client still held its connection: it did not wait for it to be cut off.
  char c;
  EXPECT_EQ(::recv(silent, &c, 1, MSG_DONTWAIT), -1) << "the silent client was cut off before the handshake ended";
  const std::string ok = get(s.relay_port);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_EQ(sample(body_of(ok), "u2u_handshakes_total{outcome=\"relayed\"}"), 1);
  // Both are cut off once their time for a request is over (kRequestTimeout, 5 s): recv sees the close.
  EXPECT_EQ(::recv(silent, &c, 1, 0), 0) << "the silent client is still connected";
  EXPECT_LE(::recv(slow, &c, 1, 0), 0) << "the slow client got an answer";
  stop = true;
  dribble.join();
  ::close(silent);
  ::close(slow);
  EXPECT_FALSE(s.tb.relay->wait(0ms)) << "relay-ue exited";
  EXPECT_EQ(get(s.relay_port).rfind("HTTP/1.1 200", 0), 0u);
}

TEST(Metrics, ManyIdleConnectionsDoNotLockAScraperOut) {
  Scrapeable s;
  s.tb.start_relay();
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(connect_to(s.relay_port));  // more than kMaxConnections (16)
  std::this_thread::sleep_for(200ms);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(s.relay_port).rfind("HTTP/1.1 200", 0), 0u) << i;
  // Answered while idle connections were still open, so not by waiting for their time to run out.
  const auto still_open = std::count_if(idle.begin(), idle.end(), [](int fd) {
    char c;
    return ::recv(fd, &c, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN;
  });
  EXPECT_GT(still_open, 0) << "every idle connection had been cut off: the scrapes waited for their timeouts";
  for (int fd : idle) ::close(fd);
  EXPECT_FALSE(s.tb.relay->wait(0ms)) << "relay-ue exited";
}

TEST(Metrics, ABadMetricsListenExits2NamingTheKey) {
  LoopbackTestbed tb;
  const std::string config = tb.config("target-ue");
  const std::string original = read_file(config);
  const auto check = [&](const std::string& metrics, bool check_config = true) {
    std::ofstream(config, std::ios::trunc) << original << "\nmetrics:\n" << metrics;
    std::string out;
    std::vector<std::string> argv{bin("target-ue"), "--config", config};
    if (check_config) argv.push_back("--check-config");
    const int rc = run(argv, &out);
    return std::pair{rc, out};
  };
  auto [rc, out] = check("  listen:\n    address: localhost\n    port: 9100\n");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(config + ": metrics.listen.address: \"localhost\" is not a numeric"), std::string::npos) << out;
  std::tie(rc, out) = check("  listen:\n    address: 127.0.0.1\n    port: 0\n");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("metrics.listen.port: 0 is outside 1..65535"), std::string::npos) << out;
  std::tie(rc, out) = check("  listen: 127.0.0.1:9100\n");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("metrics.listen: must be a mapping"), std::string::npos) << out;
  std::tie(rc, out) = check("  listen:\n    address: 127.0.0.1\n    port: 9100\n  path: /x\n");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("metrics.path: unknown key"), std::string::npos) << out;
  // A port already in use: the daemon (not --check-config) exits 2 naming the key.
  const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(busy, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(busy, reinterpret_cast<sockaddr*>(&a), &len);
  std::tie(rc, out) =
      check("  listen:\n    address: 127.0.0.1\n    port: " + std::to_string(ntohs(a.sin_port)) + "\n", false);
  ::close(busy);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(config + ": metrics.listen: cannot bind"), std::string::npos) << out;
}

}  // namespace
}  // namespace u2u::test
