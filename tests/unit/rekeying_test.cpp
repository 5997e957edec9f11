// Issue 15 in memory: rekeying of an established link (docs/protocol.md 12) through the relay, started by either end,
// with and without forward secrecy, and each race resolved the same way every time: both ends starting at once, a
// lost message, a duplicate, a message from the past, a forgery.
#include <gtest/gtest.h>

#include "crypto/kdf.hpp"
#include "dataplane/data_link.hpp"
#include "protocol/constants.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

bool is(const InFlight& f, wire::MessageType type) {
  const auto d = wire::decode_datagram(f.datagram);
  return d && d->message.type() == type;
}

std::size_t count_of(const std::vector<InFlight>& log, wire::MessageType type) {
  return static_cast<std::size_t>(
      std::count_if(log.begin(), log.end(), [&](const InFlight& f) { return is(f, type); }));
}

struct Link {
  explicit Link(const TestPki& pki, bool forward_secrecy = false, Millis rekey_after = Millis(0))
      : tb(with(source_config(Parties(pki).source), forward_secrecy, rekey_after), relay_config(Parties(pki).relay),
           with(target_config(Parties(pki).target), rekey_after)) {
    tb.run(now);
    EXPECT_TRUE(tb.source.confirmed());
  }
  static protocol::SourceConfig with(protocol::SourceConfig c, bool forward_secrecy, Millis after) {
    c.forward_secrecy = forward_secrecy;
    c.rekeying.after = after;
    return c;
  }
  static protocol::TargetConfig with(protocol::TargetConfig c, Millis after) {
    c.rekeying.after = after;
    return c;
  }
  const protocol::SessionKeys& source_keys() const { return *tb.source.keys(); }
  const protocol::SessionKeys& target_keys() const { return *tb.target.keys_for("source-ue"); }
  // Both ends hold the same keys, of generation `generation`.
  void expect_in_step(std::uint32_t generation) const {
    EXPECT_EQ(source_keys().generation, generation);
    EXPECT_EQ(target_keys().generation, generation);
    EXPECT_TRUE(source_keys().kd_sess == target_keys().kd_sess);
    EXPECT_TRUE(source_keys().kd == target_keys().kd);
    EXPECT_TRUE(source_keys().k_int == target_keys().k_int);
    EXPECT_EQ(source_keys().data_kd_sess_id, target_keys().data_kd_sess_id);
  }
  void source_rekeys() { tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.rekey("signal", now), now); }
  void target_rekeys() { tb.net.deliver(kTargetEndpoint, "target-ue", tb.target.rekey({}, "signal", now), now); }
  std::vector<protocol::Event> rekeyed(std::string_view role) const { return tb.net.events(role, "rekeyed"); }
  void advance(Millis by) {
    now = later(now, by);
    tb.fire_timers(now);
  }

  Now now = test_now();
  Testbed tb;
};

TEST(Rekeying, TheSourceStartsOneAndBothEndsSwitchToTheSameNewKeysWithKdKept) {
  const TestPki pki;
  Link l(pki);
  const std::string kd_sess_id = l.source_keys().kd_sess_id;
  const std::string kd_id = l.source_keys().kd_id;
  l.source_rekeys();
  l.expect_in_step(1);
  ASSERT_EQ(l.rekeyed("source-ue").size(), 1u);
  ASSERT_EQ(l.rekeyed("target-ue").size(), 1u);
  const auto s = l.rekeyed("source-ue")[0];
  const auto t = l.rekeyed("target-ue")[0];
  EXPECT_EQ(str(s, "as"), "initiator");
  EXPECT_EQ(str(t, "as"), "responder");
  EXPECT_EQ(str(s, "kd_sess_id"), str(t, "kd_sess_id"));
  EXPECT_EQ(str(s, "kd_sess_id"), l.source_keys().kd_sess_id);
  EXPECT_NE(str(s, "kd_sess_id"), kd_sess_id);
  EXPECT_EQ(str(s, "kd_id"), kd_id);  // without forward secrecy KD stays
  EXPECT_EQ(str(s, "kd_renewed"), "no");
  // Three messages, each relayed: REQUEST, RESPONSE, CONFIRM.
  EXPECT_EQ(count_of(l.tb.net.wire_log, wire::MessageType::kRekeyingRequest), 2u);
  EXPECT_EQ(count_of(l.tb.net.wire_log, wire::MessageType::kRekeyingResponse), 2u);
  EXPECT_EQ(count_of(l.tb.net.wire_log, wire::MessageType::kRekeyingConfirm), 2u);
}

