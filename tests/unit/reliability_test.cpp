// Issue #4 in memory: lossy, duplicating links; retransmission; keep-alive; release; restarts; limits.
#include <gtest/gtest.h>

#include <iostream>
#include <random>

#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

// Loses and duplicates datagrams at random, the same rates on every hop and in both directions.
void impair(InMemoryNetwork& net, std::mt19937& rng, double loss, double duplication) {
  net.on_flight = [&rng, loss](InFlight&) { return std::uniform_real_distribution<>(0, 1)(rng) >= loss; };
  net.extra_copies = [&rng, duplication](const InFlight&) {
    return std::uniform_real_distribution<>(0, 1)(rng) < duplication ? 1 : 0;
  };
}

// The source daemon's policy (apps/source-ue): after link_failed a new handshake after retry_interval, after
// link_lost at once. Runs until the link is up at both ends (the LINK CONFIRM acknowledged) or `horizon`.
struct Outcome {
  bool up = false;
  int handshakes = 0;
  Millis time{};
};

Outcome drive_until_up(Testbed& tb, Millis horizon, Millis retry_interval = 5s) {
  Outcome o;
  const Now start = test_now();
  Now now = start;
  tb.run(now);
  o.handshakes = 1;
  while (now.mono - start.mono < horizon) {
    if (tb.source.confirmed() && tb.target.keys_for("source-ue") != nullptr) {
      o.up = true;
      o.time = std::chrono::duration_cast<Millis>(now.mono - start.mono);
      return o;
    }
    if (tb.source.state() == protocol::SourceUe::State::kFailed) {
      now = later(now, tb.net.events("source-ue", "link_lost").size() > 0 ? 0ms : retry_interval);
      tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.start(now), now);
      ++o.handshakes;
      continue;
    }
    // Fire the next deadline only (the loop checks the state after each).
    const auto next = tb.source.next_deadline();
    const auto r = tb.relay.next_deadline();
    const auto t = tb.target.next_deadline();
    MonoTime when = now.mono + 1s;
    for (const auto& d : {next, r, t}) {
      if (d && *d < when) when = *d;
    }
    now = tb.fire_timers(Now{when, now.wall + (when - now.mono)});
    now = Now{when, now.wall};
  }
  return o;
}

TEST(Reliability, ThirtyPercentLossAndTwentyPercentDuplicationOnBothHopsEveryHandshakeCompletes) {
  const TestPki pki;
  const Parties p(pki);
  std::mt19937 rng(20261128);
  int first_try = 0;
  std::vector<std::int64_t> times;
  constexpr int kRuns = 200;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Testbed tb(p.source, p.relay, p.target);
    impair(tb.net, rng, 0.30, 0.20);
    const Outcome o = drive_until_up(tb, 180s);
    ASSERT_TRUE(o.up) << "not up after 180 s and " << o.handshakes << " handshakes";
    EXPECT_TRUE(tb.source.keys()->kd_sess == tb.target.keys_for("source-ue")->kd_sess);
    first_try += o.handshakes == 1 ? 1 : 0;

    times.push_back(o.time.count());
  }
  std::sort(times.begin(), times.end());
  std::cout << "[ reliability ] 30% loss, 20% duplication: " << kRuns << "/" << kRuns << " up; " << first_try
            << " on the first handshake; time to up p50 " << times[kRuns / 2] << " ms, p99 " << times[kRuns * 99 / 100]
            << " ms (simulated)\n";
}

TEST(Reliability, EveryDatagramDuplicatedCostsNoExtraSignatureAndGivesOneLink) {
  const TestPki pki;
  Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  auto target_signer = std::make_shared<CountingSigner>(p.target.signer);
  p.relay.signer = relay_signer;
  p.target.signer = target_signer;
  Testbed tb(p.source, p.relay, p.target);
  tb.net.extra_copies = [](const InFlight&) { return 1; };
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  EXPECT_EQ(relay_signer->count, 2);   // SIGN1-relay and SIGN2-relay, once each
  EXPECT_EQ(target_signer->count, 1);  // SIGN-Target UE once
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  EXPECT_EQ(tb.net.events("source-ue", "link_established").size(), 1u);
}

