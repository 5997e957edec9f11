// The security audit's findings (issue 16), each reproduced as an attack on the state machines in memory: which relay
// is between the ends, one credential or one host filling the tables, unauthenticated link messages at the relay,
// the target's cached accept reflected, and signature malleability.
#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

std::optional<wire::Datagram> decoded(const InFlight& f) {
  auto d = wire::decode_datagram(f.datagram);
  if (!d) return std::nullopt;
  return std::move(d).value();
}

bool is(const InFlight& f, wire::MessageType type) {
  const auto d = decoded(f);
  return d && d->message.type() == type;
}

// `relay` countersigns `originator` (a request or accept without relay IEs) as seed steps 2 and 6 do, in a datagram
// from `from_l2` to `to_l2`.
Bytes countersigned(const protocol::LocalParty& relay, ByteView originator, wire::Iei iei,
                    const protocol::StepSignature& step, wire::Layer2Id from_l2, wire::Layer2Id to_l2) {
  Bytes m(originator.begin(), originator.end());
  wire::append_relay_identity(m, relay.user_info_id, relay.certificate.der());
  wire::append_signature(m, iei, *protocol::sign_step(*relay.signer, step, m));
  return wire::encode_datagram(from_l2, to_l2, m);
}

std::size_t count_check(const Testbed& tb, std::string_view role, std::string_view check) {
  std::size_t n = 0;
  for (const auto& e : tb.net.events(role, "check_failed")) n += str(e, "check") == check ? 1 : 0;
  return n;
}

void run_to_end(Testbed& tb) {
  tb.run();
  tb.fire_timers(later(test_now(), 120s));
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 1: both ends agree on which relay is between them.

// The audit's chain: a source that selected relay-two, whose request relay-two passes to relay-ue as if it were the
// source's own hop (here relay-two is a pure wormhole to relay-ue's address). relay-ue sees that the source selected
// another relay and refuses at step 2; nothing reaches the target.
TEST(Audit, RequestThatSelectedAnotherRelayIsRefusedByThisRelayAtStep2) {
  const TestPki pki;
  const Parties p(pki);
  auto source = source_config(p.source);
  source.relay_user_info_id = "relay-two";
  Testbed tb(std::move(source), relay_config(p.relay), target_config(p.target));
  run_to_end(tb);
  // The reject is a hint (issue 13): the source sends every try of T5080, and each copy is refused alike.
  EXPECT_EQ(count_check(tb, "relay-ue", "relay_binding"), tb.source.config().t5080.max_tries);
  EXPECT_EQ(tb.net.events("relay-ue", "check_failed").size(), tb.source.config().t5080.max_tries);
  EXPECT_TRUE(tb.net.events("target-ue", "step").empty());
  const auto failed = tb.net.events("source-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(num(failed[0], "cause"), 6);
}

// The same chain where the second relay does not check (or is relay-two's accomplice): relay-ue countersigns the
// request that selected relay-two. The target refuses it: SIGN-Source UE names relay-two, SIGN1-relay is relay-ue's.
TEST(Audit, RequestCountersignedByAnotherRelayThanTheSourceSelectedIsRefusedByTheTarget) {
  const TestPki pki;
  const Parties p(pki);
  auto source = source_config(p.source);
  source.relay_user_info_id = "relay-two";
  Testbed tb(std::move(source), relay_config(p.relay), target_config(p.target));
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to != kRelayEndpoint || !is(f, wire::MessageType::kDirectCommunicationRequest)) return true;
    const auto d = decoded(f);
    f.datagram =
        countersigned(p.relay, d->message.bytes, wire::Iei::kSign1Relay, protocol::kSign1Relay, kRelayL2, kTargetL2);
    f.from = kRelayEndpoint;
    f.to = kTargetEndpoint;
    return true;
  };
  tb.run();
  EXPECT_EQ(count_check(tb, "target-ue", "relay_binding"), 1u);
  EXPECT_TRUE(tb.net.events("target-ue", "link_established").empty());
  EXPECT_EQ(tb.target.session_count(), 0u);
}

