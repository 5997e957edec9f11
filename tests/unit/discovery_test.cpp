// UE-to-UE relay discovery (issue #6, docs/protocol.md section 10): the wire format of the six discovery messages,
// Model A and Model B in memory, authenticity (forged, stale, replayed, wrong role), selection policies and
// reselection, and the link procedure through the relay discovery selected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "protocol/discovery.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using protocol::DiscoveryConfig;
using protocol::DiscoveryModel;
using protocol::Output;
using protocol::RelayDiscovery;
using protocol::RelayTarget;
using protocol::SelectionPolicy;
using protocol::SourceDiscovery;
using protocol::TargetDiscovery;

// --- wire ---------------------------------------------------------------------------------------------------------

wire::DiscoveryMessage sample(std::uint8_t type) {
  wire::DiscoveryMessage m;
  m.type = type;
  m.sender_user_info_id = "sender-ue";
  m.sender_layer2_id = 0x00abcd;
  m.timestamp_ms = 1795000000123;
  m.certificate = Bytes(300, 0x5a);
  m.signature.fill(0x77);
  const bool announcement = type == wire::kRelayAnnouncementType || type == wire::kTargetAnnouncementType;
  const bool response = type == wire::kResponseType || type == wire::kTargetResponseType;
  if (announcement || response) m.signalling_port = 4002;
  if (type == wire::kRelayAnnouncementType || type == wire::kResponseType) m.relay_service_code = 0x123456;
  if (type == wire::kRelayAnnouncementType) m.reachable_targets = {{"target-a", 0x000301}, {"target-b", 0x000302}};
  if (!announcement) {
    m.target_user_info_id = "target-a";
    m.nonce.emplace();
    m.nonce->fill(0x42);
  }
  if (response) m.target_layer2_id = 0x000301;
  return m;
}

Bytes encode_signed(const wire::DiscoveryMessage& m) {
  Bytes b = wire::encode_discovery_unsigned(m);
  wire::append_discovery_signature(b, m.signature);
  return b;
}

std::string type_name(const ::testing::TestParamInfo<std::uint8_t>& info) {
  std::string name;
  for (char c : wire::discovery_name(info.param)) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
  }
  return name;
}

class DiscoveryWire : public ::testing::TestWithParam<std::uint8_t> {};

TEST_P(DiscoveryWire, EveryMessageDecodesToWhatWasEncoded) {
  const auto m = sample(GetParam());
  auto d = wire::decode_discovery(encode_signed(m));
  ASSERT_TRUE(d.ok()) << d.error().reason;
  EXPECT_EQ(d->message, m);
  // The signature covers everything before its own IE.
  EXPECT_EQ(d->covered_by_signature().size(), wire::encode_discovery_unsigned(m).size());
}

TEST_P(DiscoveryWire, TruncatedOrExtendedMessagesAreRefused) {
  const Bytes b = encode_signed(sample(GetParam()));
  for (std::size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(wire::decode_discovery(ByteView(b).first(n)).ok()) << "truncated to " << n;
  }
  Bytes longer = b;
  longer.push_back(0);
  EXPECT_FALSE(wire::decode_discovery(longer).ok());
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DiscoveryWire,
                         ::testing::Values(wire::kRelayAnnouncementType, wire::kTargetAnnouncementType,
                                           wire::kSolicitationType, wire::kResponseType, wire::kTargetSolicitationType,
                                           wire::kTargetResponseType),
                         type_name);

TEST(DiscoveryWire, TypeOctetCarriesModelContentAndDiscoveryType) {
  // TS 24.554 11.2.1 layout: bits 8-7 model, bits 6-3 content, bits 2-1 discovery type.
  EXPECT_EQ(wire::kRelayAnnouncementType, 0x41);
  EXPECT_EQ(wire::kTargetAnnouncementType, 0x45);
  EXPECT_EQ(wire::kSolicitationType, 0x89);
  EXPECT_EQ(wire::kResponseType, 0x8d);
  EXPECT_EQ(wire::kTargetSolicitationType, 0x91);
  EXPECT_EQ(wire::kTargetResponseType, 0x95);
  for (std::uint8_t t : {wire::kRelayAnnouncementType, wire::kTargetAnnouncementType}) EXPECT_EQ(t >> 6, 1);
  for (std::uint8_t t :
       {wire::kSolicitationType, wire::kResponseType, wire::kTargetSolicitationType, wire::kTargetResponseType}) {
    EXPECT_EQ(t >> 6, 2);
  }
}

TEST(DiscoveryWire, AnnouncementWithTooManyReachableTargetsIsRefused) {
  auto m = sample(wire::kRelayAnnouncementType);
  m.reachable_targets.clear();
  for (std::size_t i = 0; i <= wire::kMaxReachableTargets; ++i) {
    m.reachable_targets.push_back({"t" + std::to_string(i), static_cast<wire::Layer2Id>(i + 1)});
  }
  EXPECT_FALSE(wire::decode_discovery(encode_signed(m)).ok());
  m.reachable_targets.pop_back();
  EXPECT_TRUE(wire::decode_discovery(encode_signed(m)).ok());
}

