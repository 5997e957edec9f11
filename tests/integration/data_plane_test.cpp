// Issue 10 with the real daemons on loopback: user data through source-ue, relay-ue and target-ue over a UDP
// forward (data.udp_forward), every datagram delivered once and intact; through duplication and reordering; through a
// relay hop that reads everything (it never sees the plaintext) or flips bits (nothing altered is delivered); and a
// TUN interface without CAP_NET_ADMIN is a one-line error, exit 2.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/bytes.hpp"
#include "dataplane/constants.hpp"
#include "integration/process.hpp"
#include "integration/scrape.hpp"

namespace u2u::test {
namespace {

// The relay's hop as a test sees it: a proxy between the source and the relay that keeps every datagram it carries
// (so that a test can look for a plaintext marker in it) and may flip one bit of data PDUs.
class Tap {
 public:
  enum class Flip { kNone, kCiphertext, kTrailer };
  Tap(int relay_port, Flip flip) : relay_port_(relay_port), flip_(flip), thread_([this] { run(); }) {}
  ~Tap() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return downstream_.port(); }
  std::size_t data_pdus() const { return data_pdus_; }
  bool saw(const std::string& marker) const {
    std::lock_guard lock(mutex_);
    for (const auto& d : seen_) {
      if (std::search(d.begin(), d.end(), marker.begin(), marker.end()) != d.end()) return true;
    }
    return false;
  }

 private:
  void run() {
    pollfd p[2] = {{downstream_.fd(), POLLIN, 0}, {upstream_.fd(), POLLIN, 0}};
    while (!stop_) {
      if (::poll(p, 2, 50) <= 0) continue;
      if (p[0].revents & POLLIN) {
        if (auto d = downstream_.receive(std::chrono::milliseconds(0))) {
          source_port_ = d->second;
          carry(d->first);
          upstream_.send_to(relay_port_, d->first);
        }
      }
      if (p[1].revents & POLLIN) {
        if (auto d = upstream_.receive(std::chrono::milliseconds(0))) {
          carry(d->first);
          if (source_port_ != 0) downstream_.send_to(source_port_, d->first);
        }
      }
    }
  }
  void carry(Bytes& d) {
    const bool data = d.size() > 8 && d[7] == dataplane::kDataPduType;
    if (data) {
      ++data_pdus_;
      if (flip_ == Flip::kCiphertext && d.size() > dataplane::kPduPrefixSize + 16) d[dataplane::kPduPrefixSize] ^= 1;
      if (flip_ == Flip::kTrailer) d.back() ^= 0x80;
    }
    std::lock_guard lock(mutex_);
    seen_.push_back(d);
  }