TEST(Rekeying, TheTargetStartsOneAsWellAndTheRelayCountsEachRekeyingOnce) {
  const TestPki pki;
  Link l(pki);
  l.tb.net.extra_copies = [](const InFlight& f) { return is(f, wire::MessageType::kRekeyingConfirm) ? 1 : 0; };
  l.target_rekeys();
  l.expect_in_step(1);
  ASSERT_EQ(l.rekeyed("target-ue").size(), 1u);
  EXPECT_EQ(str(l.rekeyed("target-ue")[0], "as"), "initiator");
  EXPECT_EQ(str(l.rekeyed("source-ue")[0], "as"), "responder");
  l.source_rekeys();
  l.target_rekeys();
  l.expect_in_step(3);
  const auto stats = l.tb.relay.link_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(num(stats[0], "rekeys"), 3);
  EXPECT_EQ(l.tb.relay.rekeyings_relayed(), 3u);  // u2u_rekeyings_total{result="relayed"}
}

TEST(Rekeying, WithForwardSecrecyEveryRekeyingRenewsKdWithFreshEphemeralKeys) {
  const TestPki pki;
  Link l(pki, true);
  ASSERT_TRUE(l.source_keys().forward_secrecy);
  std::set<std::string> kd_ids{l.source_keys().kd_id};
  for (std::uint32_t g = 1; g <= 3; ++g) {
    if (g % 2 == 1) {
      l.source_rekeys();
    } else {
      l.target_rekeys();
    }
    l.expect_in_step(g);
    EXPECT_EQ(str(l.rekeyed("source-ue").back(), "kd_renewed"), "yes");
    EXPECT_EQ(str(l.rekeyed("source-ue").back(), "kd_id"), str(l.rekeyed("target-ue").back(), "kd_id"));
    kd_ids.insert(l.source_keys().kd_id);
  }
  EXPECT_EQ(kd_ids.size(), 4u) << "a new KD each time";
  // Each message of a forward-secret rekeying carries an ephemeral key.
  for (const auto& f : l.tb.net.wire_log) {
    if (!is(f, wire::MessageType::kRekeyingRequest) && !is(f, wire::MessageType::kRekeyingResponse)) continue;
    const auto d = wire::decode_datagram(f.datagram);
    EXPECT_TRUE(std::get<wire::LinkMessage>(d->message.body).rekeying_ephemeral_key.has_value());
  }
}

TEST(Rekeying, BothEndsStartingAtOnceTheSourcesGoesOnAndTheTargetAnswersIt) {
  const TestPki pki;
  Link l(pki);
  // Both REQUESTs are on their way before either arrives.
  auto from_source = l.tb.source.rekey("signal", l.now);
  auto from_target = l.tb.target.rekey({}, "signal", l.now);
  ASSERT_EQ(from_source.send.size(), 1u);
  ASSERT_EQ(from_target.send.size(), 1u);
  l.tb.net.deliver(kTargetEndpoint, "target-ue", std::move(from_target), l.now);
  l.tb.net.deliver(kSourceEndpoint, "source-ue", std::move(from_source), l.now);
  l.expect_in_step(1);
  ASSERT_EQ(l.rekeyed("source-ue").size(), 1u);
  ASSERT_EQ(l.rekeyed("target-ue").size(), 1u);
  EXPECT_EQ(str(l.rekeyed("source-ue")[0], "as"), "initiator");
  EXPECT_EQ(str(l.rekeyed("target-ue")[0], "as"), "responder");
  EXPECT_TRUE(l.tb.net.has("source-ue", "rekey_collision"));
  EXPECT_TRUE(l.tb.net.has("target-ue", "rekey_collision"));
  // Nothing of the target's abandoned rekeying comes back later.
  l.advance(60s);
  EXPECT_EQ(l.rekeyed("source-ue").size(), 1u);
  EXPECT_FALSE(l.tb.net.has("target-ue", "rekey_failed"));
  l.expect_in_step(1);
}