TEST(DiscoveryWire, ZeroSignallingPortIsRefused) {
  auto m = sample(wire::kRelayAnnouncementType);
  m.signalling_port = 0;
  auto d = wire::decode_discovery(encode_signed(m));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().reason.find("signalling port"), std::string::npos);
}

TEST(DiscoveryWire, TargetResponseWithARelayServiceCodeIsRefused) {
  Bytes b = encode_signed(sample(wire::kResponseType));  // a relay's response: it carries the service code
  ASSERT_TRUE(wire::decode_discovery(b).ok());
  b[0] = wire::kTargetResponseType;  // the same IEs as a target's response, which has none
  auto d = wire::decode_discovery(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().reason.find("no relay service code"), std::string::npos) << d.error().reason;
}

TEST(DiscoveryWire, TypesNeverCollideWithSignallingMessages) {
  for (unsigned t = 0; t < 0x40; ++t) EXPECT_FALSE(wire::is_discovery_type(static_cast<std::uint8_t>(t)));
}

// --- agents in memory ---------------------------------------------------------------------------------------------

struct Host {
  std::string id;
  wire::Layer2Id l2;
  Endpoint link;       // the link procedure's socket
  Endpoint discovery;  // the discovery socket
};

const Host kSource{"source-ue", kSourceL2, kSourceEndpoint, *Endpoint::parse("10.0.0.1", 5001)};
const Host kRelayA{"relay-a", kRelayL2, kRelayEndpoint, *Endpoint::parse("10.0.0.2", 5002)};
const Host kRelayB{"relay-b", 0x000404, *Endpoint::parse("10.0.0.4", 4004), *Endpoint::parse("10.0.0.4", 5004)};
const Host kTarget{"target-ue", kTargetL2, kTargetEndpoint, *Endpoint::parse("10.0.0.3", 5003)};

// The broadcast domain: everyone's discovery socket except one's own (multicast, or the neighbours list).
DiscoveryConfig config_for(const Host& self, bool announce = true) {
  DiscoveryConfig c;
  for (const Host* h : {&kSource, &kRelayA, &kRelayB, &kTarget}) {
    if (h->id != self.id) c.destinations.push_back(h->discovery);
  }
  c.signalling_port = self.link.port;
  c.announce = announce;
  return c;
}

class Discovery : public ::testing::Test {
 protected:
  TestPki pki;
  InMemoryNetwork net;
  Now now = test_now();

  protocol::LocalParty party(const Host& h, crypto::Role role) const { return pki.party(h.id, role, h.l2); }

  void tick(protocol::Node& node, const Host& h, const std::string& role) {
    net.deliver(h.discovery, role, node.on_timer(now), now);
  }
  void deliver(const Host& h, const std::string& role, Output out) {
    net.deliver(h.discovery, role, std::move(out), now);
  }
  void advance(std::chrono::milliseconds by) { now = later(now, by); }
};

TEST_F(Discovery, ModelAAnnouncementsLeadTheSourceToTheRelayThatReachesTheTarget) {
  TargetDiscovery target(party(kTarget, crypto::Role::kUe), config_for(kTarget));
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {});
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kTarget.discovery, "target", target);
  net.attach(kRelayA.discovery, "relay", relay);
  net.attach(kSource.discovery, "source", source);

  tick(relay, kRelayA, "relay");  // reaches no one yet
  EXPECT_FALSE(source.selected());
  tick(target, kTarget, "target");  // the target makes itself reachable
  ASSERT_TRUE(net.has("relay", "target_discovered"));
  auto found = relay.find(kTarget.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->layer2_id, kTarget.l2);
  EXPECT_EQ(found->endpoint, kTarget.link);  // the signed signalling port, at the address the announcement came from

  advance(1000ms);
  tick(relay, kRelayA, "relay");
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, kRelayA.id);
  EXPECT_EQ(source.selected()->layer2_id, kRelayA.l2);
  EXPECT_EQ(source.selected()->endpoint, kRelayA.link);
  EXPECT_EQ(source.selected()->target_layer2_id, kTarget.l2);
  const auto selected = net.events("source", "relay_selected");
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(str(selected[0], "reason"), "first available");
}

TEST_F(Discovery, ModelBSolicitationMakesTheRelayAskTheTargetAndAnswer) {
  // Nobody announces: the relay learns the target only by asking it.
  TargetDiscovery target(party(kTarget, crypto::Role::kUe), config_for(kTarget, false));
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA, false), {});
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelB,
                         SelectionPolicy::kFirst, {});
  net.attach(kTarget.discovery, "target", target);
  net.attach(kRelayA.discovery, "relay", relay);
  net.attach(kSource.discovery, "source", source);

  tick(target, kTarget, "target");
  tick(relay, kRelayA, "relay");
  EXPECT_TRUE(net.wire_log.empty()) << "Model B relays and targets do not announce";
  tick(source, kSource, "source");  // solicitation -> target solicitation -> target response -> response
  EXPECT_TRUE(net.has("relay", "solicitation_heard"));
  EXPECT_TRUE(net.has("target", "discovery_response_sent"));
  EXPECT_TRUE(net.has("relay", "target_discovered"));
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, kRelayA.id);
  EXPECT_EQ(source.selected()->endpoint, kRelayA.link);
  EXPECT_EQ(source.selected()->target_layer2_id, kTarget.l2);
  const auto heard = net.events("source", "relay_discovered");
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(str(heard[0], "model"), "B");
  EXPECT_GE(num(heard[0], "rtt_ms"), 0);
}