  UdpSocket downstream_;
  UdpSocket upstream_;
  int relay_port_;
  Flip flip_;
  std::atomic<int> source_port_{0};
  std::atomic<std::size_t> data_pdus_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Bytes> seen_;
  std::thread thread_;
};

void append(const std::string& file, const std::string& text) { std::ofstream(file, std::ios::app) << text; }

// The source listens on `listen_port` (bearer 1), the target sends to `to_port`.
void forward_config(const LoopbackTestbed& tb, int listen_port, int to_port) {
  append(tb.config("source-ue"),
         "data:\n  udp_forward:\n    - name: test\n      bearer: 1\n      listen:\n        address: 127.0.0.1\n"
         "        port: " +
             std::to_string(listen_port) + "\n");
  append(tb.config("target-ue"),
         "data:\n  udp_forward:\n    - name: test\n      bearer: 1\n      to:\n        address: 127.0.0.1\n"
         "        port: " +
             std::to_string(to_port) + "\n");
}

// A datagram that says which it is: a 4-octet index, then octets derived from it, `size` in all.
Bytes numbered(std::uint32_t index, std::size_t size, std::uint8_t salt) {
  Bytes d(std::max<std::size_t>(size, 4));
  d[0] = static_cast<std::uint8_t>(index >> 24);
  d[1] = static_cast<std::uint8_t>(index >> 16);
  d[2] = static_cast<std::uint8_t>(index >> 8);
  d[3] = static_cast<std::uint8_t>(index);
  std::mt19937 rng(index * 2654435761u + salt);
  for (std::size_t i = 4; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(rng());
  d.resize(size);
  return d;
}

std::uint32_t index_of(const Bytes& d) {
  return d.size() < 4 ? 0xFFFFFFFF : (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (d[2] << 8) | d[3];
}

struct Exchange {
  std::size_t sent = 0;
  std::size_t delivered_up = 0, delivered_down = 0;  // to the target's `to`, and back to the client
  std::size_t duplicates = 0, corrupted = 0;
};

// `count` datagrams of random sizes (4 .. the largest a forward carries) from a client through the source's
// forward to a server at the target's `to`, which answers each; windows of `window`, each awaited (`patience`
// for the last of a window). Counts what arrived, how often, and whether intact.
Exchange exchange(UdpSocket& client, UdpSocket& server, int listen_port, std::size_t count, std::size_t window,
                  std::chrono::milliseconds patience) {
  const std::size_t largest = dataplane::kMaxPayloadSize - dataplane::kFlowIdSize;
  std::mt19937 rng(42);
  Exchange x;
  std::map<std::uint32_t, int> up, down;
  int server_peer = 0;
  for (std::size_t base = 0; base < count; base += window) {
    const std::size_t n = std::min(window, count - base);
    std::map<std::uint32_t, std::size_t> sizes;
    for (std::size_t i = 0; i < n; ++i) {
      const auto index = static_cast<std::uint32_t>(base + i);
      sizes[index] = 4 + rng() % (largest - 3);
      client.send_to(listen_port, numbered(index, sizes[index], 1));
      ++x.sent;
    }
    for (std::size_t got = 0; got < n;) {
      auto d = server.receive(patience);
      if (!d) break;
      server_peer = d->second;
      const auto index = index_of(d->first);
      if (sizes.count(index) == 0 || d->first != numbered(index, sizes[index], 1)) {
        ++x.corrupted;
        continue;
      }
      if (++up[index] > 1) continue;  // a copy: counted below, not answered
      ++got;
      server.send_to(server_peer, numbered(index, sizes[index], 2));
    }
    for (std::size_t got = 0; got < n;) {
      auto d = client.receive(patience);
      if (!d) break;
      const auto index = index_of(d->first);
      if (sizes.count(index) == 0 || d->first != numbered(index, sizes[index], 2)) {
        ++x.corrupted;
        continue;
      }
      if (++down[index] > 1) continue;
      ++got;
    }
  }
  // Late copies, if any were held back.
  while (auto d = server.receive(std::chrono::milliseconds(200))) ++up[index_of(d->first)];
  while (auto d = client.receive(std::chrono::milliseconds(200))) ++down[index_of(d->first)];
  for (const auto* seen : {&up, &down}) {
    for (const auto& [index, n] : *seen) x.duplicates += n > 1 ? static_cast<std::size_t>(n - 1) : 0;
  }
  x.delivered_up = up.size();
  x.delivered_down = down.size();
  return x;
}

// A loopback testbed whose source listens on a free port (bearer 1) and whose target sends to `server`.
struct ForwardTestbed {
  ForwardTestbed() { forward_config(tb, listen_port, server.port()); }
  LoopbackTestbed tb;
  UdpSocket client;
  UdpSocket server;
  int listen_port = free_udp_port();
};

struct Daemons {
  explicit Daemons(LoopbackTestbed& tb) : tb_(tb) {
    tb.start_relay();
    tb.start_target();
    source.emplace(std::vector<std::string>{bin("source-ue"), "--config", tb.config("source-ue")}, tb.log("source-ue"));
    if (!wait_for_event(tb.log("source-ue"), "data_plane_up", 20s) ||
        !wait_for_event(tb.log("target-ue"), "data_plane_up", 10s)) {
      throw std::runtime_error("no data plane:\n" + read_file(tb.log("source-ue")) + read_file(tb.log("target-ue")));
    }
  }
  // Stops the source (which releases the link) and returns the target's data_plane_down (its counters).
  Json stop_source() {
    source->signal(SIGTERM);
    source->wait(15s);
    return wait_for_event(tb_.log("target-ue"), "data_plane_down", 10s).value_or(Json::object());
  }
  LoopbackTestbed& tb_;
  std::optional<Process> source;
};

TEST(DataPlaneDaemons, TenThousandDatagramsOfEverySizeEachWayArriveOnceAndIntact) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  Daemons d(tb);
  const auto up = events(tb.log("source-ue"), "data_plane_up");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0]["data_suite"], "aes-128-gcm");
  const Exchange x = exchange(client, server, listen_port, 10000, 32, 5s);
  EXPECT_EQ(x.sent, 10000u);
  EXPECT_EQ(x.delivered_up, 10000u);
  EXPECT_EQ(x.delivered_down, 10000u);
  EXPECT_EQ(x.duplicates, 0u);
  EXPECT_EQ(x.corrupted, 0u);
  const Json down = d.stop_source();
  EXPECT_EQ(down.value("received", 0), 10000) << down.dump();
  EXPECT_EQ(down.value("sent", 0), 10000) << down.dump();
  EXPECT_EQ(down.value("dropped", -1), 0) << down.dump();
  // The relay counted what it relayed on the link.
  const auto released = wait_for_event(tb.log("relay-ue"), "link_released", 10s);
  ASSERT_TRUE(released);
  EXPECT_EQ((*released)["data_packets"], 20000);
}