TEST(Rekeying, ALostRequestOrResponseIsSentAgainAndTheRekeyingCompletes) {
  for (const auto lost : {wire::MessageType::kRekeyingRequest, wire::MessageType::kRekeyingResponse}) {
    const TestPki pki;
    Link l(pki);
    bool dropped = false;
    l.tb.net.on_flight = [&](InFlight& f) {
      if (dropped || !is(f, lost)) return true;
      dropped = true;
      return false;
    };
    l.source_rekeys();
    EXPECT_TRUE(l.rekeyed("source-ue").empty());
    l.advance(2s);
    EXPECT_TRUE(dropped);
    l.expect_in_step(1);
    EXPECT_EQ(l.rekeyed("source-ue").size(), 1u);
    EXPECT_EQ(l.rekeyed("target-ue").size(), 1u);
  }
}

TEST(Rekeying, ALostConfirmIsMadeGoodByTheResponsesRetransmissionAnsweredWithTheSameConfirm) {
  const TestPki pki;
  Link l(pki);
  Bytes first_confirm;
  l.tb.net.on_flight = [&](InFlight& f) {
    if (!first_confirm.empty() || !is(f, wire::MessageType::kRekeyingConfirm)) return true;
    first_confirm = f.datagram;
    return false;
  };
  l.source_rekeys();
  EXPECT_EQ(l.rekeyed("source-ue").size(), 1u);  // the initiator switched
  EXPECT_TRUE(l.rekeyed("target-ue").empty());   // the responder waits for the CONFIRM
  l.advance(2s);
  ASSERT_EQ(l.rekeyed("target-ue").size(), 1u);
  l.expect_in_step(1);
  // The CONFIRM sent again is the same octets: the initiator derived nothing anew.
  const auto confirms = std::count_if(l.tb.net.wire_log.begin(), l.tb.net.wire_log.end(), [&](const InFlight& f) {
    return f.from == kSourceEndpoint && f.datagram == first_confirm;
  });
  EXPECT_EQ(confirms, 1) << "the copy of the lost CONFIRM reached the relay";
}

TEST(Rekeying, AResponderWhoseEveryConfirmIsLostSwitchesOnTheInitiatorsNextKeepaliveUnderTheNewKeys) {
  const TestPki pki;
  Link l(pki);
  l.tb.net.on_flight = [](InFlight& f) { return !is(f, wire::MessageType::kRekeyingConfirm); };
  l.source_rekeys();
  ASSERT_EQ(l.source_keys().generation, 1u);
  ASSERT_EQ(l.target_keys().generation, 0u);
  l.advance(15s);  // T5084 (10 s): a KEEPALIVE REQUEST under the new K_int
  l.expect_in_step(1);
  ASSERT_EQ(l.rekeyed("target-ue").size(), 1u);
  EXPECT_EQ(str(l.rekeyed("target-ue")[0], "as"), "responder");
  EXPECT_FALSE(l.tb.net.has("source-ue", "link_lost"));
  EXPECT_TRUE(l.tb.net.events("target-ue", "check_failed").empty());
  // Its answer stopped with the switch: nothing of this rekeying is sent after it.
  const auto responses = count_of(l.tb.net.wire_log, wire::MessageType::kRekeyingResponse);
  l.advance(30s);
  EXPECT_EQ(count_of(l.tb.net.wire_log, wire::MessageType::kRekeyingResponse), responses);
  EXPECT_FALSE(l.tb.net.has("target-ue", "rekey_failed"));
}