TEST_F(Discovery, ARelayThatDoesNotReachTheTargetIsNotSelected) {
  RelayDiscovery lonely(party(kRelayB, crypto::Role::kRelay), config_for(kRelayB), {});
  RelayDiscovery reaching(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA),
                          {{kTarget.id, kTarget.l2, kTarget.link}});
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", source);
  tick(lonely, kRelayB, "relay-b");  // heard first, but reaches no target
  tick(source, kSource, "source");
  EXPECT_FALSE(source.selected());
  EXPECT_FALSE(net.has("source", "relay_discovered"));
  tick(reaching, kRelayA, "relay-a");
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, kRelayA.id);
}

TEST_F(Discovery, AnnouncementsOfAnotherRelayServiceCodeAreIgnored) {
  auto other = config_for(kRelayA);
  other.relay_service_code = 0x000777;
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), other, {{kTarget.id, kTarget.l2, kTarget.link}});
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", source);
  tick(relay, kRelayA, "relay");
  EXPECT_FALSE(source.selected());
}

class DiscoveryAuthenticity : public Discovery {
 protected:
  SourceDiscovery source{party(kSource, crypto::Role::kUe), config_for(kSource),     kTarget.id,
                         DiscoveryModel::kModelA,           SelectionPolicy::kFirst, {}};
  void SetUp() override { net.attach(kSource.discovery, "source", source); }

  // What the source logged about refusing: the check named.
  std::string refusal() const {
    const auto r = net.events("source", "discovery_refused");
    return r.empty() ? "<not refused>" : str(r.back(), "check");
  }
};

TEST_F(DiscoveryAuthenticity, AnnouncementSignedOutsideTheCaIsRefusedAndLogged) {
  TestPki rogue("rogue-ca");
  RelayDiscovery fake(rogue.party(kRelayA.id, crypto::Role::kRelay, kRelayA.l2), config_for(kRelayA),
                      {{kTarget.id, kTarget.l2, kTarget.link}});
  tick(fake, kRelayA, "fake");
  EXPECT_FALSE(source.selected());
  EXPECT_EQ(refusal(), "relay_certificate_chain");
  const auto r = net.events("source", "discovery_refused");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(str(r[0], "sender"), kRelayA.id);
  EXPECT_EQ(str(r[0], "from"), kRelayA.discovery.to_string());
}

TEST_F(DiscoveryAuthenticity, AnnouncementByAUeWithoutTheRelayRoleIsRefused) {
  RelayDiscovery pretender(party(kRelayA, crypto::Role::kUe), config_for(kRelayA),
                           {{kTarget.id, kTarget.l2, kTarget.link}});
  tick(pretender, kRelayA, "pretender");
  EXPECT_FALSE(source.selected());
  EXPECT_EQ(refusal(), "relay_certificate_role");
}

TEST_F(DiscoveryAuthenticity, AnnouncementWithAnAlteredFieldIsRefused) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA),
                       {{kTarget.id, kTarget.l2, kTarget.link}});
  net.on_flight = [](InFlight& f) {
    // The signalling port (IE 0x38) steered elsewhere: the lure TR 33.740 Key Issue #1 is about.
    auto d = wire::decode_discovery_datagram(f.datagram);
    if (!d) return true;
    auto m = d->message.message;
    m.signalling_port = 6666;
    Bytes body = encode_signed(m);
    f.datagram = wire::encode_datagram(d->source, d->destination, body);
    return true;
  };
  tick(relay, kRelayA, "relay");
  EXPECT_FALSE(source.selected());
  EXPECT_EQ(refusal(), "discovery_signature");
}

TEST_F(DiscoveryAuthenticity, StaleAnnouncementIsRefused) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA),
                       {{kTarget.id, kTarget.l2, kTarget.link}});
  Now then = now;
  then.wall -= std::chrono::seconds(31);  // recorded 31 s ago, replayed now
  deliver(kRelayA, "relay", relay.on_timer(then));
  EXPECT_FALSE(source.selected());
  EXPECT_EQ(refusal(), "stale");
}

TEST_F(DiscoveryAuthenticity, ReplayedAnnouncementIsRefusedAndAFreshOneAccepted) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA),
                       {{kTarget.id, kTarget.l2, kTarget.link}});
  std::vector<InFlight> recorded;
  net.on_flight = [&](InFlight& f) {
    recorded.push_back(f);
    return true;
  };
  tick(relay, kRelayA, "relay");
  ASSERT_TRUE(source.selected());
  ASSERT_EQ(recorded.size(), 3u);  // one per neighbour
  const auto to_source =
      std::find_if(recorded.begin(), recorded.end(), [](const InFlight& f) { return f.to == kSource.discovery; });
  ASSERT_NE(to_source, recorded.end());
  net.on_flight = nullptr;
  advance(100ms);
  deliver(kRelayA, "relay", Output{{{kSource.discovery, to_source->datagram}}, {}, {}});
  EXPECT_EQ(refusal(), "replayed");
  net.log.clear();
  advance(1000ms);
  tick(relay, kRelayA, "relay");
  EXPECT_FALSE(net.has("source", "discovery_refused"));
}