TEST(DataPlaneDaemons, ThroughDuplicationAndReorderingOnBothHopsNothingIsDeliveredTwice) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  const int relay_port = tb.base_port() + 1;
  const int target_port = tb.base_port() + 2;
  const std::vector<std::string> shuffled{"--duplicate", "30", "--reorder", "30"};
  Impair source_hop(tb.dir() + "/impair-1.log", relay_port, shuffled);
  Impair target_hop(tb.dir() + "/impair-2.log", target_port, shuffled);
  repoint(tb.config("source-ue"), relay_port, source_hop.port);
  repoint(tb.config("relay-ue"), target_port, target_hop.port);
  Daemons d(tb);
  const Exchange x = exchange(client, server, listen_port, 2000, 16, 3s);
  EXPECT_EQ(x.delivered_up, 2000u);
  EXPECT_EQ(x.delivered_down, 2000u);
  EXPECT_EQ(x.duplicates, 0u);
  EXPECT_EQ(x.corrupted, 0u);
  const Json down = d.stop_source();
  EXPECT_GT(down.value("replays", 0), 0) << "the proxies duplicated nothing? " << down.dump();
  const Json hop = source_hop.stop();
  EXPECT_GT(hop.value("up_duplicated", 0), 0) << hop.dump();
}

// The relay's hop sees every datagram; a plaintext marker the test sends never appears in one.
TEST(DataPlaneDaemons, TheRelaysHopNeverCarriesThePlaintext) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  const int relay_port = tb.base_port() + 1;
  Tap tap(relay_port, Tap::Flip::kNone);
  repoint(tb.config("source-ue"), relay_port, tap.port());
  Daemons d(tb);
  const std::string marker = "PLAINTEXT-MARKER-7c3a1e";
  for (int i = 0; i < 50; ++i) {
    client.send_to(listen_port, Bytes(marker.begin(), marker.end()));
    ASSERT_TRUE(server.receive(5s)) << i;
  }
  EXPECT_GE(tap.data_pdus(), 50u);
  EXPECT_FALSE(tap.saw(marker));
}