TEST(Rekeying, DuplicatesOfEveryMessageSwitchEachEndOnce) {
  const TestPki pki;
  Link l(pki);
  l.tb.net.extra_copies = [](const InFlight& f) {
    const auto d = wire::decode_datagram(f.datagram);
    return f.from == kRelayEndpoint && d && wire::is_rekeying_message(d->message.type()) ? 1 : 0;
  };
  l.source_rekeys();
  l.advance(5s);
  l.expect_in_step(1);
  EXPECT_EQ(l.rekeyed("source-ue").size(), 1u);
  EXPECT_EQ(l.rekeyed("target-ue").size(), 1u);
  EXPECT_TRUE(l.tb.net.events("source-ue", "check_failed").empty());
  EXPECT_TRUE(l.tb.net.events("target-ue", "check_failed").empty());
}

TEST(Rekeying, MessagesFromThePastAreDroppedAndChangeNothing) {
  const TestPki pki;
  Link l(pki);
  l.source_rekeys();
  std::vector<InFlight> first_round;
  for (const auto& f : l.tb.net.wire_log) {
    if (f.to != kRelayEndpoint && wire::is_rekeying_message(wire::decode_datagram(f.datagram)->message.type())) {
      first_round.push_back(f);
    }
  }
  ASSERT_EQ(first_round.size(), 3u);  // the REQUEST to the target, the RESPONSE to the source, the CONFIRM
  l.target_rekeys();
  l.expect_in_step(2);
  const auto keys_before = l.source_keys().kd_sess_id;
  for (const auto& f : first_round) {
    protocol::Node& node = f.to == kTargetEndpoint ? static_cast<protocol::Node&>(l.tb.target) : l.tb.source;
    const auto out = node.on_datagram(kRelayEndpoint, f.datagram, l.now);
    EXPECT_TRUE(out.send.empty());
    ASSERT_EQ(out.events.size(), 1u);
    EXPECT_EQ(out.events[0].name, "datagram_dropped");
  }
  l.expect_in_step(2);
  EXPECT_EQ(l.source_keys().kd_sess_id, keys_before);
}

TEST(Rekeying, AForgedOrDamagedRekeyingMessageIsLoggedAndChangesNothing) {
  const TestPki pki;
  Link l(pki);
  l.tb.net.on_flight = [](InFlight& f) {
    if (f.to == kTargetEndpoint && is(f, wire::MessageType::kRekeyingRequest)) f.datagram.back() ^= 0x01;
    return true;
  };
  l.source_rekeys();
  EXPECT_TRUE(l.rekeyed("target-ue").empty());
  EXPECT_EQ(checks(protocol::Output{{}, l.tb.net.events("target-ue", "check_failed"), {}}),
            std::vector<std::string>{"link_mac"});
  l.expect_in_step(0);
}

TEST(Rekeying, KeepalivesGoOnAcrossSwitchesAndTheLinkIsNeverLost) {
  const TestPki pki;
  Link l(pki, false, 1000ms);  // both ends rekey every second by time
  l.advance(30s);
  EXPECT_FALSE(l.tb.net.has("source-ue", "link_lost"));
  EXPECT_TRUE(l.tb.net.events("source-ue", "check_failed").empty());
  EXPECT_TRUE(l.tb.net.events("target-ue", "check_failed").empty());
  EXPECT_GE(l.rekeyed("source-ue").size(), 20u);
  EXPECT_EQ(l.rekeyed("source-ue").size(), l.rekeyed("target-ue").size());
  // Each rekeying's keys are the same at both ends, in the same order.
  for (std::size_t i = 0; i < l.rekeyed("source-ue").size(); ++i) {
    EXPECT_EQ(str(l.rekeyed("source-ue")[i], "kd_sess_id"), str(l.rekeyed("target-ue")[i], "kd_sess_id"));
  }
  EXPECT_GE(l.tb.net.events("source-ue", "keepalive").size(), 2u);
  l.expect_in_step(static_cast<std::uint32_t>(l.rekeyed("source-ue").size()));
}

