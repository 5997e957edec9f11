// Issue 13 in memory: loss is paid per hop (the relay sends again on its own timer and answers copies from what it
// holds), a damaged datagram is a lost one, and a REJECT, which proves nothing about its sender, ends no handshake.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>

#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

// Longer than a handshake and its confirmation on the longest T5080 schedule (2 x 19.5 s).
constexpr auto kHorizon = 45s;

bool is(const InFlight& f, wire::MessageType type) {
  const auto d = wire::decode_datagram(f.datagram);
  return d && d->message.type() == type;
}

// The handshake completed: the source's LINK CONFIRM acknowledged, the target's link established, with the same KD and
// KD-sess at both ends (their IDs, which each end logs).
bool completed(const Testbed& tb) {
  const auto source = tb.net.events("source-ue", "link_established");
  const auto target = tb.net.events("target-ue", "link_established");
  if (!tb.net.has("source-ue", "link_confirmed") || source.size() != 1 || target.size() != 1) return false;
  return str(source[0], "kd_id") == str(target[0], "kd_id") &&
         str(source[0], "kd_sess_id") == str(target[0], "kd_sess_id");
}

// One handshake (no second attempt), every timer fired up to the horizon.
void run_once(Testbed& tb) {
  tb.run();
  tb.fire_timers(later(test_now(), kHorizon));
}

std::size_t sent(const std::vector<InFlight>& log, const Endpoint& from, const Endpoint& to, wire::MessageType type) {
  return static_cast<std::size_t>(std::count_if(
      log.begin(), log.end(), [&](const InFlight& f) { return f.from == from && f.to == to && is(f, type); }));
}

std::vector<std::string> checks_of(const Testbed& tb, std::string_view role) {
  std::vector<std::string> out;
  for (const auto& e : tb.net.events(role, "check_failed")) out.push_back(str(e, "check"));
  return out;
}

// The last octet of a datagram flipped: inside the last signature or MAC of a signed message.
void damage(InFlight& f) { f.datagram.back() ^= 0x01; }

TEST(PerHop, FiftyPercentLossOnBothHopsAtLeast99PercentCompleteWithinOneT5080BudgetAndNothingIsSignedTwice) {
  const TestPki pki;
  const Parties p(pki);
  std::mt19937 rng(13);
  constexpr int kRuns = 200;
  int up = 0;
  int differ = 0;
  for (int run = 0; run < kRuns; ++run) {
    Parties counted = p;
    auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
    auto target_signer = std::make_shared<CountingSigner>(p.target.signer);
    counted.relay.signer = relay_signer;
    counted.target.signer = target_signer;
    Testbed tb(counted.source, counted.relay, counted.target);
    tb.net.on_flight = [&rng](InFlight&) { return std::uniform_real_distribution<>(0, 1)(rng) >= 0.5; };
    run_once(tb);
    if (completed(tb)) ++up;
    if (!tb.net.events("target-ue", "link_established").empty() && !completed(tb) &&
        tb.net.has("source-ue", "link_confirmed")) {
      ++differ;
    }
    EXPECT_LE(relay_signer->count, 2) << "run " << run << ": SIGN1-relay and SIGN2-relay at most once each";
    EXPECT_LE(target_signer->count, 1) << "run " << run << ": SIGN-Target UE at most once";
  }
  std::cout << "[ per hop ] 50% loss on both hops: " << up << "/" << kRuns << " handshakes completed (simulated)\n";
  EXPECT_GE(up, kRuns * 99 / 100);
  EXPECT_EQ(differ, 0);
}

TEST(PerHop, TheRelaySendsTheRequestAgainOnItsOwnTimerUntilTheTargetAnswers) {
  const TestPki pki;
  Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  p.relay.signer = relay_signer;
  Testbed tb(p.source, p.relay, p.target);
  int requests_to_target = 0;
  int source_requests = 0;
  tb.net.on_flight = [&](InFlight& f) {
    if (!is(f, wire::MessageType::kDirectCommunicationRequest)) return true;
    if (f.from == kSourceEndpoint) return ++source_requests == 1;  // the source's own retransmissions are all lost
    return ++requests_to_target > 3;                               // the relay's first three copies too
  };
  run_once(tb);
  EXPECT_TRUE(completed(tb));
  EXPECT_EQ(requests_to_target, 4);
  EXPECT_EQ(relay_signer->count, 2) << "each copy is the same signed request";
  EXPECT_EQ(tb.net.events("target-ue", "step").size(), 3u) << "steps 4, 5 and 9, once each";
}