// A relay that flips a bit of the ciphertext, or of the tag, of every data PDU: nothing is delivered, and the target
// counts integrity failures; the link itself stays up.
TEST(DataPlaneDaemons, ARelayThatFlipsABitOfCiphertextOrTagGetsNothingDelivered) {
  for (const auto flip : {Tap::Flip::kCiphertext, Tap::Flip::kTrailer}) {
    SCOPED_TRACE(flip == Tap::Flip::kCiphertext ? "ciphertext" : "tag");
    ForwardTestbed f;
    auto& [tb, client, server, listen_port] = f;
    const int relay_port = tb.base_port() + 1;
    Tap tap(relay_port, flip);
    repoint(tb.config("source-ue"), relay_port, tap.port());
    Daemons d(tb);
    for (int i = 0; i < 40; ++i) client.send_to(listen_port, numbered(static_cast<std::uint32_t>(i), 100, 1));
    EXPECT_FALSE(server.receive(1500ms)) << "an altered PDU was delivered";
    EXPECT_TRUE(events(tb.log("source-ue"), "link_lost").empty());
    const Json down = d.stop_source();
    EXPECT_EQ(down.value("integrity_failures", 0), 40) << down.dump();
    EXPECT_EQ(down.value("received", -1), 0) << down.dump();
  }
}

TEST(DataPlaneDaemons, TrafficBeforeTheLinkIsUpIsDroppedAndCountedNotQueued) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  set_if_present(tb.config("source-ue"), "level", "debug");
  // No relay: the source keeps trying; what the client sends meanwhile is dropped.
  Process source({bin("source-ue"), "--config", tb.config("source-ue")}, tb.log("source-ue"));
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "started", 5s));
  for (int i = 0; i < 5; ++i) client.send_to(listen_port, numbered(static_cast<std::uint32_t>(i), 50, 1));
  const auto dropped = wait_for(
      tb.log("source-ue"), [](const Json& e) { return e["event"] == "data_dropped" && e["reason"] == "no_link"; }, 5s);
  EXPECT_TRUE(dropped.has_value()) << read_file(tb.log("source-ue"));
  tb.start_relay();
  tb.start_target();
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "data_plane_up", 30s));
  EXPECT_FALSE(server.receive(500ms)) << "traffic from before the link was queued and delivered";
}