// What a capture of the rekeyings and a later compromise give an attacker (docs/evaluation.md 13): with the forward
// secrecy option, neither today's KD nor the static KD (both long-term keys leaked) recomputes an earlier
// generation's KD-sess from its nonces; without it, KD never changes and both do.
std::pair<bool, bool> earlier_keys_recomputed(bool forward_secrecy) {
  const TestPki pki;
  Link l(pki, forward_secrecy);
  const crypto::SecretBytes static_kd = l.source_keys().kd.clone();  // what the long-term keys give (section 6)
  l.source_rekeys();
  const crypto::SecretBytes generation_1 = l.source_keys().kd_sess.clone();
  // The nonces of the first rekeying, from the capture: the source's in its REQUEST, the target's in its RESPONSE.
  wire::Nonce n_s{}, n_t{};
  for (const auto& f : l.tb.net.wire_log) {
    const auto d = wire::decode_datagram(f.datagram);
    if (!d || !wire::is_rekeying_message(d->message.type())) continue;
    const auto& m = std::get<wire::LinkMessage>(d->message.body);
    if (m.type == wire::MessageType::kRekeyingRequest) n_s = *m.rekeying_nonce;
    if (m.type == wire::MessageType::kRekeyingResponse) n_t = *m.rekeying_nonce;
  }
  l.target_rekeys();
  l.source_rekeys();
  EXPECT_EQ(l.source_keys().generation, 3u);
  const auto from_today = crypto::kdf(l.source_keys().kd, protocol::kFcKdSess, {n_s, n_t});
  const auto from_static = crypto::kdf(static_kd, protocol::kFcKdSess, {n_s, n_t});
  return {from_today == generation_1, from_static == generation_1};
}

TEST(Rekeying, WithoutForwardSecrecyTodaysKdOrTheLongTermKeysRecomputeEarlierKeysFromTheirNonces) {
  const auto [from_today, from_static] = earlier_keys_recomputed(false);
  EXPECT_TRUE(from_today);
  EXPECT_TRUE(from_static);
}

TEST(Rekeying, WithForwardSecrecyNeitherTodaysKdNorTheLongTermKeysRecomputeEarlierKeys) {
  const auto [from_today, from_static] = earlier_keys_recomputed(true);
  EXPECT_FALSE(from_today);
  EXPECT_FALSE(from_static);
}

TEST(Rekeying, ALinkAsksForOneAfterRekeyAfterPacketsAndAlwaysBeforeCountRunsOutAndAgainWhileNoneCompletes) {
  using dataplane::rekey_trigger;
  EXPECT_FALSE(rekey_trigger(99, 100));
  EXPECT_EQ(rekey_trigger(100, 100), "packets");
  EXPECT_FALSE(rekey_trigger(101, 100));
  EXPECT_EQ(rekey_trigger(100 + dataplane::kRekeyRetryPackets, 100), "packets");
  EXPECT_FALSE(rekey_trigger(100, 0)) << "0: never by count";
  // Near COUNT's end, whatever the setting, and well before it.
  EXPECT_EQ(rekey_trigger(dataplane::kRekeyForcedAtCount, 0), "count");
  EXPECT_EQ(rekey_trigger(dataplane::kRekeyForcedAtCount + dataplane::kRekeyRetryPackets, 0), "count");
  EXPECT_LT(dataplane::kRekeyForcedAtCount + 200 * dataplane::kRekeyRetryPackets, dataplane::kCountLimit);
  EXPECT_LT(dataplane::kDefaultRekeyAfterPackets, dataplane::kRekeyForcedAtCount);
}