// The accept's other half of the chain: the target names the relay whose SIGN1-relay it verified (the digest of its
// certificate); an accept countersigned with another certificate, even one of the same relay identity (a second
// credential of relay-ue), is refused by the source.
TEST(Audit, AcceptCountersignedWithAnotherRelayCertificateThanTheTargetSawIsRefusedByTheSource) {
  const TestPki pki;
  const Parties p(pki);
  const auto second = pki.party("relay-ue", crypto::Role::kRelay, kRelayL2);
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to != kSourceEndpoint || !is(f, wire::MessageType::kDirectCommunicationAccept)) return true;
    const auto d = decoded(f);
    f.datagram = countersigned(second, d->message.originator_part(), wire::Iei::kSign2Relay, protocol::kSign2Relay,
                               kRelayL2, kSourceL2);
    return true;
  };
  run_to_end(tb);
  // Each copy of the accept (the relay sends it again, issue 13) is refused alike, and the failure names the check.
  const auto refused = tb.net.events("source-ue", "check_failed");
  ASSERT_GE(refused.size(), 1u);
  EXPECT_EQ(count_check(tb, "source-ue", "relay_binding"), refused.size());
  const auto failed = tb.net.events("source-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(str(failed[0], "check"), "relay_binding");
  EXPECT_TRUE(tb.net.events("source-ue", "link_established").empty());
  EXPECT_TRUE(tb.net.events("target-ue", "link_established").empty());
}

TEST(Audit, BothEndsLogTheSameRelayAndTheTargetsAcceptNamesItsCertificate) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  EXPECT_EQ(str(tb.net.events("source-ue", "link_established").at(0), "relay"), "relay-ue");
  EXPECT_EQ(str(tb.net.events("target-ue", "link_established").at(0), "relay"), "relay-ue");
  const auto request = wire::decode_datagram(tb.net.wire_log[0].datagram);
  EXPECT_EQ(std::get<wire::DirectCommunicationRequest>(request->message.body).selected_relay_user_info_id, "relay-ue");
  const auto accept = wire::decode_datagram(tb.net.wire_log[2].datagram);
  EXPECT_EQ(std::get<wire::DirectCommunicationAccept>(accept->message.body).relay_certificate_digest,
            crypto::sha256(p.relay.certificate.der()));
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 2: one credential, or one host, cannot fill the tables.

TEST(Audit, TheRateLimitCountsAHostNotItsPortsAndAnIpv6Slash64AsOneHost) {
  protocol::RateLimiter limit(5, 10, 1000);
  const MonoTime t0 = test_now().mono;
  for (std::uint16_t port = 1; port <= 10; ++port) EXPECT_TRUE(limit.admit(host(1, port), t0));
  EXPECT_FALSE(limit.admit(host(1, 11), t0)) << "a new port of the same host has no bucket of its own";
  EXPECT_TRUE(limit.admit(host(2), t0));
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(limit.admit(*Endpoint::parse("2001:db8:0:1::" + std::to_string(i + 1), 4000), t0));
  }
  EXPECT_FALSE(limit.admit(*Endpoint::parse("2001:db8:0:1:ffff::99", 4001), t0)) << "same /64";
  EXPECT_TRUE(limit.admit(*Endpoint::parse("2001:db8:0:2::1", 4000), t0)) << "another /64";
  // An IPv4 sender seen IPv4-mapped on a dual-stack socket is the same IPv4 host.
  EXPECT_FALSE(limit.admit(*Endpoint::parse("::ffff:10.9.0.1", 7), t0));
  EXPECT_EQ(protocol::sender_host(*Endpoint::parse("::ffff:10.9.0.1", 7)), protocol::sender_host(host(1)));
}

// The audit's lockout: valid requests signed with one UE key, from several hosts, never confirmed. Each identity
// holds at most its share of the pending table; a genuine source still gets through.
TEST(Audit, OneUeCredentialHoldsAtMostItsShareOfTheRelaysPendingTable) {
  const TestPki pki;
  const Parties p(pki);
  auto relay = relay_config(p.relay);
  relay.max_pending = 50;
  Testbed tb(source_config(p.source), std::move(relay), target_config(p.target));
  const auto mallory = pki.party("mallory", crypto::Role::kUe, 0x000999);
  tb.net.on_flight = [](InFlight& f) { return f.to != kTargetEndpoint || f.from != kRelayEndpoint; };  // unanswered
  std::vector<std::unique_ptr<protocol::SourceUe>> attackers;
  for (int i = 0; i < 60; ++i) {
    attackers.push_back(std::make_unique<protocol::SourceUe>(source_config(mallory)));
    tb.net.deliver(host(i % 6), "mallory", attackers.back()->start(test_now()), test_now());
  }
  EXPECT_EQ(tb.relay.pending_of_source("mallory"), protocol::kDefaultRelayMaxPendingPerSource);
  EXPECT_EQ(count_check(tb, "relay-ue", "pending_quota_source"), 60 - protocol::kDefaultRelayMaxPendingPerSource);
  // The genuine source's handshake completes.
  tb.net.on_flight = nullptr;
  tb.run();
  EXPECT_TRUE(tb.source.confirmed());
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
}