// Issue 15: relay-ue killed (SIGKILL: its link table is gone) and restarted while a client sends steadily through the
// link. The source notices (keep-alive), establishes a new link by itself, and the data plane resumes on it, its
// forwards never closed, reporting the gap; meanwhile each party logs link_stats with what the link carried.
TEST(DataPlaneDaemons, RelayKilledAndRestartedDuringTrafficTheDataPlaneResumesOnANewLinkAndReportsTheGap) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  set_if_present(tb.config("source-ue"), "keepalive_interval_ms", "500");
  set_if_present(tb.config("source-ue"), "keepalive_timeout_ms", "200");
  set_if_present(tb.config("source-ue"), "retry_interval_ms", "300");
  for (const char* role : {"source-ue", "target-ue"}) {
    std::string cfg = read_file(tb.config(role));
    cfg.replace(cfg.find("data:\n"), 6, "data:\n  link_stats_interval_ms: 1000\n");
    std::ofstream(tb.config(role)) << cfg;
  }
  append(tb.config("relay-ue"), "link_stats_interval_ms: 1000\n");
  Daemons d(tb);

  std::atomic<bool> sending{true};
  std::atomic<std::uint32_t> sent{0};
  std::thread sender([&] {
    while (sending) {
      client.send_to(listen_port, numbered(sent++, 64, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto received_after = [&](std::uint32_t index, std::chrono::milliseconds patience) {
    const auto until = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < until) {
      auto got = server.receive(std::chrono::milliseconds(200));
      if (!got) continue;
      server.send_to(got->second, got->first);  // echoed: the source hears the link too
      if (index_of(got->first) >= index) return true;
    }
    return false;
  };
  ASSERT_TRUE(received_after(0, 5s)) << "no traffic through the first link";
  const auto relay_stats = wait_for_event(tb.log("relay-ue"), "link_stats", 5s);
  ASSERT_TRUE(relay_stats) << read_file(tb.log("relay-ue"));
  EXPECT_GT((*relay_stats)["from_source_packets"].get<long>(), 0) << relay_stats->dump();
  const auto source_stats = wait_for_event(tb.log("source-ue"), "link_stats", 5s);
  ASSERT_TRUE(source_stats);
  EXPECT_GT((*source_stats)["sent"].get<long>(), 0) << source_stats->dump();
  EXPECT_TRUE(source_stats->contains("dropped_integrity")) << source_stats->dump();

  tb.relay->signal(SIGKILL);
  tb.relay->wait(5s);
  const std::uint32_t at_kill = sent;
  tb.relay.emplace(std::vector<std::string>{bin("relay-ue"), "--config", tb.config("relay-ue")}, tb.log("relay-ue"));
  const auto resumed = wait_for(
      tb.log("source-ue"),
      [](const Json& e) { return e["event"] == "data_plane_up" && e.contains("resumed_after_ms"); }, 30s);
  ASSERT_TRUE(resumed) << read_file(tb.log("source-ue"));
  // Nothing came in from the relay's death until the new link: at least the keep-alive's detection (three unanswered
  // tries of 200 ms, +-20 %), and more than the time without a link.
  const long silent = (*resumed)["silent_for_ms"].get<long>();
  EXPECT_GE(silent, 480) << resumed->dump();
  EXPECT_GE(silent, (*resumed)["resumed_after_ms"].get<long>()) << resumed->dump();
  EXPECT_GE((*resumed)["dropped_while_down"].get<long>(), 0);
  std::cout << "[ resume ] relay-ue killed and restarted: traffic resumed on a new link after " << silent
            << " ms of silence (" << (*resumed)["resumed_after_ms"] << " ms without a link)\n";
  EXPECT_TRUE(received_after(at_kill, 10s)) << "no traffic after the relay's restart";
  sending = false;
  sender.join();
  EXPECT_EQ(events(tb.log("source-ue"), "link_lost").size(), 1u);
  EXPECT_EQ(events(tb.log("source-ue"), "data_plane_up").size(), 2u);
  EXPECT_EQ(events(tb.log("target-ue"), "link_replaced").size(), 1u) << "the new link replaced the old at the target";
}

// Adds `line` (indented) at the top of each end's data: section.
void data_setting(const LoopbackTestbed& tb, const std::string& line) {
  for (const char* role : {"source-ue", "target-ue"}) {
    std::string cfg = read_file(tb.config(role));
    cfg.replace(cfg.find("data:\n"), 6, "data:\n  " + line + "\n");
    std::ofstream(tb.config(role)) << cfg;
  }
}

// The kd_sess_id of each rekeyed event of an end, in order.
std::vector<std::string> rekeyed_ids(const LoopbackTestbed& tb, const std::string& role) {
  std::vector<std::string> ids;
  for (const auto& e : events(tb.log(role), "rekeyed")) ids.push_back(e["kd_sess_id"].get<std::string>());
  return ids;
}

// Issue 15: datagrams each way at a steady rate through a UDP forward for `seconds` while both ends rekey every second
// (data.rekey_after_seconds: 1 at both; the source's timer is reset first at each switch, so it starts those) and the
// target is sent SIGUSR1 every 1.3 s, so that it starts rekeyings too, sometimes at the same moment as the source.
// Every datagram arrives once and intact, none is lost at a switch-over, and both ends log the same new keys in the
// same order.
void rekey_under_traffic(bool forward_secrecy, int seconds) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  data_setting(tb, "rekey_after_seconds: 1");
  if (forward_secrecy) {
    append(tb.config("source-ue"), "security:\n  forward_secrecy: true\n");
    append(tb.config("target-ue"), "security:\n  forward_secrecy: true\n");
  }
  Daemons d(tb);
  std::atomic<bool> running{true};
  std::atomic<std::uint32_t> sent{0};
  std::map<std::uint32_t, int> up, down;  // each written by one thread, read once both have ended
  std::atomic<std::size_t> corrupted{0};  // written by both
  std::thread echo([&] {
    while (running) {
      auto got = server.receive(std::chrono::milliseconds(100));
      if (!got) continue;
      const auto index = index_of(got->first);
      if (got->first != numbered(index, 200, 1)) ++corrupted;
      if (++up[index] == 1) server.send_to(got->second, numbered(index, 200, 2));
    }
  });
  std::thread back([&] {
    while (running) {
      auto got = client.receive(std::chrono::milliseconds(100));
      if (!got) continue;
      const auto index = index_of(got->first);
      if (got->first != numbered(index, 200, 2)) ++corrupted;
      ++down[index];
    }
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    client.send_to(listen_port, numbered(sent++, 200, 1));
    if (sent % 260 == 0) tb.target->signal(SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the last ones in flight
  running = false;
  echo.join();
  back.join();
  std::size_t duplicates = 0;
  for (const auto* seen : {&up, &down}) {
    for (const auto& [index, n] : *seen) duplicates += n > 1 ? static_cast<std::size_t>(n - 1) : 0;
  }
  EXPECT_EQ(up.size(), sent.load()) << "lost on the way to the target";
  EXPECT_EQ(down.size(), sent.load()) << "lost on the way back";
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(corrupted.load(), 0u);
  const Json down_event = d.stop_source();
  EXPECT_EQ(down_event.value("dropped_keys", -1), 0) << down_event.dump();
  EXPECT_EQ(down_event.value("dropped", -1), 0) << down_event.dump();
  // The same keys at both ends after each rekeying, in the same order (the last may be logged at one end only).
  const auto at_source = rekeyed_ids(tb, "source-ue");
  const auto at_target = rekeyed_ids(tb, "target-ue");
  EXPECT_GE(at_source.size(), static_cast<std::size_t>(seconds / 2)) << read_file(tb.log("source-ue"));
  const std::size_t common = std::min(at_source.size(), at_target.size());
  EXPECT_LE(std::max(at_source.size(), at_target.size()) - common, 1u);
  for (std::size_t i = 0; i < common; ++i) EXPECT_EQ(at_source[i], at_target[i]) << "rekeying " << i + 1;
  EXPECT_GE(down_event.value("rekeys", 0), static_cast<long>(common)) << down_event.dump();
  const auto roles = events(tb.log("target-ue"), "rekeyed");
  EXPECT_TRUE(std::any_of(roles.begin(), roles.end(), [](const Json& e) { return e["as"] == "initiator"; }))
      << "the target started none";
  if (forward_secrecy) {
    for (const auto& e : events(tb.log("source-ue"), "rekeyed")) EXPECT_EQ(e["kd_renewed"], "yes") << e.dump();
  }
  std::cout << "[ rekeying ] " << seconds << " s, forward secrecy " << (forward_secrecy ? "on" : "off") << ": "
            << sent.load() << " datagrams each way, all delivered once, across " << common << " rekeyings\n";
}

TEST(DataPlaneDaemons, BothEndsRekeyingEverySecondUnderSteadyTrafficLoseNoDatagramAndAgreeOnEveryKey) {
  rekey_under_traffic(false, 20);
}

TEST(DataPlaneDaemons, WithForwardSecrecyEveryRekeyingRenewsKdAndStillLosesNothing) { rekey_under_traffic(true, 20); }

TEST(DataPlaneDaemons, ASmallRekeyAfterPacketsForcesARekeyingByCount) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  data_setting(tb, "rekey_after_packets: 100");
  Daemons d(tb);
  const Exchange x = exchange(client, server, listen_port, 1000, 20, 5s);
  EXPECT_EQ(x.delivered_up, 1000u);
  EXPECT_EQ(x.delivered_down, 1000u);
  EXPECT_EQ(x.duplicates + x.corrupted, 0u);
  const Json down = d.stop_source();
  const auto by_count = events(tb.log("source-ue"), "rekeyed");
  ASSERT_GE(by_count.size(), 5u) << "1,000 PDUs each way, one rekeying per 100 sent by either end";
  EXPECT_TRUE(
      std::any_of(by_count.begin(), by_count.end(), [](const Json& e) { return e.value("trigger", "") == "packets"; }));
  EXPECT_EQ(down.value("dropped", -1), 0) << down.dump();
  EXPECT_EQ(rekeyed_ids(tb, "source-ue").front(), rekeyed_ids(tb, "target-ue").front());
}

TEST(DataPlaneDaemons, Sigusr1StartsARekeyingAtEitherEndAndTheKeyLogGetsEachNewKdSessAndTheMetricsCountThem) {
  ForwardTestbed f;
  auto& [tb, client, server, listen_port] = f;
  for (const char* role : {"source-ue", "target-ue"}) {
    std::string cfg = read_file(tb.config(role));
    cfg.replace(cfg.find("  level: info"), 13, "  level: info\n  key_log_file: " + std::string(role) + "-keys.log");
    std::ofstream(tb.config(role)) << cfg;
  }
  std::map<std::string, int> metrics_port;
  for (const char* role : {"source-ue", "relay-ue", "target-ue"}) {
    metrics_port[role] = free_tcp_port();
    enable_metrics(tb.config(role), metrics_port[role]);
  }
  Daemons d(tb);
  d.source->signal(SIGUSR1);
  const auto first = wait_for_event(tb.log("target-ue"), "rekeyed", 10s);
  ASSERT_TRUE(first) << read_file(tb.log("source-ue"));
  EXPECT_EQ((*first)["as"], "responder");
  tb.target->signal(SIGUSR1);
  ASSERT_TRUE(wait_for(
      tb.log("target-ue"), [](const Json& e) { return e["event"] == "rekeyed" && e["as"] == "initiator"; }, 10s));
  const Exchange x = exchange(client, server, listen_port, 100, 10, 5s);
  EXPECT_EQ(x.delivered_down, 100u);
  const auto at_source = rekeyed_ids(tb, "source-ue");
  ASSERT_EQ(at_source.size(), 2u);
  EXPECT_EQ(at_source, rekeyed_ids(tb, "target-ue"));
  // The key log: the handshake's KD-sess, then each rekeying's, the same lines at both ends.
  const std::string keys = read_file(tb.dir() + "/source-ue-keys.log");
  EXPECT_EQ(keys, read_file(tb.dir() + "/target-ue-keys.log"));
  std::vector<std::string> logged_ids;
  std::istringstream lines(keys);
  for (std::string tag, session, id, key; lines >> tag >> session >> id >> key;) logged_ids.push_back(id);
  ASSERT_EQ(logged_ids.size(), 3u) << keys;
  EXPECT_EQ(std::vector<std::string>(logged_ids.begin() + 1, logged_ids.end()), at_source);
  // u2u_rekeyings_total: one started and one answered at each end, both relayed.
  for (const char* role : {"source-ue", "target-ue"}) {
    const std::string text = body_of(get(metrics_port[role]));
    EXPECT_EQ(sample(text, "u2u_rekeyings_total{result=\"initiated\"}"), 1) << role << "\n" << text;
    EXPECT_EQ(sample(text, "u2u_rekeyings_total{result=\"answered\"}"), 1) << role << "\n" << text;
    EXPECT_EQ(sample(text, "u2u_rekeyings_total{result=\"failed\"}"), 0) << role << "\n" << text;
  }
  const std::string relay_text = body_of(get(metrics_port["relay-ue"]));
  EXPECT_EQ(sample(relay_text, "u2u_rekeyings_total{result=\"relayed\"}"), 2) << relay_text;
  // relay-ue, which carries no user data, logs the signal and goes on.
  tb.relay->signal(SIGUSR1);
  EXPECT_TRUE(wait_for_event(tb.log("relay-ue"), "rekey_request_ignored", 5s));
  EXPECT_FALSE(tb.relay->wait(std::chrono::milliseconds(300))) << "relay-ue ended on SIGUSR1";
}

TEST(DataPlaneDaemons, ATunInterfaceWithoutCapNetAdminIsAOneLineErrorAndExit2) {
  LoopbackTestbed tb;
  append(tb.config("source-ue"), "data:\n  tun:\n    name: u2ut0\n    address: 10.99.0.1/24\n");
  std::string output;
  // The bounding set without CAP_NET_ADMIN: even as root, the daemon cannot open a TUN interface.
  const int rc =
      run({"/usr/bin/setpriv", "--bounding-set", "-net_admin", bin("source-ue"), "--config", tb.config("source-ue")},
          &output);
  EXPECT_EQ(rc, 2) << output;
  EXPECT_NE(output.find("data.tun"), std::string::npos) << output;
  EXPECT_NE(output.find("CAP_NET_ADMIN"), std::string::npos) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

}  // namespace
}  // namespace u2u::test