TEST(PerHop, TheRelaySendsTheAcceptAgainUntilTheSourcesLinkConfirmShowsItArrived) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  int accepts_to_source = 0;
  tb.net.on_flight = [&, first = true](InFlight& f) mutable {
    if (f.from == kSourceEndpoint && is(f, wire::MessageType::kDirectCommunicationRequest)) {
      const bool pass = first;  // the source's retransmissions are lost: only the relay's timer can help
      first = false;
      return pass;
    }
    if (f.to == kSourceEndpoint && is(f, wire::MessageType::kDirectCommunicationAccept)) {
      return ++accepts_to_source > 2;
    }
    return true;
  };
  run_once(tb);
  EXPECT_TRUE(completed(tb));
  EXPECT_EQ(accepts_to_source, 3) << "sent again twice after the first was lost, and not after the LINK CONFIRM";
}

TEST(PerHop, TheRelayAnswersACopyOfTheLinkConfirmWithTheAcknowledgementItHoldsAndForwardsTheCopy) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  int acks_to_source = 0;
  int acks_from_target = 0;
  tb.net.on_flight = [&](InFlight& f) {
    if (!is(f, wire::MessageType::kLinkConfirmAck)) return true;
    // Every acknowledgement the relay sends on its own is lost, and every one the target sends after its first: only
    // the relay's answer to the source's copy, from the acknowledgement it holds, can arrive.
    if (f.to == kSourceEndpoint) return ++acks_to_source > 1 + static_cast<int>(protocol::kRelayAckCopies);
    return ++acks_from_target == 1;
  };
  run_once(tb);
  EXPECT_TRUE(completed(tb));
  const auto& log = tb.net.wire_log;
  const auto confirms = sent(log, kSourceEndpoint, kRelayEndpoint, wire::MessageType::kLinkConfirm);
  ASSERT_GE(confirms, 2u);
  EXPECT_EQ(sent(log, kRelayEndpoint, kTargetEndpoint, wire::MessageType::kLinkConfirm), confirms);
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
}

// The keep-alive and the release, per hop: the source's own copies never reach the relay after the first, and the
// target's first answer to each is lost; the relay's timer carries both, and its copy of a keep-alive answers the
// counter it was sent for.
TEST(PerHop, TheRelaySendsAKeepaliveAndAReleaseAgainUntilTheTargetAnswersThem) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(completed(tb));
  std::map<std::pair<wire::MessageType, std::uint32_t>, int> from_source, answers_lost;
  tb.net.on_flight = [&](InFlight& f) {
    const auto d = wire::decode_datagram(f.datagram);
    const auto* m = d ? std::get_if<wire::LinkMessage>(&d->message.body) : nullptr;
    if (m == nullptr) return true;
    const auto key = std::make_pair(m->type, m->keepalive_counter.value_or(0));
    if (f.from == kSourceEndpoint) return ++from_source[key] == 1;
    if (f.from == kTargetEndpoint && f.to == kRelayEndpoint) return ++answers_lost[key] > 1;
    return true;
  };
  // Three keep-alives (T5084 10 s), then the release.
  Now now = tb.fire_timers(later(test_now(), 35s));
  EXPECT_EQ(tb.net.events("source-ue", "keepalive").size(), 3u);
  EXPECT_FALSE(tb.net.has("source-ue", "link_lost"));
  now = later(now, 1s);
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.release(now), now);
  tb.fire_timers(later(now, 10s));
  const auto released = tb.net.events("source-ue", "link_released");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(str(released[0], "acknowledged"), "yes");
  EXPECT_EQ(tb.relay.link_count(), 0u);
}