TEST_F(DiscoveryAuthenticity, TargetRefusesASolicitationFromAUeWithoutTheRelayRole) {
  TargetDiscovery target(party(kTarget, crypto::Role::kUe), config_for(kTarget, false));
  RelayDiscovery pretender(party(kRelayA, crypto::Role::kUe), config_for(kRelayA, false), {});
  net.attach(kTarget.discovery, "target", target);
  net.attach(kRelayA.discovery, "pretender", pretender);
  SourceDiscovery asker(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelB,
                        SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", asker);
  tick(asker, kSource, "source");  // the pretender asks the target on the source's behalf
  EXPECT_FALSE(net.has("target", "discovery_response_sent"));
  const auto r = net.events("target", "discovery_refused");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(str(r[0], "check"), "relay_certificate_role");
}

TEST_F(DiscoveryAuthenticity, FloodFromOneAddressIsDroppedBeforeSignatureChecks) {
  TestPki rogue("rogue-ca");
  RelayDiscovery fake(rogue.party(kRelayA.id, crypto::Role::kRelay, kRelayA.l2), config_for(kRelayA),
                      {{kTarget.id, kTarget.l2, kTarget.link}});
  // 50 forged announcements in one instant from one address: the burst is checked, the rest dropped unchecked.
  Output forged = fake.on_timer(now);
  const auto to_source = std::find_if(forged.send.begin(), forged.send.end(),
                                      [](const protocol::Outbound& o) { return o.to == kSource.discovery; });
  ASSERT_NE(to_source, forged.send.end());
  for (int i = 0; i < 50; ++i) deliver(kRelayA, "fake", Output{{*to_source}, {}, {}});
  const auto refused = net.events("source", "discovery_refused").size();
  const auto dropped = net.events("source", "datagram_dropped").size();
  EXPECT_EQ(refused, static_cast<std::size_t>(protocol::kDiscoveryRateLimitBurst));
  EXPECT_EQ(refused + dropped, 50u);
}

// --- selection and reselection ------------------------------------------------------------------------------------

class Selection : public Discovery {
 protected:
  RelayDiscovery relay_a{
      party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {{kTarget.id, kTarget.l2, kTarget.link}}};
  RelayDiscovery relay_b{
      party(kRelayB, crypto::Role::kRelay), config_for(kRelayB), {{kTarget.id, kTarget.l2, kTarget.link}}};
  void attach_relays() {
    net.attach(kRelayA.discovery, "relay-a", relay_a);
    net.attach(kRelayB.discovery, "relay-b", relay_b);
  }
  // Both relays announce, relay-a first; the source decides one interval after the first.
  void both_announce(SourceDiscovery& source) {
    tick(relay_a, kRelayA, "relay-a");
    advance(10ms);
    tick(relay_b, kRelayB, "relay-b");
    advance(protocol::kDefaultDiscoveryInterval);
    tick(source, kSource, "source");
  }
};

TEST_F(Selection, PreferenceListWinsOverOrderHeard) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kPreference, {"relay-b", "relay-a"});
  net.attach(kSource.discovery, "source", source);
  tick(relay_a, kRelayA, "relay-a");
  EXPECT_FALSE(source.selected()) << "the preference policy waits an interval to compare";
  advance(10ms);
  tick(relay_b, kRelayB, "relay-b");
  advance(protocol::kDefaultDiscoveryInterval);
  tick(source, kSource, "source");
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, "relay-b");
  EXPECT_EQ(str(net.events("source", "relay_selected").at(0), "reason"), "preference list position 1");
}

TEST_F(Selection, FirstAvailableTakesTheFirstHeard) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", source);
  both_announce(source);
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, "relay-a");
}

TEST_F(Selection, LowestRoundTripTimeWinsInModelB) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelB,
                         SelectionPolicy::kLowestRtt, {});
  // relay-a answers 40 ms after the solicitation, relay-b 5 ms after: hold each response back accordingly.
  std::vector<InFlight> held;
  net.on_flight = [&](InFlight& f) {
    if (f.to != kSource.discovery) return true;
    held.push_back(f);
    return false;
  };
  attach_relays();
  net.attach(kSource.discovery, "source", source);
  tick(source, kSource, "source");
  ASSERT_EQ(held.size(), 2u);
  net.on_flight = nullptr;
  const auto respond = [&](const Endpoint& relay_discovery, std::chrono::milliseconds at) {
    const auto it =
        std::find_if(held.begin(), held.end(), [&](const InFlight& f) { return f.from == relay_discovery; });
    ASSERT_NE(it, held.end());
    Now then = later(test_now(), at);
    net.deliver(it->from, "relay", Output{{{it->to, it->datagram}}, {}, {}}, then);
  };
  respond(kRelayB.discovery, 5ms);
  respond(kRelayA.discovery, 40ms);
  advance(protocol::kDefaultDiscoveryInterval + 50ms);
  tick(source, kSource, "source");
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, "relay-b");
  EXPECT_EQ(str(net.events("source", "relay_selected").at(0), "reason"), "lowest round-trip time 5 ms");
}