TEST(Audit, OneHostHoldsAtMostItsShareOfTheRelaysPendingTableWhateverItsCredentials) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [](InFlight& f) { return f.to != kTargetEndpoint; };
  std::vector<std::unique_ptr<protocol::SourceUe>> ues;
  const std::size_t n = protocol::kDefaultRelayMaxPendingPerHost + 3;
  for (std::size_t i = 0; i < n; ++i) {
    // One host, many sockets, many identities; its bucket is refilled between requests (2 s each).
    const Now at = later(test_now(), std::chrono::milliseconds(2000 * i));
    ues.push_back(std::make_unique<protocol::SourceUe>(source_config(
        pki.party("ue-" + std::to_string(i), crypto::Role::kUe, static_cast<wire::Layer2Id>(0x000500 + i)))));
    tb.net.deliver(host(7, static_cast<std::uint16_t>(6000 + i)), "ue", ues.back()->start(at), at);
  }
  EXPECT_EQ(tb.relay.pending_of_host(host(7)), protocol::kDefaultRelayMaxPendingPerHost);
  EXPECT_EQ(count_check(tb, "relay-ue", "pending_quota_host"), 3u);
}

// The target's share per source identity and per relay, over what a relay forwards (here two relays of one CA, so
// that one source identity can reach the target more often than one relay's quota allows).
TEST(Audit, OneSourceIdentityOrOneRelayHoldsAtMostItsShareOfTheTargetsSessions) {
  const TestPki pki;
  const Parties p(pki);
  auto target = target_config(p.target);
  target.max_sessions_per_relay = 6;
  protocol::TargetUe ue(std::move(target));
  const auto relay_two = pki.party("relay-two", crypto::Role::kRelay, 0x000222);
  const Endpoint relay_two_at = *Endpoint::parse("10.0.0.22", 4022);
  const auto request_from = [&](const protocol::LocalParty& source, const protocol::LocalParty& relay) {
    auto config = source_config(source);
    config.relay_user_info_id = relay.user_info_id;
    protocol::SourceUe s(std::move(config));
    const auto d = wire::decode_datagram(s.start(test_now()).send.at(0).datagram);
    return countersigned(relay, d->message.bytes, wire::Iei::kSign1Relay, protocol::kSign1Relay, relay.layer2_id,
                         kTargetL2);
  };
  std::vector<std::string> checks;
  const auto send = [&](const Bytes& datagram, const Endpoint& from) {
    for (const auto& e : ue.on_datagram(from, datagram, test_now()).events) {
      if (e.name == "check_failed") checks.push_back(str(e, "check"));
    }
  };
  // One source identity through two relays: its fifth unconfirmed session is refused.
  for (int i = 0; i < 3; ++i) send(request_from(p.source, p.relay), kRelayEndpoint);
  for (int i = 0; i < 3; ++i) send(request_from(p.source, relay_two), relay_two_at);
  EXPECT_EQ(ue.sessions_of_source("source-ue"), protocol::kDefaultTargetMaxSessionsPerSource);
  EXPECT_EQ(std::count(checks.begin(), checks.end(), "session_quota_source"), 2);
  // Many sources through one relay: beyond its share, refused; another relay still gets through.
  checks.clear();
  for (int i = 0; i < 6; ++i) {
    send(request_from(pki.party("ue-" + std::to_string(i), crypto::Role::kUe, 0x000600 + i), p.relay), kRelayEndpoint);
  }
  EXPECT_EQ(ue.sessions_of_relay(kRelayEndpoint), 6u);
  EXPECT_EQ(std::count(checks.begin(), checks.end(), "session_quota_relay"), 3);
  send(request_from(pki.party("ue-x", crypto::Role::kUe, 0x000700), relay_two), relay_two_at);
  EXPECT_EQ(ue.sessions_of_relay(relay_two_at), 2u);
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 3: the relay acts on no single unauthenticated link message.

wire::Digest digest_of_first_request(const Testbed& tb) {
  return protocol::request_digest(wire::decode_datagram(tb.net.wire_log[0].datagram)->message);
}

Bytes forged_link_message(wire::MessageType type, const wire::Digest& digest, wire::Layer2Id from, wire::Layer2Id to) {
  wire::LinkMessage m{type, digest, {}, {}, {}, {}, {}, {}};
  if (type == wire::MessageType::kReleaseRequest) m.cause = Cause::kNoLongerNeeded;
  Bytes bytes = wire::encode_link_message_unsigned(m);
  wire::Mac mac{};
  mac.fill(0x5A);  // the digest travels in clear; the MAC is a guess
  wire::append_mac(bytes, mac);
  return wire::encode_datagram(from, to, bytes);
}

TEST(Audit, AForgedReleaseAcceptWithoutAReleaseRequestLeavesTheRouteAndTheLinkUp) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  ASSERT_EQ(tb.relay.link_count(), 1u);
  tb.net.deliver(
      kTargetEndpoint, "attacker",
      protocol::Output{{{kRelayEndpoint, forged_link_message(wire::MessageType::kReleaseAccept,
                                                             digest_of_first_request(tb), kTargetL2, kRelayL2)}},
                       {},
                       {}},
      test_now());
  EXPECT_TRUE(tb.net.events("relay-ue", "link_released").empty());
  EXPECT_EQ(tb.relay.link_count(), 1u);
  tb.fire_timers(later(test_now(), 2min));  // keep-alives go on through the relay
  EXPECT_TRUE(tb.net.events("source-ue", "link_lost").empty());
  EXPECT_TRUE(tb.net.events("target-ue", "link_expired").empty());
}