TEST(PerHop, AnExpiredPendingRequestIsNeverResurrected) {
  const TestPki pki;
  Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  p.relay.signer = relay_signer;
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [](InFlight& f) { return f.to != kTargetEndpoint; };  // the target is out of range
  run_once(tb);
  const Bytes request = tb.net.wire_log.front().datagram;
  const auto requests_to_target = [&] {
    return std::count_if(tb.net.wire_log.begin(), tb.net.wire_log.end(),
                         [](const InFlight& f) { return f.to == kTargetEndpoint; });
  };
  EXPECT_EQ(requests_to_target(), 0);
  ASSERT_TRUE(tb.net.has("relay-ue", "pending_expired"));
  EXPECT_EQ(tb.relay.pending_count(), 0u);
  const int signatures = relay_signer->count;
  // The request again after its entry expired: a replay, refused before any signature; nothing goes on to the target.
  const auto out = tb.relay.on_datagram(kSourceEndpoint, request, later(test_now(), kHorizon));
  EXPECT_EQ(checks(out), std::vector<std::string>{"replay"});
  EXPECT_EQ(rejected_with(out), Cause::kAuthenticationFailure);
  EXPECT_EQ(relay_signer->count, signatures);
  EXPECT_EQ(tb.relay.pending_count(), 0u);
  EXPECT_FALSE(tb.relay.next_deadline().has_value()) << "no retransmission of a forgotten request";
}

TEST(PerHop, ARequestDamagedOnTheTargetHopCostsTheRelayOneRetransmission) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  bool damaged = false;
  tb.net.on_flight = [&](InFlight& f) {
    if (!damaged && f.to == kTargetEndpoint && is(f, wire::MessageType::kDirectCommunicationRequest)) {
      damage(f);  // SIGN1-relay no longer verifies; the request digest (the source's part) is unchanged
      damaged = true;
    }
    return true;
  };
  run_once(tb);
  EXPECT_TRUE(completed(tb));
  EXPECT_EQ(checks_of(tb, "target-ue"), std::vector<std::string>{"sign1_relay"});
  EXPECT_EQ(tb.net.events("relay-ue", "reject_forwarded").size(), 1u) << "the target's reject, passed on as a hint";
  EXPECT_EQ(tb.net.events("source-ue", "reject_hint").size(), 1u);
  EXPECT_FALSE(tb.net.has("source-ue", "link_failed"));
}

TEST(PerHop, AnAcceptDamagedOnEitherHopIsALostAccept) {
  const TestPki pki;
  Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  p.relay.signer = relay_signer;
  Testbed tb(p.source, p.relay, p.target);
  bool damaged_at_relay = false;
  bool damaged_at_source = false;
  tb.net.on_flight = [&](InFlight& f) {
    if (!is(f, wire::MessageType::kDirectCommunicationAccept)) return true;
    bool& once = f.to == kRelayEndpoint ? damaged_at_relay : damaged_at_source;
    if (!once) damage(f);  // the target hop: SIGN-Target UE; the source hop: SIGN2-relay
    once = true;
    return true;
  };
  run_once(tb);
  EXPECT_TRUE(completed(tb));
  EXPECT_EQ(checks_of(tb, "relay-ue"), std::vector<std::string>{"sign_target"});
  EXPECT_EQ(checks_of(tb, "source-ue"), std::vector<std::string>{"sign2_relay"});
  EXPECT_EQ(relay_signer->count, 2) << "no SIGN2-relay over the damaged accept";
  EXPECT_FALSE(tb.net.has("source-ue", "link_failed"));
  EXPECT_FALSE(tb.net.has("target-ue", "link_failed"));
}

// An on-path attacker's REJECT for the request in `f`, from `from` (whose address it takes) to `to`.
void forge_reject(Testbed& tb, const InFlight& f, const Endpoint& from, wire::Layer2Id from_l2, const Endpoint& to,
                  wire::Layer2Id to_l2, Cause cause, wire::RejectedBy by) {
  const auto d = wire::decode_datagram(f.datagram);
  const wire::Digest digest = d->message.type() == wire::MessageType::kDirectCommunicationRequest
                                  ? protocol::request_digest(d->message)
                                  : std::get<wire::DirectCommunicationAccept>(d->message.body).request_digest;
  const Bytes reject = wire::encode_datagram(from_l2, to_l2, wire::encode_reject({digest, cause, by}));
  protocol::Output out;
  out.send.push_back({to, reject});
  tb.net.deliver(from, "attacker", std::move(out), test_now());
}