TEST_F(Selection, FailedRelayIsAvoidedAndAnotherSelected) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", source);
  both_announce(source);
  ASSERT_EQ(source.selected()->user_info_id, "relay-a");
  deliver(kSource, "source", source.relay_failed("relay-a", "keep-alive unanswered", now));
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, "relay-b");
  const auto reselecting = net.events("source", "relay_reselecting");
  ASSERT_EQ(reselecting.size(), 1u);
  EXPECT_EQ(str(reselecting[0], "reason"), "keep-alive unanswered");
  // relay-a keeps announcing, but stays avoided while relay-b works.
  advance(1000ms);
  tick(relay_a, kRelayA, "relay-a");
  tick(source, kSource, "source");
  EXPECT_EQ(source.selected()->user_info_id, "relay-b");
}

TEST_F(Selection, SilentRelayIsForgottenAndTheOtherSelected) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  net.attach(kSource.discovery, "source", source);
  both_announce(source);
  ASSERT_EQ(source.selected()->user_info_id, "relay-a");
  // relay-a goes silent; relay-b keeps announcing each interval.
  for (int i = 0; i < 4; ++i) {
    advance(protocol::kDefaultDiscoveryInterval);
    tick(relay_b, kRelayB, "relay-b");
    tick(source, kSource, "source");
  }
  EXPECT_TRUE(net.has("source", "relay_lost"));
  ASSERT_TRUE(source.selected());
  EXPECT_EQ(source.selected()->user_info_id, "relay-b");
}

TEST_F(Selection, RelayThatStopsReachingTheTargetIsDropped) {
  SourceDiscovery source(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                         SelectionPolicy::kFirst, {});
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {});
  TargetDiscovery target(party(kTarget, crypto::Role::kUe), config_for(kTarget));
  net.attach(kSource.discovery, "source", source);
  net.attach(kRelayA.discovery, "relay", relay);
  tick(target, kTarget, "target");
  tick(relay, kRelayA, "relay");
  ASSERT_TRUE(source.selected());
  // The target falls silent: the relay forgets it and stops announcing it; the source drops the relay.
  advance(protocol::kDefaultDiscoveryLifetime);
  tick(relay, kRelayA, "relay");
  EXPECT_TRUE(net.has("relay", "target_forgotten"));
  EXPECT_FALSE(relay.find(kTarget.id));
  EXPECT_TRUE(net.has("source", "relay_lost"));
  EXPECT_FALSE(source.selected());
}

// --- freshness: the clock-skew check for every 64-bit timestamp (docs/protocol.md 10.2 step 5) -------------------

// The timestamp is a 64-bit unsigned wire field checked before the certificate and the signature: any value from
// anyone reaches the skew arithmetic, which must neither overflow nor let a far timestamp through.
class DiscoveryFreshness : public Discovery {
 protected:
  protocol::LocalParty relay_party = party(kRelayA, crypto::Role::kRelay);
  protocol::LocalParty source_party = party(kSource, crypto::Role::kUe);
  static constexpr std::uint64_t kSkew = static_cast<std::uint64_t>(protocol::kDefaultDiscoveryMaxClockSkew.count());
  std::uint64_t ours() const { return protocol::timestamp_ms(now.wall); }

  // relay-a's announcement naming the target, validly signed, with this timestamp.
  Bytes announcement_at(std::uint64_t timestamp) const {
    wire::DiscoveryMessage m;
    m.type = wire::kRelayAnnouncementType;
    m.sender_user_info_id = kRelayA.id;
    m.sender_layer2_id = kRelayA.l2;
    m.signalling_port = kRelayA.link.port;
    m.relay_service_code = protocol::kDefaultRelayServiceCode;
    m.timestamp_ms = timestamp;
    m.reachable_targets = {{kTarget.id, kTarget.l2}};
    m.certificate = relay_party.certificate.der();
    auto bytes = protocol::sign_discovery(relay_party, std::move(m));
    if (!bytes) ADD_FAILURE() << bytes.error().reason;
    return wire::encode_datagram(kRelayA.l2, wire::kBroadcastLayer2Id, bytes ? *bytes : Bytes{});
  }
  Result<crypto::VerifiedPeer> verify_at(std::uint64_t timestamp) const {
    auto d = wire::decode_discovery_datagram(announcement_at(timestamp));
    if (!d) return d.error();
    return protocol::verify_discovery(source_party, d->message, crypto::Role::kRelay, now,
                                      protocol::kDefaultDiscoveryMaxClockSkew);
  }
};

struct FarTimestamp {
  const char* name;
  std::uint64_t timestamp;
  bool relative_to_now;  // timestamp is added to our clock's
};

const FarTimestamp kFarTimestamps[] = {
    {"zero", 0, false},
    {"2^63-1", std::uint64_t{0x7fffffffffffffff}, false},
    {"2^63", std::uint64_t{1} << 63, false},
    {"2^63+now (signed difference wraps to INT64_MIN)", std::uint64_t{1} << 63, true},
    {"2^64-1", ~std::uint64_t{0}, false},
};