TEST(Reliability, KeepaliveKeepsTheLinkAndEveryPartyHoldsItAcrossMinutes) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  tb.fire_timers(later(test_now(), 5min));
  EXPECT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  EXPECT_EQ(tb.relay.link_count(), 1u);
  EXPECT_EQ(tb.target.link_count(), 1u);
  EXPECT_TRUE(tb.net.events("target-ue", "link_expired").empty());
  EXPECT_TRUE(tb.net.events("source-ue", "link_lost").empty());
  EXPECT_GE(tb.net.events("source-ue", "keepalive").size(), 25u);  // one each T5084 of 10 s
}

TEST(Reliability, KeepaliveDetectsADeadRelayAndTheOthersFreeTheLink) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  tb.net.on_flight = [](InFlight& f) { return f.to != kRelayEndpoint && f.from != kRelayEndpoint; };  // dead
  tb.fire_timers(later(test_now(), 2min));
  const auto lost = tb.net.events("source-ue", "link_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(str(lost[0], "check"), "keepalive_timeout");
  EXPECT_EQ(tb.target.link_count(), 0u);  // heard nothing for link_timeout: freed
  EXPECT_EQ(tb.net.events("target-ue", "link_expired").size(), 1u);
}

TEST(Reliability, ReleaseFreesTheLinkAtTheRelayAndTheTarget) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_EQ(tb.relay.link_count(), 1u);
  ASSERT_EQ(tb.target.link_count(), 1u);
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.release(test_now()), test_now());
  EXPECT_EQ(tb.source.state(), protocol::SourceUe::State::kReleased);
  EXPECT_EQ(str(tb.net.events("source-ue", "link_released").at(0), "acknowledged"), "yes");
  EXPECT_EQ(num(tb.net.events("target-ue", "link_released").at(0), "cause"), 2);
  EXPECT_EQ(tb.net.events("relay-ue", "link_released").size(), 1u);
  EXPECT_EQ(tb.relay.link_count(), 0u);
  EXPECT_EQ(tb.relay.pending_count(), 0u);
  EXPECT_EQ(tb.target.keys_for("source-ue"), nullptr);
  EXPECT_EQ(tb.target.link_count(), 0u);
  EXPECT_EQ(tb.target.released_count(), 1u);  // its RELEASE ACCEPT kept for a retransmitted request
  EXPECT_EQ(tb.relay.released_count(), 1u);   // the route kept for link_timeout, unless the release was forged
  tb.fire_timers(later(test_now(), 1min));
  EXPECT_EQ(tb.target.released_count(), 0u);  // kept 10 s, then gone
  EXPECT_EQ(tb.relay.released_count(), 0u);
}

TEST(Reliability, TheRelayKeepsAtMostMaxLinksReleasedLinksForgettingTheOldestFirst) {
  const TestPki pki;
  const Parties p(pki);
  auto relay = relay_config(p.relay);
  relay.max_links = 2;
  relay.link_timeout = std::chrono::minutes(10);  // no released route expires during the test
  Testbed tb(source_config(p.source), std::move(relay), target_config(p.target));
  std::vector<Bytes> release_requests;  // each link's, as the source sent it
  Now now = test_now();
  for (int i = 0; i < 5; ++i) {
    now = tb.fire_timers(later(test_now(), std::chrono::seconds(11 * i)));
    tb.run(now);
    ASSERT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished) << i;
    const auto release = tb.source.release(now);
    release_requests.push_back(release.send.at(0).datagram);
    tb.net.deliver(kSourceEndpoint, "source-ue", release, now);
    EXPECT_EQ(tb.relay.link_count(), 0u);
    EXPECT_EQ(tb.relay.released_count(), std::min<std::size_t>(i + 1, 2)) << i;
  }
  EXPECT_EQ(tb.net.events("relay-ue", "link_released").size(), 5u);
  // The two kept are the last two: a copy of a RELEASE REQUEST is forwarded for them, and matches no route for the
  // first three.
  for (std::size_t i = 0; i < release_requests.size(); ++i) {
    const auto out = tb.relay.on_datagram(kSourceEndpoint, release_requests[i], now);
    EXPECT_EQ(out.send.empty(), i < 3) << i;
  }
}