TEST(ForgedReject, OfEveryCauseTowardsTheSourceEndsNoHandshake) {
  const TestPki pki;
  const Parties p(pki);
  for (const Cause cause : kWireCauses) {
    SCOPED_TRACE(std::string(cause_name(cause)));
    Testbed tb(p.source, p.relay, p.target);
    bool by_target = false;
    tb.net.on_flight = [&](InFlight& f) {
      // Every request the source sends is answered at once, ahead of the relay, as if by the relay or the target.
      if (f.from == kSourceEndpoint && is(f, wire::MessageType::kDirectCommunicationRequest)) {
        forge_reject(tb, f, kRelayEndpoint, kRelayL2, kSourceEndpoint, kSourceL2, cause,
                     by_target ? wire::RejectedBy::kTarget : wire::RejectedBy::kRelay);
        by_target = !by_target;
      }
      return true;
    };
    run_once(tb);
    EXPECT_TRUE(completed(tb));
    const auto hints = tb.net.events("source-ue", "reject_hint");
    ASSERT_GE(hints.size(), 1u);
    EXPECT_EQ(str(hints[0], "check"), "reject_unauthenticated");
    EXPECT_EQ(num(hints[0], "cause"), static_cast<std::int64_t>(cause));
    EXPECT_FALSE(tb.net.has("source-ue", "link_failed"));
  }
}

TEST(ForgedReject, OfEveryCauseTowardsTheRelayAndTheTargetEndsNoHandshake) {
  const TestPki pki;
  const Parties p(pki);
  for (const Cause cause : kWireCauses) {
    SCOPED_TRACE(std::string(cause_name(cause)));
    Testbed tb(p.source, p.relay, p.target);
    tb.net.on_flight = [&](InFlight& f) {
      // The target's accept overtaken by a REJECT "from the target" to the relay, and one "from the source" (through
      // the relay's address) to the target, which holds the answered session.
      if (f.from == kTargetEndpoint && is(f, wire::MessageType::kDirectCommunicationAccept)) {
        forge_reject(tb, f, kTargetEndpoint, kTargetL2, kRelayEndpoint, kRelayL2, cause, wire::RejectedBy::kTarget);
        forge_reject(tb, f, kRelayEndpoint, kRelayL2, kTargetEndpoint, kTargetL2, cause, wire::RejectedBy::kSource);
      }
      return true;
    };
    run_once(tb);
    EXPECT_TRUE(completed(tb));
    EXPECT_GE(tb.net.events("relay-ue", "reject_forwarded").size(), 1u);
    const auto at_target = tb.net.events("target-ue", "reject_hint");
    ASSERT_GE(at_target.size(), 1u);
    EXPECT_EQ(str(at_target[0], "check"), "reject_unauthenticated");
    EXPECT_FALSE(tb.net.has("target-ue", "link_failed"));
    EXPECT_FALSE(tb.net.has("source-ue", "link_failed"));
  }
}

TEST(ForgedReject, AGenuineRefusalIsReportedWithItsCauseOnceT5080RunsOut) {
  const TestPki pki;
  const Parties p(pki);
  auto target = target_config(p.target);
  target.require_forward_secrecy = true;  // the request carries no ephemeral key: refused (#6) before any work
  Testbed tb(source_config(p.source), relay_config(p.relay), target);
  run_once(tb);
  const auto failed = tb.net.events("source-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(num(failed[0], "cause"), static_cast<std::int64_t>(Cause::kAuthenticationFailure));
  EXPECT_EQ(str(failed[0], "check"), "rejected");
  EXPECT_GE(tb.net.events("source-ue", "reject_hint").size(), 2u);
}

TEST(ForgedReject, ACopyOfARequestRefusedAfterTheSignatureWorkIsRefusedFromMemory) {
  const TestPki pki;
  Parties p(pki);
  auto source = source_config(p.source);
  source.data_suites = {dataplane::Suite::kNea2Nia2};
  auto target = target_config(p.target);
  target.data_suites = {dataplane::Suite::kAes128Gcm};  // no suite in common: refused (#8) after the verification
  Testbed tb(source, relay_config(p.relay), target);
  run_once(tb);
  EXPECT_EQ(checks_of(tb, "target-ue"), std::vector<std::string>{"no_common_suite"}) << "verified once";
  EXPECT_GE(tb.net.events("target-ue", "retransmission").size(), 2u) << "copies answered from memory";
  const auto failed = tb.net.events("source-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(num(failed[0], "cause"), static_cast<std::int64_t>(Cause::kSecurityCapabilitiesMismatch));
}

}  // namespace
}  // namespace u2u::test