// A responder that installs the next keys right after a switch still receives what the initiator sent under the keys
// before (its REQUEST may overtake them): three key sets at once, each named by its own 16-bit ID.
TEST(Rekeying, ADataLinkReceivesUnderThePreviousKeysWhileTheNextAreInstalled) {
  const auto keys = [](std::uint8_t fill) {
    return dataplane::derive_nrp_keys(crypto::SecretBytes(Bytes(32, fill)), dataplane::Suite::kAes128Gcm);
  };
  const auto link = [&](std::uint8_t direction) {
    return dataplane::DataLink::create(
               {dataplane::Suite::kAes128Gcm, keys(1), direction, dataplane::LinkLabel{}, 101, 1, 2})
        .value();
  };
  auto sender = link(dataplane::kDirectionFromTarget);
  auto receiver = link(dataplane::kDirectionFromSource);
  std::array<std::uint8_t, wire::kMaxDatagramSize> buffer{};
  const Bytes payload{7, 7, 7};
  const auto pdu = [&] {
    return Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*sender.protect(1, payload, buffer)));
  };
  ASSERT_TRUE(receiver.use_keys(keys(2), 102).ok());      // generation 1 at the receiver; 101 kept as the previous
  Bytes late = pdu();                                     // the sender, still under generation 0
  ASSERT_TRUE(receiver.install_next(keys(3), 103).ok());  // generation 2 answered
  EXPECT_TRUE(receiver.holds_previous());
  EXPECT_TRUE(std::holds_alternative<dataplane::Delivery>(receiver.unprotect(late)));
  ASSERT_TRUE(sender.use_keys(keys(2), 102).ok());
  Bytes current = pdu();
  EXPECT_TRUE(std::holds_alternative<dataplane::Delivery>(receiver.unprotect(current)));
  ASSERT_TRUE(sender.use_keys(keys(3), 103).ok());
  Bytes next = pdu();
  const auto switched = receiver.unprotect(next);
  ASSERT_TRUE(std::holds_alternative<dataplane::Delivery>(switched));
  EXPECT_TRUE(std::get<dataplane::Delivery>(switched).switched);
  EXPECT_EQ(receiver.kd_sess_id(), 103);
}

// The 16-bit IDs of three generations in a row never collide, even when the KD-sess IDs' first octets do.
TEST(Rekeying, TheDataKdSessIdDiffersFromTheTwoGenerationsBefore) {
  protocol::SessionKeys g0;
  g0.kd = crypto::SecretBytes(Bytes(32, 9));
  for (int i = 0; i < 2000; ++i) {
    wire::Nonce n{};
    n[0] = static_cast<std::uint8_t>(i);
    n[1] = static_cast<std::uint8_t>(i >> 8);
    g0.data_kd_sess_id = static_cast<std::uint16_t>(i * 7);
    g0.previous_data_kd_sess_id = static_cast<std::uint16_t>(i * 7 + 1);
    const auto g1 = protocol::derive_rekeyed_keys(g0, n, n, nullptr);
    EXPECT_NE(g1.data_kd_sess_id, g0.data_kd_sess_id);
    EXPECT_NE(g1.data_kd_sess_id, g0.previous_data_kd_sess_id);
    EXPECT_EQ(g1.previous_data_kd_sess_id, g0.data_kd_sess_id);
  }
  // Forced: the previous generations hold exactly the ID the KD-sess ID gives, and the one after it.
  wire::Nonce n{};
  const auto natural = protocol::derive_rekeyed_keys(g0, n, n, nullptr).data_kd_sess_id;
  g0.data_kd_sess_id = natural;
  g0.previous_data_kd_sess_id = static_cast<std::uint16_t>(natural + 1);
  EXPECT_EQ(protocol::derive_rekeyed_keys(g0, n, n, nullptr).data_kd_sess_id, static_cast<std::uint16_t>(natural + 2));
}