TEST(Audit, AForgedReleaseRequestAndAcceptLetTheRouteLingerAndTheNextKeepaliveResumesIt) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  const wire::Digest digest = digest_of_first_request(tb);
  // Both halves of a release, forged from each end's address: the target refuses the request's MAC, the relay
  // forwards both and marks the link released.
  tb.net.deliver(
      kSourceEndpoint, "attacker",
      protocol::Output{
          {{kRelayEndpoint, forged_link_message(wire::MessageType::kReleaseRequest, digest, kSourceL2, kRelayL2)}},
          {},
          {}},
      test_now());
  tb.net.deliver(
      kTargetEndpoint, "attacker",
      protocol::Output{
          {{kRelayEndpoint, forged_link_message(wire::MessageType::kReleaseAccept, digest, kTargetL2, kRelayL2)}},
          {},
          {}},
      test_now());
  EXPECT_EQ(count_check(tb, "target-ue", "link_mac"), 1u);
  EXPECT_EQ(count_check(tb, "source-ue", "link_mac"), 1u);
  EXPECT_EQ(tb.net.events("relay-ue", "link_released").size(), 1u);
  // The source's next keep-alive is answered by the target, which never released: the relay resumes the route.
  tb.fire_timers(later(test_now(), 3min));
  EXPECT_EQ(tb.net.events("relay-ue", "link_resumed").size(), 1u);
  EXPECT_TRUE(tb.net.events("source-ue", "link_lost").empty());
  EXPECT_EQ(tb.relay.link_count(), 1u);
}

// An unauthenticated LINK CONFIRM ACK makes the route a link before the source has the accept: the relay still
// answers the source's retransmitted request with the accept, and the handshake completes.
TEST(Audit, AForgedLinkConfirmAckBeforeTheSourceHasTheAcceptDoesNotStopTheHandshake) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  bool dropped_accept = false;
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to == kSourceEndpoint && is(f, wire::MessageType::kDirectCommunicationAccept) && !dropped_accept) {
      dropped_accept = true;
      return false;
    }
    return true;
  };
  tb.run();
  ASSERT_TRUE(dropped_accept);
  tb.net.deliver(
      kTargetEndpoint, "attacker",
      protocol::Output{{{kRelayEndpoint, forged_link_message(wire::MessageType::kLinkConfirmAck,
                                                             digest_of_first_request(tb), kTargetL2, kRelayL2)}},
                       {},
                       {}},
      test_now());
  EXPECT_EQ(tb.relay.link_count(), 1u);
  tb.fire_timers(later(test_now(), 5s));  // T5080: the request again
  EXPECT_TRUE(tb.source.confirmed());
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 4: the target answers a copy of a request only to the relay that sent it, identical, before confirmation,
// and within a rate limit.