TEST(Reliability, ReleaseThroughAGoneRelayEndsUnacknowledgedAfterFourTriesWithinFourSeconds) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  // The relay is gone: what the source sends goes nowhere. A stopping daemon must not wait out T5080's 19.5 s.
  const Now start = test_now();
  Now now = start;
  auto out = tb.source.release(now);
  std::size_t tries = out.send.size();
  while (tb.source.state() == protocol::SourceUe::State::kReleasing) {
    const auto deadline = tb.source.next_deadline();
    ASSERT_TRUE(deadline.has_value());
    now = Now{*deadline, now.wall + (*deadline - now.mono)};
    out = tb.source.on_timer(now);
    tries += out.send.size();
    ASSERT_LT(now.mono - start.mono, 1min) << "the release never ends";
  }
  EXPECT_EQ(tries, protocol::kReleaseMaxTries);
  EXPECT_LE(now.mono - start.mono, 3500ms * 12 / 10) << "0.5 + 3 x 1 s, +-20 % jitter";
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].name, "link_released");
  EXPECT_EQ(str(out.events[0], "acknowledged"), "no (RELEASE ACCEPT never came)");
}

TEST(Reliability, RelayOrTargetRestartedIsDetectedAndTheSourceEstablishesAgain) {
  const TestPki pki;
  const Parties p(pki);
  for (const bool restart_relay : {true, false}) {
    SCOPED_TRACE(restart_relay ? "relay restarted" : "target restarted");
    auto tb = std::make_unique<Testbed>(p.source, p.relay, p.target);
    tb->run();
    ASSERT_TRUE(tb->source.confirmed());
    const std::string first_session = tb->source.keys()->kd_sess_id;
    // SIGKILL and start again: all state lost.
    if (restart_relay) {
      tb->relay.~RelayUe();
      new (&tb->relay) protocol::RelayUe(relay_config(p.relay));
    } else {
      tb->target.~TargetUe();
      new (&tb->target) protocol::TargetUe(target_config(p.target));
    }
    const Outcome o = [&] {
      // Keep-alive finds out; the daemon's policy starts a new handshake at once.
      Now t = tb->fire_timers(later(test_now(), 30s));
      EXPECT_EQ(tb->net.events("source-ue", "link_lost").size(), 1u);
      tb->net.deliver(kSourceEndpoint, "source-ue", tb->source.start(t), t);
      return Outcome{tb->source.confirmed(), 2, {}};
    }();
    EXPECT_TRUE(o.up);
    ASSERT_NE(tb->source.keys(), nullptr);
    EXPECT_NE(tb->source.keys()->kd_sess_id, first_session);
    EXPECT_TRUE(tb->source.keys()->kd_sess == tb->target.keys_for("source-ue")->kd_sess);
  }
}

TEST(Reliability, ANewHandshakeReplacesTheOldLinkOnlyOnceItIsConfirmed) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  const std::string old_id = tb.target.keys_for("source-ue")->kd_sess_id;
  // A second handshake whose LINK CONFIRM never arrives: the old link stays at the target.
  tb.net.on_flight = [](InFlight& f) {
    return wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kLinkConfirm;
  };
  tb.run();
  EXPECT_EQ(tb.target.keys_for("source-ue")->kd_sess_id, old_id);
  EXPECT_TRUE(tb.net.events("target-ue", "link_replaced").empty());
  // Now one that completes: it replaces the old link, which is said.
  tb.net.on_flight = nullptr;
  tb.run();
  EXPECT_NE(tb.target.keys_for("source-ue")->kd_sess_id, old_id);
  EXPECT_EQ(tb.net.events("target-ue", "link_replaced").size(), 1u);
  EXPECT_EQ(tb.target.link_count(), 1u);
}