TEST_F(DiscoveryFreshness, TimestampsAnywhereInSixtyFourBitsBeyondTheSkewAreStale) {
  for (const auto& c : kFarTimestamps) {
    SCOPED_TRACE(c.name);
    const std::uint64_t t = c.timestamp + (c.relative_to_now ? ours() : 0);
    auto r = verify_at(t);
    ASSERT_FALSE(r.ok()) << "accepted";
    EXPECT_EQ(r.error().check, "stale");
    // The reason gives the exact distance, signed: "timestamp -N ms from this clock" for the past.
    const std::string distance = t > ours() ? std::to_string(t - ours()) : "-" + std::to_string(ours() - t);
    EXPECT_NE(r.error().reason.find("timestamp " + distance + " ms from this clock"), std::string::npos)
        << r.error().reason;
  }
}

TEST_F(DiscoveryFreshness, TimestampsJustOutsideTheSkewAreStaleAndAtItAccepted) {
  for (const std::uint64_t t : {ours() - kSkew - 1, ours() + kSkew + 1}) {
    auto r = verify_at(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.error().check, "stale");
  }
  for (const std::uint64_t t : {ours() - kSkew, ours(), ours() + kSkew}) {
    auto r = verify_at(t);
    EXPECT_TRUE(r.ok()) << t << ": " << r.error().reason;
  }
}

TEST_F(DiscoveryFreshness, SourceRefusesAFarTimestampAsStaleAndSelectsNothing) {
  for (const auto& c : kFarTimestamps) {
    SCOPED_TRACE(c.name);
    SourceDiscovery source(source_party, config_for(kSource), kTarget.id, DiscoveryModel::kModelA,
                           SelectionPolicy::kFirst, {});
    const auto out =
        source.on_datagram(kRelayA.discovery, announcement_at(c.timestamp + (c.relative_to_now ? ours() : 0)), now);
    EXPECT_FALSE(source.selected());
    const auto refused = std::find_if(out.events.begin(), out.events.end(),
                                      [](const protocol::Event& e) { return e.name == "discovery_refused"; });
    ASSERT_NE(refused, out.events.end());
    EXPECT_EQ(str(*refused, "check"), "stale");
  }
}

TEST_F(DiscoveryFreshness, RelayAndTargetRefuseAFarTimestampAsStale) {
  const std::uint64_t wrapping = (std::uint64_t{1} << 63) + ours();
  // A target announcement to the relay: the target is not discovered.
  RelayDiscovery relay(party(kRelayB, crypto::Role::kRelay), config_for(kRelayB), {});
  const auto target_party = party(kTarget, crypto::Role::kUe);
  wire::DiscoveryMessage announcement;
  announcement.type = wire::kTargetAnnouncementType;
  announcement.sender_user_info_id = kTarget.id;
  announcement.sender_layer2_id = kTarget.l2;
  announcement.signalling_port = kTarget.link.port;
  announcement.timestamp_ms = wrapping;
  announcement.certificate = target_party.certificate.der();
  auto signed_announcement = protocol::sign_discovery(target_party, announcement);
  ASSERT_TRUE(signed_announcement.ok());
  auto out = relay.on_datagram(kTarget.discovery,
                               wire::encode_datagram(kTarget.l2, wire::kBroadcastLayer2Id, *signed_announcement), now);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].name, "discovery_refused");
  EXPECT_EQ(str(out.events[0], "check"), "stale");
  EXPECT_FALSE(relay.find(kTarget.id));
  // A relay's target solicitation to the target: not answered.
  TargetDiscovery target(target_party, config_for(kTarget));
  wire::DiscoveryMessage ask;
  ask.type = wire::kTargetSolicitationType;
  ask.sender_user_info_id = kRelayA.id;
  ask.sender_layer2_id = kRelayA.l2;
  ask.target_user_info_id = kTarget.id;
  ask.nonce.emplace();
  ask.timestamp_ms = wrapping;
  ask.certificate = relay_party.certificate.der();
  auto signed_ask = protocol::sign_discovery(relay_party, ask);
  ASSERT_TRUE(signed_ask.ok());
  out = target.on_datagram(kRelayA.discovery, wire::encode_datagram(kRelayA.l2, wire::kBroadcastLayer2Id, *signed_ask),
                           now);
  EXPECT_TRUE(out.send.empty());
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(str(out.events[0], "check"), "stale");
}

// --- the relay's directory: configured targets first, discovered ones bounded (docs/protocol.md 10.3) ------------

class RelayDirectory : public Discovery {
 protected:
  static inline const RelayTarget kConfigured{"zz-configured", 0x000909, *Endpoint::parse("10.0.0.9", 4009)};