TEST(Audit, TheTargetResendsItsAcceptOnlyForAnIdenticalCopyFromTheSameRelayBeforeTheLinkIsConfirmed) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [](InFlight& f) { return !is(f, wire::MessageType::kLinkConfirm); };  // stays unconfirmed
  tb.run();
  ASSERT_EQ(tb.target.session_count(), 1u);
  const Bytes relayed = tb.net.wire_log[1].datagram;
  const auto answers = [&](const Endpoint& from, const Bytes& datagram) {
    return tb.target.on_datagram(from, datagram, test_now()).send.size();
  };
  EXPECT_EQ(answers(kRelayEndpoint, relayed), 1u) << "the relay's copy";
  EXPECT_EQ(answers(*Endpoint::parse("10.6.6.6", 666), relayed), 0u) << "from another address";
  // The relay's IEs stripped (the digest is over the source's part only): not the copy the relay sent.
  const auto d = wire::decode_datagram(relayed);
  EXPECT_EQ(answers(kRelayEndpoint, wire::encode_datagram(kRelayL2, kTargetL2, d->message.originator_part())), 0u);
  // A burst of copies: at most the rate limit's burst is answered.
  std::size_t answered = 0;
  for (int i = 0; i < 500; ++i) answered += answers(kRelayEndpoint, relayed);
  EXPECT_LE(answered, static_cast<std::size_t>(protocol::kCopyRateLimitBurst));
  EXPECT_GT(answered, 0u);
}

TEST(Audit, ACopyOfTheRequestOfAConfirmedLinkIsNotAnsweredAndTheSessionSlotIsFree) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  EXPECT_EQ(tb.target.session_count(), 0u) << "a confirmed handshake leaves the session table";
  EXPECT_EQ(tb.target.link_count(), 1u);
  const auto out = tb.target.on_datagram(kRelayEndpoint, tb.net.wire_log[1].datagram, test_now());
  EXPECT_TRUE(out.send.empty());
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].name, "datagram_dropped");
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 6: links do not outlive their credentials.

TEST(Audit, ALinkEndsAtItsMaximumLifetimeTheSourceReleasingItAtBothOtherParties) {
  const TestPki pki;
  const Parties p(pki);
  auto source = source_config(p.source);
  source.max_link_lifetime = 10min;
  Testbed tb(std::move(source), relay_config(p.relay), target_config(p.target));
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  tb.fire_timers(later(test_now(), 9min));
  EXPECT_TRUE(tb.net.events("source-ue", "link_lost").empty());
  tb.fire_timers(later(test_now(), 11min));
  const auto lost = tb.net.events("source-ue", "link_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(str(lost[0], "check"), "link_lifetime");
  EXPECT_NE(str(lost[0], "reason").find("maximum lifetime"), std::string::npos);
  EXPECT_EQ(tb.net.events("target-ue", "link_released").size(), 1u);
  EXPECT_EQ(tb.net.events("relay-ue", "link_released").size(), 1u);
  EXPECT_EQ(tb.target.keys_for("source-ue"), nullptr);
}

TEST(Audit, ALinkEndsWhenACertificateItRestsOnExpires) {
  const TestPki pki;
  const auto now = test_now().wall;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2),
             pki.party("relay-ue", crypto::Role::kRelay, kRelayL2),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2, now - 1h, now + 30min));
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  tb.fire_timers(later(test_now(), 31min));
  const auto lost = tb.net.events("source-ue", "link_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(str(lost[0], "check"), "link_lifetime");
  EXPECT_NE(str(lost[0], "reason").find("\"target-ue\""), std::string::npos) << str(lost[0], "reason");
}