TEST(Reliability, TheRelayRateLimitsNewRequestsPerSourceBeforeAnySignatureCheck) {
  const TestPki pki;
  Parties p(pki);
  auto config = relay_config(p.relay);
  config.rate_limit_per_second = 1;
  config.rate_limit_burst = 3;
  Testbed tb(source_config(p.source), std::move(config), target_config(p.target));
  for (int i = 0; i < 10; ++i) tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.start(test_now()), test_now());
  // The first three are verified (and answered); the rest are dropped at the door, unverified.
  std::size_t verified = 0;
  for (const auto& e : tb.net.events("relay-ue", "step")) verified += num(e, "step") == 2 ? 1 : 0;
  EXPECT_EQ(verified, 3u);
  std::size_t limited = 0;
  for (const auto& e : tb.net.events("relay-ue", "datagram_dropped")) {
    limited += str(e, "reason").find("rate limit") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(limited, 7u);
}

TEST(Reliability, TheRateLimiterForgetsASenderOnceItsBucketHasRefilledAndStillLimitsTheOthers) {
  protocol::RateLimiter limit(5, 10, 1000);  // the relay's default: refilled from empty in 2 s
  const MonoTime t0 = test_now().mono;
  Endpoint flooder = kSourceEndpoint;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limit.admit(flooder, t0));
  EXPECT_FALSE(limit.admit(flooder, t0));
  for (std::uint8_t host = 1; host <= 100; ++host) {
    Endpoint other = kSourceEndpoint;
    other.address[2] = host;  // 10.0.<host>.1: another host each
    EXPECT_TRUE(limit.admit(other, t0 + 1s));
  }
  EXPECT_EQ(limit.senders(), 101u);
  // 1.5 s after its last try the flooder's bucket holds 7.5 tokens, not 10: it is still tracked and limited.
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(limit.admit(flooder, t0 + 1500ms));
  EXPECT_FALSE(limit.admit(flooder, t0 + 1500ms));
  // 2 s after their last request the others' buckets are full again, as good as none: forgotten.
  EXPECT_TRUE(limit.admit(flooder, t0 + 3100ms));
  EXPECT_EQ(limit.senders(), 1u);
}

TEST(Reliability, AFullPendingTableRefusesNewRequestsWithCause5) {
  const TestPki pki;
  Parties p(pki);
  auto config = relay_config(p.relay);
  config.max_pending = 2;
  Testbed tb(source_config(p.source), std::move(config), target_config(p.target));
  tb.net.on_flight = [](InFlight& f) { return f.to != kTargetEndpoint; };  // requests stay pending
  for (int i = 0; i < 3; ++i) tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.start(test_now()), test_now());
  const auto refused = tb.net.events("relay-ue", "check_failed");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(str(refused[0], "check"), "pending_table_full");
  EXPECT_EQ(num(refused[0], "cause"), 5);
  EXPECT_EQ(tb.relay.pending_count(), 2u);
}

TEST(Reliability, ReloadedCredentialsServeNewHandshakesWhileTheLinkStays) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  // SIGHUP at the relay and the target with fresh credentials of the same identities.
  tb.relay.reload(pki.party("relay-ue", crypto::Role::kRelay, kRelayL2));
  tb.target.reload(pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  tb.fire_timers(later(test_now(), 1min));
  EXPECT_TRUE(tb.net.events("source-ue", "link_lost").empty());  // the link (its keys) survived
  EXPECT_EQ(tb.target.link_count(), 1u);
  // A new handshake uses the new target key: another KD.
  const std::string old_kd = tb.source.keys()->kd_id;
  tb.run(later(test_now(), 1min));
  ASSERT_TRUE(tb.source.confirmed());
  EXPECT_NE(tb.source.keys()->kd_id, old_kd);
}

}  // namespace
}  // namespace u2u::test