  // Each discovered target has its own UE credential and its own address.
  static Endpoint address_of(std::uint32_t n) {
    return *Endpoint::parse("10.1." + std::to_string(n / 200) + "." + std::to_string(n % 200 + 1), 5003);
  }
  // The target `id` announces itself (once, now) to `relay`, from the address of `n`; returns the relay's output.
  Output discover(RelayDiscovery& relay, const std::string& id, std::uint32_t n) {
    DiscoveryConfig c;
    c.destinations = {kRelayA.discovery};
    c.signalling_port = kTarget.link.port;
    TargetDiscovery target(pki.party(id, crypto::Role::kUe, 0x010000 + n), c);
    return relay.on_datagram(address_of(n), target.on_timer(now).send.at(0).datagram, now);
  }
  // The targets the relay's next announcement names, in order.
  std::vector<std::string> announced(RelayDiscovery& relay) {
    const auto out = relay.on_timer(now);
    std::vector<std::string> names;
    if (out.send.empty()) {
      ADD_FAILURE() << "no announcement";
      return names;
    }
    auto d = wire::decode_discovery_datagram(out.send[0].datagram);
    if (!d) {
      ADD_FAILURE() << d.error().reason;
      return names;
    }
    for (const auto& t : d->message.message.reachable_targets) names.push_back(t.user_info_id);
    return names;
  }
  static std::size_t count(const Output& out, std::string_view name) {
    return static_cast<std::size_t>(
        std::count_if(out.events.begin(), out.events.end(), [&](const protocol::Event& e) { return e.name == name; }));
  }
};

TEST_F(RelayDirectory, NineDiscoveredTargetsNeverDisplaceAConfiguredOne) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {kConfigured});
  // Nine UE credentials whose names sort before the configured target's.
  for (std::uint32_t i = 0; i < 9; ++i) discover(relay, "target-" + std::to_string(i), i);
  const auto names = announced(relay);
  ASSERT_EQ(names.size(), wire::kMaxReachableTargets);
  EXPECT_EQ(names.front(), kConfigured.user_info_id);
  // The announcement is limited, not the directory: the link procedure still routes to each of them.
  for (std::uint32_t i = 0; i < 9; ++i) EXPECT_TRUE(relay.find("target-" + std::to_string(i))) << i;
}

TEST_F(RelayDirectory, EightConfiguredTargetsAreAllAnnouncedWhateverIsDiscovered) {
  std::vector<RelayTarget> configured;
  for (std::uint32_t i = 0; i < wire::kMaxReachableTargets; ++i) {
    configured.push_back({"zz-configured-" + std::to_string(i), 0x000900 + i, *Endpoint::parse("10.0.0.9", 4009)});
  }
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), configured);
  for (std::uint32_t i = 0; i < 12; ++i) discover(relay, "a-" + std::to_string(i), i);
  std::vector<std::string> expected;
  for (const auto& t : configured) expected.push_back(t.user_info_id);
  EXPECT_EQ(announced(relay), expected);
}

TEST_F(RelayDirectory, DiscoveredTargetsAreAnnouncedFirstComeFirstKept) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {kConfigured});
  discover(relay, "m-early", 100);
  // Later credentials whose names sort first do not push the earlier target out of the announcement.
  for (std::uint32_t i = 0; i < 9; ++i) discover(relay, "a-" + std::to_string(i), i);
  const std::vector<std::string> expected{
      kConfigured.user_info_id, "m-early", "a-0", "a-1", "a-2", "a-3", "a-4", "a-5"};
  EXPECT_EQ(announced(relay), expected);
}

TEST_F(RelayDirectory, DiscoveredTargetsAreBoundedAndTheConfiguredOnesKept) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {kConfigured});
  constexpr std::size_t kExtra = 5;
  std::size_t discovered = 0;
  std::size_t ignored = 0;
  for (std::uint32_t i = 0; i < protocol::kMaxDiscoveredTargets + kExtra; ++i) {
    const auto out = discover(relay, "t-" + std::to_string(i), i);
    discovered += count(out, "target_discovered");
    ignored += count(out, "target_ignored");
  }
  EXPECT_EQ(relay.discovered_targets(), protocol::kMaxDiscoveredTargets);
  EXPECT_EQ(discovered, protocol::kMaxDiscoveredTargets);
  EXPECT_EQ(ignored, kExtra);
  // First come, first kept: the earliest are routed, the latest are not; the configured one always is.
  EXPECT_TRUE(relay.find("t-0"));
  EXPECT_FALSE(relay.find("t-" + std::to_string(protocol::kMaxDiscoveredTargets)));
  EXPECT_TRUE(relay.find(kConfigured.user_info_id));
  EXPECT_EQ(announced(relay).front(), kConfigured.user_info_id);
  // Once they fall silent they are forgotten, and a new target is discovered again.
  advance(protocol::kDefaultDiscoveryLifetime);
  (void)relay.on_timer(now);
  EXPECT_EQ(relay.discovered_targets(), 0u);
  EXPECT_TRUE(relay.find(kConfigured.user_info_id));
  EXPECT_EQ(count(discover(relay, "t-late", 999), "target_discovered"), 1u);
}

TEST_F(RelayDirectory, OneCredentialIsOneDiscoveredTarget) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {});
  DiscoveryConfig c;
  c.destinations = {kRelayA.discovery};
  c.signalling_port = kTarget.link.port;
  TargetDiscovery target(pki.party("roaming-ue", crypto::Role::kUe, 0x010101), c);
  for (std::uint32_t n = 0; n < 5; ++n) {  // from five addresses, each announcement newer
    (void)relay.on_datagram(address_of(n), target.on_timer(now).send.at(0).datagram, now);
    advance(protocol::kDefaultDiscoveryInterval);
  }
  EXPECT_EQ(relay.discovered_targets(), 1u);
  ASSERT_TRUE(relay.find("roaming-ue"));
  EXPECT_EQ(relay.find("roaming-ue")->endpoint.address, address_of(4).address);
}