// The data plane's switch-over (docs/protocol.md 12.5): the responder receives under the old and the next keys, and
// switches when the first PDU under the next ones verifies; the old ones are received until dropped.
TEST(Rekeying, TheDataLinksSwitchWithoutLosingAPduInFlight) {
  const TestPki pki;
  Link l(pki);
  const auto make = [&](const protocol::SessionKeys& k, std::uint8_t direction) {
    auto d = dataplane::DataLink::create({k.data_suite, dataplane::derive_nrp_keys(k.kd_sess, k.data_suite), direction,
                                          dataplane::LinkLabel{}, k.data_kd_sess_id, 1, 2});
    EXPECT_TRUE(d.ok());
    return std::move(d).value();
  };
  auto source = make(l.source_keys(), dataplane::kDirectionFromSource);
  auto target = make(l.target_keys(), dataplane::kDirectionFromTarget);
  std::array<std::uint8_t, wire::kMaxDatagramSize> buffer{};
  const Bytes payload{1, 2, 3};
  const auto send = [&](dataplane::DataLink& from) {
    auto n = from.protect(1, payload, buffer);
    EXPECT_TRUE(n.ok());
    return Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  };
  const auto delivered = [](dataplane::DataLink& to, Bytes pdu) {
    return std::holds_alternative<dataplane::Delivery>(to.unprotect(pdu));
  };
  const Bytes in_flight_old = send(source);  // under generation 0, still on its way during the switch
  Bytes late_old = send(source);             // the same, arriving after the previous keys were wiped

  // The target answers the source's rekeying: its next keys installed, not yet used for sending.
  const auto old_id = l.target_keys().data_kd_sess_id;
  auto request = l.tb.source.rekey("signal", l.now);
  l.tb.net.on_flight = [](InFlight& f) { return !is(f, wire::MessageType::kRekeyingConfirm); };  // held back
  l.tb.net.deliver(kSourceEndpoint, "source-ue", std::move(request), l.now);
  ASSERT_NE(l.tb.target.link_of("source-ue")->next_keys, nullptr);
  const auto& next = *l.tb.target.link_of("source-ue")->next_keys;
  ASSERT_TRUE(
      target.install_next(dataplane::derive_nrp_keys(next.kd_sess, next.data_suite), next.data_kd_sess_id).ok());
  EXPECT_EQ(target.kd_sess_id(), old_id);
  // The source switched at the RESPONSE: it sends under the new keys, and still receives under the old.
  ASSERT_EQ(l.source_keys().generation, 1u);
  const Bytes from_target_old = send(target);
  ASSERT_TRUE(source
                  .use_keys(dataplane::derive_nrp_keys(l.source_keys().kd_sess, l.source_keys().data_suite),
                            l.source_keys().data_kd_sess_id)
                  .ok());
  EXPECT_TRUE(delivered(source, from_target_old));
  const Bytes first_new = send(source);
  EXPECT_NE(first_new, in_flight_old);
  // At the target, the new PDU switches it; the old one in flight still arrives.
  Bytes first_new_copy = first_new;
  auto result = target.unprotect(first_new_copy);
  ASSERT_TRUE(std::holds_alternative<dataplane::Delivery>(result));
  EXPECT_TRUE(std::get<dataplane::Delivery>(result).switched);
  EXPECT_EQ(target.kd_sess_id(), next.data_kd_sess_id);
  EXPECT_TRUE(delivered(target, in_flight_old));
  EXPECT_TRUE(delivered(source, send(target)));  // the target now sends under the new keys
  // Once the previous keys are dropped, what was sent under them is refused for its keys.
  EXPECT_TRUE(target.holds_previous());
  target.drop_previous();
  const auto late = target.unprotect(late_old);
  ASSERT_TRUE(std::holds_alternative<dataplane::Drop>(late));
  EXPECT_EQ(std::get<dataplane::Drop>(late), dataplane::Drop::kKeys);
  EXPECT_EQ(source.counters().dropped[static_cast<std::size_t>(dataplane::Drop::kKeys)], 0u);
}

}  // namespace
}  // namespace u2u::test
