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
  deliver(kRelayA, "relay", Output{{{kSource.discovery, to_source->datagram}}, {}});
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
  for (int i = 0; i < 50; ++i) deliver(kRelayA, "fake", Output{{*to_source}, {}});
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
    net.deliver(it->from, "relay", Output{{{it->to, it->datagram}}, {}}, then);
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