TEST_F(RelayDirectory, AConfiguredTargetIsNotTakenOverByAnAnnouncement) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {kConfigured});
  discover(relay, kConfigured.user_info_id, 7);  // a genuine UE credential with the configured target's name
  EXPECT_EQ(relay.discovered_targets(), 0u);
  ASSERT_TRUE(relay.find(kConfigured.user_info_id));
  EXPECT_EQ(relay.find(kConfigured.user_info_id)->endpoint, kConfigured.endpoint);
}

TEST_F(RelayDirectory, AForgottenTargetsAnnouncementReplayedLaterIsRefused) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA), {});
  TargetDiscovery target(party(kTarget, crypto::Role::kUe), config_for(kTarget));
  const Bytes recorded = target.on_timer(now).send.at(0).datagram;
  (void)relay.on_datagram(kTarget.discovery, recorded, now);
  ASSERT_TRUE(relay.find(kTarget.id));
  advance(protocol::kDefaultDiscoveryLifetime);  // the target leaves: forgotten
  (void)relay.on_timer(now);
  ASSERT_FALSE(relay.find(kTarget.id));
  // Its announcement, replayed within the skew from another address, does not bring it back there.
  const auto out = relay.on_datagram(address_of(1), recorded, now);
  EXPECT_FALSE(relay.find(kTarget.id));
  ASSERT_EQ(count(out, "discovery_refused"), 1u);
  EXPECT_EQ(str(out.events[0], "check"), "replayed");
}

TEST_F(RelayDirectory, SolicitorsAreRememberedOnlyWhileTheirSolicitationsCouldBeReplayed) {
  RelayDiscovery relay(party(kRelayA, crypto::Role::kRelay), config_for(kRelayA, false), {kConfigured});
  std::vector<Bytes> recorded;
  for (std::uint32_t i = 0; i < 20; ++i) {
    SourceDiscovery source(pki.party("source-" + std::to_string(i), crypto::Role::kUe, 0x020000 + i),
                           config_for(kSource), kConfigured.user_info_id, DiscoveryModel::kModelB,
                           SelectionPolicy::kFirst, {});
    recorded.push_back(source.on_timer(now).send.at(0).datagram);
    const auto out = relay.on_datagram(address_of(i), recorded.back(), now);
    EXPECT_EQ(count(out, "discovery_response_sent"), 1u) << i;
  }
  EXPECT_EQ(relay.remembered_solicitors(), 20u);
  // Until a replay would be stale anyway, a replay is refused as replayed; then the relay forgets the sender.
  advance(protocol::kDefaultDiscoveryMaxClockSkew);
  (void)relay.on_timer(now);
  EXPECT_EQ(relay.remembered_solicitors(), 20u);
  EXPECT_EQ(str(relay.on_datagram(address_of(0), recorded[0], now).events.at(0), "check"), "replayed");
  advance(1ms);
  (void)relay.on_timer(now);
  EXPECT_EQ(relay.remembered_solicitors(), 0u);
  EXPECT_EQ(str(relay.on_datagram(address_of(1), recorded[1], now).events.at(0), "check"), "stale");
}

// --- discovery, then the link procedure through the selected relay ------------------------------------------------

TEST_F(Discovery, LinkIsEstablishedThroughTheRelayDiscoverySelected) {
  auto relay_party = party(kRelayA, crypto::Role::kRelay);
  TargetDiscovery target_discovery(party(kTarget, crypto::Role::kUe), config_for(kTarget));
  RelayDiscovery relay_discovery(relay_party, config_for(kRelayA), {});
  SourceDiscovery source_discovery(party(kSource, crypto::Role::kUe), config_for(kSource), kTarget.id,
                                   DiscoveryModel::kModelA, SelectionPolicy::kFirst, {});
  net.attach(kTarget.discovery, "target", target_discovery);
  net.attach(kRelayA.discovery, "relay", relay_discovery);
  net.attach(kSource.discovery, "source", source_discovery);
  tick(target_discovery, kTarget, "target");
  tick(relay_discovery, kRelayA, "relay");
  ASSERT_TRUE(source_discovery.selected());

  // The relay has no configured target: it routes by what discovery found.
  auto relay_cfg = relay_config(relay_party);
  relay_cfg.targets.clear();
  relay_cfg.directory = [&](std::string_view id) { return relay_discovery.find(id); };
  auto source_cfg = source_config(party(kSource, crypto::Role::kUe));
  source_cfg.relay_user_info_id.clear();
  source_cfg.target_layer2_id = 0;
  Testbed bed(std::move(source_cfg), std::move(relay_cfg), target_config(party(kTarget, crypto::Role::kUe)));
  const auto& s = *source_discovery.selected();
  bed.source.select_relay(s.user_info_id, s.layer2_id, s.endpoint, s.target_layer2_id);
  bed.run(now);
  EXPECT_TRUE(bed.net.has("source-ue", "link_established"));
  EXPECT_TRUE(bed.net.has("target-ue", "link_established"));
}

}  // namespace
}  // namespace u2u::test