// A source that does not end its link (gone, or of another implementation): the target and the relay end it
// themselves, kLinkLifetimeGrace after its end of life, although keep-alives still arrive.
TEST(Audit, TheTargetAndTheRelayEndALinkTheSourceKeepsBeyondItsLifetime) {
  const TestPki pki;
  const Parties p(pki);
  auto relay = relay_config(p.relay);
  relay.max_link_lifetime = 5min;
  auto target = target_config(p.target);
  target.max_link_lifetime = 5min;
  Testbed tb(source_config(p.source), std::move(relay), std::move(target));
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  tb.fire_timers(later(test_now(), 5min + protocol::kLinkLifetimeGrace - 1s));
  EXPECT_TRUE(tb.net.events("target-ue", "link_expired").empty());
  tb.fire_timers(later(test_now(), 5min + protocol::kLinkLifetimeGrace + 1s));
  const auto expired = tb.net.events("target-ue", "link_expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_NE(str(expired[0], "reason").find("the source did not end it"), std::string::npos);
  ASSERT_EQ(tb.net.events("relay-ue", "link_expired").size(), 1u);
  EXPECT_NE(str(tb.net.events("relay-ue", "link_expired")[0], "reason").find("maximum lifetime"), std::string::npos);
}

TEST(Audit, AfterAReloadThatRevokesThePeerEachPartyEndsTheLinkItHeld) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  // SIGHUP everywhere with a deny list naming the target's certificate (at the source and the relay) and the
  // source's (at the target).
  const auto revoking = [&](const std::string& serial) {
    auto store = std::make_shared<crypto::TrustStore>(*pki.trust);
    store->set_revoked_serials({serial});
    return store;
  };
  auto source = p.source;
  source.trust = revoking(p.target.certificate.serial_hex());
  auto relay = p.relay;
  relay.trust = revoking(p.target.certificate.serial_hex());
  auto target = p.target;
  target.trust = revoking(p.source.certificate.serial_hex());
  tb.relay.reload(relay);
  tb.net.deliver(kRelayEndpoint, "relay-ue", tb.relay.recheck(test_now()), test_now());
  tb.target.reload(target);
  tb.net.deliver(kTargetEndpoint, "target-ue", tb.target.recheck(test_now()), test_now());
  tb.source.reload(source);
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.recheck(test_now()), test_now());
  ASSERT_EQ(tb.net.events("relay-ue", "link_revoked").size(), 1u);
  EXPECT_EQ(str(tb.net.events("relay-ue", "link_revoked")[0], "check"), "target_certificate_revoked");
  ASSERT_EQ(tb.net.events("target-ue", "link_revoked").size(), 1u);
  EXPECT_EQ(str(tb.net.events("target-ue", "link_revoked")[0], "check"), "source_certificate_revoked");
  const auto lost = tb.net.events("source-ue", "link_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(str(lost[0], "check"), "target_certificate_revoked");
  EXPECT_EQ(tb.relay.link_count(), 0u);
  EXPECT_EQ(tb.target.link_count(), 0u);
  // A new handshake is refused: the target now refuses the source.
  tb.run(later(test_now(), 1s));
  EXPECT_EQ(count_check(tb, "target-ue", "source_certificate_revoked"), 1u);
  EXPECT_FALSE(tb.source.confirmed());
}

// ---------------------------------------------------------------------------------------------------------------
// Finding 6: signature malleability. A racing injector sends the high-S twin (r, n - s) of the source's request:
// another request digest, the same User Info ID and Nonce_1. Were the twin accepted, the genuine request would then
// be refused as a replay.

TEST(Audit, TheHighSTwinOfARequestRacedAheadIsRefusedAndTheGenuineRequestStillCompletes) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  bool raced = false;
  tb.net.on_flight = [&](InFlight& f) {
    if (raced || f.to != kRelayEndpoint || !is(f, wire::MessageType::kDirectCommunicationRequest)) return true;
    raced = true;
    auto d = decoded(f);
    auto request = std::get<wire::DirectCommunicationRequest>(d->message.body);
    request.sign_source = crypto::ecdsa_twin(request.sign_source).value();
    tb.net.deliver(
        f.from, "injector",
        protocol::Output{{{kRelayEndpoint, wire::encode_datagram(kSourceL2, kRelayL2, wire::encode(request))}}, {}, {}},
        test_now());
    return true;  // then the genuine one
  };
  tb.run();
  ASSERT_TRUE(raced);
  const auto refused = tb.net.events("relay-ue", "check_failed");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(str(refused[0], "check"), "sign_source");
  EXPECT_NE(str(refused[0], "reason").find("low-S"), std::string::npos) << str(refused[0], "reason");
  EXPECT_TRUE(tb.source.confirmed()) << "the genuine request was refused as a replay";
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
}

}  // namespace
}  // namespace u2u::test
