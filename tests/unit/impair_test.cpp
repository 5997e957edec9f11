// u2u-impair's decisions without sockets: each impairment at its configured rate, reproducible from the seed,
// and nothing at all when every setting is zero; the REJECTs it forges as an on-path attacker. Its command line,
// parsed without starting a proxy.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

#include "crypto/hash.hpp"
#include "impair/cli.hpp"
#include "impair/impairer.hpp"
#include "wire/messages.hpp"

namespace u2u::impair {
namespace {

constexpr int kDatagrams = 100'000;
constexpr FlowId kFlow = 7;
const MonoTime kT0{};

// Datagram i: its number in the first 4 octets, then 28 octets of filler.
Bytes datagram(std::uint32_t i) {
  Bytes b(32, 0xa5);
  for (int k = 0; k < 4; ++k) b[k] = static_cast<std::uint8_t>(i >> (8 * k));
  return b;
}

std::uint32_t number(const Bytes& b) {
  std::uint32_t i = 0;
  for (int k = 0; k < 4; ++k) i |= static_cast<std::uint32_t>(b[k]) << (8 * k);
  return i;
}

Impairer up_only(Settings up, std::uint64_t seed = 1) { return Impairer({up, Settings{}}, seed); }

// Feeds kDatagrams upwards, one per millisecond, and collects everything emitted (timers included).
std::vector<Emission> feed(Impairer& impairer, int count = kDatagrams, FlowId flow = kFlow) {
  std::vector<Emission> all;
  for (int i = 0; i < count; ++i) {
    const MonoTime now = kT0 + Millis(i);
    for (auto& e : impairer.on_timer(now)) all.push_back(std::move(e));
    for (auto& e : impairer.on_datagram(flow, Direction::kUp, datagram(static_cast<std::uint32_t>(i)), now)) {
      all.push_back(std::move(e));
    }
  }
  for (auto& e : impairer.on_timer(kT0 + Millis(count) + Millis(600'000))) all.push_back(std::move(e));
  return all;
}

double rate(std::uint64_t part, std::uint64_t whole) {
  return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

TEST(Impairer, ZeroSettingsForwardEveryDatagramAtOnceUnchangedAndInOrder) {
  Impairer impairer({Settings{}, Settings{}}, 42);
  for (const Direction d : kDirections) {
    for (std::uint32_t i = 0; i < 1000; ++i) {
      const auto out = impairer.on_datagram(kFlow, d, datagram(i), kT0);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].datagram, datagram(i));
      EXPECT_EQ(out[0].delay, Micros(0));
      EXPECT_EQ(out[0].flow, kFlow);
      EXPECT_EQ(out[0].direction, d);
    }
    const Counters& c = impairer.counters(d);
    EXPECT_EQ(c.received, 1000u);
    EXPECT_EQ(c.forwarded, 1000u);
    EXPECT_EQ(c.dropped + c.duplicated + c.reordered + c.corrupted + c.delayed, 0u);
  }
  EXPECT_FALSE(impairer.next_deadline());
  EXPECT_TRUE(impairer.on_datagram(kFlow, Direction::kUp, Bytes{}, kT0).at(0).datagram.empty());
}

TEST(Impairer, LossRateConvergesToTheSetting) {
  for (const double pct : {1.0, 10.0, 30.0, 50.0}) {
    auto impairer = up_only({.loss_pct = pct});
    const auto out = feed(impairer);
    const Counters& c = impairer.counters(Direction::kUp);
    EXPECT_NEAR(rate(c.dropped, c.received), pct, 0.6) << pct;
    EXPECT_EQ(out.size(), c.received - c.dropped);
    EXPECT_EQ(c.forwarded, out.size());
  }
  auto all_lost = up_only({.loss_pct = 100});
  EXPECT_TRUE(feed(all_lost, 1000).empty());
}

TEST(Impairer, DuplicationRateConvergesAndTheCopyFollowsShortlyWithTheSameBytes) {
  auto impairer = up_only({.duplicate_pct = 20});
  const auto out = feed(impairer);
  const Counters& c = impairer.counters(Direction::kUp);
  EXPECT_NEAR(rate(c.duplicated, c.received), 20.0, 0.6);
  EXPECT_EQ(out.size(), c.received + c.duplicated);
  std::size_t copies = 0;
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].datagram != out[i - 1].datagram) continue;
    ++copies;
    EXPECT_GE(out[i].delay - out[i - 1].delay, kDuplicateGapMin);
    EXPECT_LE(out[i].delay - out[i - 1].delay, kDuplicateGapMax);
  }
  EXPECT_EQ(copies, c.duplicated);
}

TEST(Impairer, CorruptionFlipsOneToThreeBitsAndKeepsTheLength) {
  auto impairer = up_only({.corrupt_pct = 5});
  const auto out = feed(impairer);
  const Counters& c = impairer.counters(Direction::kUp);
  EXPECT_NEAR(rate(c.corrupted, c.received), 5.0, 0.3);
  std::array<std::size_t, kMaxFlippedBits + 1> by_flipped_bits{};
  for (std::uint32_t i = 0; i < out.size(); ++i) {
    const Bytes original = datagram(i);
    ASSERT_EQ(out[i].datagram.size(), original.size());
    int flipped = 0;
    for (std::size_t k = 0; k < original.size(); ++k)
      flipped += std::popcount<std::uint8_t>(out[i].datagram[k] ^ original[k]);
    ASSERT_LE(flipped, kMaxFlippedBits);
    ++by_flipped_bits[static_cast<std::size_t>(flipped)];
  }
  EXPECT_EQ(by_flipped_bits[1] + by_flipped_bits[2] + by_flipped_bits[3], c.corrupted);
  for (int bits = 1; bits <= kMaxFlippedBits; ++bits) EXPECT_GT(by_flipped_bits[bits], c.corrupted / 4) << bits;
  // A one-octet datagram has 8 bits: corrupted, it still differs, and an empty one is left alone.
  auto always = up_only({.corrupt_pct = 100});
  for (int i = 0; i < 100; ++i) {
    const auto one = always.on_datagram(kFlow, Direction::kUp, Bytes{0x00}, kT0);
    ASSERT_EQ(one.at(0).datagram.size(), 1u);
    EXPECT_NE(one[0].datagram[0], 0x00);
  }
  EXPECT_TRUE(always.on_datagram(kFlow, Direction::kUp, Bytes{}, kT0).at(0).datagram.empty());
}

TEST(Impairer, ReorderSendsAHeldDatagramRightAfterTheNextOne) {
  auto impairer = up_only({.reorder_pct = 100});
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < 6; ++i) {
    for (const auto& e : impairer.on_datagram(kFlow, Direction::kUp, datagram(i), kT0))
      order.push_back(number(e.datagram));
  }
  EXPECT_EQ(order, (std::vector<std::uint32_t>{1, 0, 3, 2, 5, 4}));
  EXPECT_EQ(impairer.counters(Direction::kUp).reordered, 3u);
}

TEST(Impairer, ReorderedDatagramNeverLeavesBeforeTheOneThatOvertookIt) {
  auto impairer = up_only({.reorder_pct = 100, .delay = Millis(5), .jitter = Millis(20)});
  for (std::uint32_t i = 0; i < 1000; i += 2) {
    const auto out = impairer.on_datagram(kFlow, Direction::kUp, datagram(i), kT0);
    EXPECT_TRUE(out.empty());
    const auto swapped = impairer.on_datagram(kFlow, Direction::kUp, datagram(i + 1), kT0);
    ASSERT_EQ(swapped.size(), 2u);
    EXPECT_EQ(number(swapped[0].datagram), i + 1);
    EXPECT_EQ(number(swapped[1].datagram), i);
    EXPECT_GE(swapped[1].delay, swapped[0].delay);
  }
}

TEST(Impairer, ReorderRateConvergesToTheSettingOverTheDatagramsThatCouldBeHeld) {
  // A datagram that releases a held one is not held itself, so with probability p per eligible datagram the
  // share of reordered datagrams is p / (1 + p).
  auto impairer = up_only({.reorder_pct = 20});
  const auto out = feed(impairer);
  const Counters& c = impairer.counters(Direction::kUp);
  EXPECT_EQ(out.size(), c.received);
  const double eligible = static_cast<double>(c.received - c.reordered);
  EXPECT_NEAR(100.0 * static_cast<double>(c.reordered) / eligible, 20.0, 0.6);
  std::size_t swaps = 0;
  for (std::size_t i = 1; i < out.size(); ++i) swaps += number(out[i].datagram) < number(out[i - 1].datagram) ? 1 : 0;
  EXPECT_EQ(swaps, c.reordered);
}

TEST(Impairer, AHeldDatagramGoesAfterTheReorderDelayWhenNoOtherComes) {
  auto impairer = up_only({.reorder_pct = 100, .reorder_delay = Millis(30)});
  EXPECT_TRUE(impairer.on_datagram(kFlow, Direction::kUp, datagram(1), kT0).empty());
  ASSERT_TRUE(impairer.next_deadline());
  EXPECT_EQ(*impairer.next_deadline(), kT0 + Millis(30));
  EXPECT_TRUE(impairer.on_timer(kT0 + Millis(29)).empty());
  const auto out = impairer.on_timer(kT0 + Millis(30));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(number(out[0].datagram), 1u);
  EXPECT_FALSE(impairer.next_deadline());
  const Counters& c = impairer.counters(Direction::kUp);
  EXPECT_EQ(c.reordered, 0u);
  EXPECT_EQ(c.delayed, 1u);
  EXPECT_EQ(c.forwarded, 1u);
}

TEST(Impairer, ReorderingStaysWithinOneFlowAndOneDirection) {
  Impairer impairer({Settings{.reorder_pct = 100}, Settings{.reorder_pct = 100}}, 3);
  EXPECT_TRUE(impairer.on_datagram(1, Direction::kUp, datagram(1), kT0).empty());
  EXPECT_TRUE(impairer.on_datagram(2, Direction::kUp, datagram(2), kT0).empty());    // another peer
  EXPECT_TRUE(impairer.on_datagram(1, Direction::kDown, datagram(3), kT0).empty());  // the other way
  const auto out = impairer.on_datagram(1, Direction::kUp, datagram(4), kT0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].flow, 1u);
  EXPECT_EQ(number(out[1].datagram), 1u);
  impairer.forget(2);
  EXPECT_EQ(impairer.counters(Direction::kUp).dropped, 1u);
  EXPECT_EQ(impairer.on_timer(kT0 + Millis(1000)).size(), 1u);  // only flow 1's down datagram was left
}

TEST(Impairer, DelayAndJitterStayWithinTheirBoundsAndAverageInTheMiddle) {
  auto impairer = up_only({.delay = Millis(40), .jitter = Millis(10)});
  const auto out = feed(impairer);
  double sum = 0;
  for (const auto& e : out) {
    ASSERT_GE(e.delay, Millis(40));
    ASSERT_LE(e.delay, Millis(50));
    sum += static_cast<double>(e.delay.count());
  }
  EXPECT_NEAR(sum / static_cast<double>(out.size()), 45'000.0, 100.0);
  EXPECT_EQ(impairer.counters(Direction::kUp).delayed, static_cast<std::uint64_t>(kDatagrams));
}

TEST(Impairer, DirectionsAreImpairedIndependently) {
  Impairer impairer({Settings{.loss_pct = 100}, Settings{}}, 9);
  for (std::uint32_t i = 0; i < 100; ++i) {
    EXPECT_TRUE(impairer.on_datagram(kFlow, Direction::kUp, datagram(i), kT0).empty());
    EXPECT_EQ(impairer.on_datagram(kFlow, Direction::kDown, datagram(i), kT0).size(), 1u);
  }
  EXPECT_EQ(impairer.counters(Direction::kUp).dropped, 100u);
  EXPECT_EQ(impairer.counters(Direction::kDown).dropped, 0u);
}

TEST(Impairer, TheSameSeedGivesTheSameDecisionsAndAnotherSeedOthers) {
  const Settings everything{.loss_pct = 10,
                            .duplicate_pct = 10,
                            .reorder_pct = 10,
                            .corrupt_pct = 10,
                            .delay = Millis(1),
                            .jitter = Millis(5)};
  const auto run = [&](std::uint64_t seed) {
    Impairer impairer({everything, everything}, seed);
    auto out = feed(impairer, 10'000);
    return std::pair{out, impairer.counters(Direction::kUp)};
  };
  const auto [a, ca] = run(1234);
  const auto [b, cb] = run(1234);
  const auto [c, cc] = run(1235);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].datagram, b[i].datagram);
    EXPECT_EQ(a[i].delay, b[i].delay);
  }
  EXPECT_EQ(ca.dropped, cb.dropped);
  EXPECT_EQ(ca.corrupted, cb.corrupted);
  EXPECT_TRUE(a.size() != c.size() || ca.dropped != cc.dropped || ca.corrupted != cc.corrupted);
}

TEST(Impairer, CountersAddUp) {
  const Settings everything{.loss_pct = 20, .duplicate_pct = 20, .reorder_pct = 20, .corrupt_pct = 20};
  Impairer impairer({everything, everything}, 77);
  const auto out = feed(impairer, 20'000);
  const Counters& c = impairer.counters(Direction::kUp);
  EXPECT_EQ(c.received, 20'000u);
  EXPECT_EQ(c.forwarded, out.size());
  EXPECT_EQ(c.received, c.forwarded - c.duplicated + c.dropped);
}

TEST(Prng, KnownSequenceForSeedZero) {
  // xoshiro256** over splitmix64(0): fixed forever, so that a seed logged today replays tomorrow.
  Prng a(0);
  Prng b(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
  Prng c(0);
  EXPECT_EQ(c.next(), 0x99ec5f36cb75f2b4ULL);
}

// --- forged REJECTs (--forge-reject)

constexpr wire::Layer2Id kSenderL2 = 0x000101;     // who sent the request or the accept
constexpr wire::Layer2Id kAddresseeL2 = 0x000202;  // whom it was for

// A DIRECT COMMUNICATION REQUEST as the source sends it (seed step 1), or as the relay forwards it (step 3, with
// its Authentication_Info); `nonce` tells requests apart.
wire::DirectCommunicationRequest sample_request(std::uint8_t nonce, bool relayed = false) {
  wire::DirectCommunicationRequest r;
  r.source_user_info_id = "source-ue";
  r.target_user_info_id = "target-ue";
  r.target_layer2_id = 0x000303;
  r.selected_relay_user_info_id = "relay-ue";
  r.data_suites = {0x01};
  r.nonce_1.fill(nonce);
  r.source_certificate = Bytes(100, 0x90);
  r.sign_source.fill(0x40);
  if (relayed) r.relay = wire::RelayAuthInfo{"relay-ue", Bytes(90, 0x30), {}};
  return r;
}

wire::DirectCommunicationAccept sample_accept() {
  wire::DirectCommunicationAccept a;
  a.target_user_info_id = "target-ue";
  a.request_digest.fill(0xd0);
  a.relay_certificate_digest.fill(0xc0);
  a.data_suite = 0x01;
  a.nonce_2.fill(0x20);
  a.target_certificate = Bytes(110, 0x05);
  a.key_confirmation_mac.fill(0xe3);
  a.sign_target.fill(0x60);
  return a;
}

Bytes from_sender(const wire::Body& body) { return wire::encode_datagram(kSenderL2, kAddresseeL2, wire::encode(body)); }

// The request digest as the source computes it: SHA-256 over the request as the source sent it, without what the
// relay appends (docs/protocol.md 4.3).
wire::Digest digest_of(wire::DirectCommunicationRequest request) {
  request.relay.reset();
  return crypto::sha256(wire::encode(request));
}

// The forged REJECT an emission carries, its Layer-2 IDs checked.
wire::DirectCommunicationReject forged_reject(const Emission& e, wire::Layer2Id source, wire::Layer2Id destination) {
  const auto d = wire::decode_datagram(e.datagram);
  EXPECT_TRUE(d.ok()) << d.error().reason;
  if (!d.ok()) return {};
  EXPECT_EQ(d->source, source);
  EXPECT_EQ(d->destination, destination);
  const auto* reject = std::get_if<wire::DirectCommunicationReject>(&d->message.body);
  EXPECT_NE(reject, nullptr) << wire::message_name(d->message.type());
  return reject ? *reject : wire::DirectCommunicationReject{};
}

Impairer forging(std::vector<Cause> up, std::vector<Cause> down, Settings impairments = {}) {
  Settings u = impairments;
  Settings d = impairments;
  u.forge_reject = std::move(up);
  d.forge_reject = std::move(down);
  return Impairer({u, d}, 5);
}

TEST(ForgeReject, ARequestGoesOnUnchangedAndARejectGoesBackToItsSenderNamingItsDigest) {
  for (const bool relayed : {false, true}) {  // the source hop, and the target hop after the relay's step 3
    auto impairer = forging({}, {Cause::kAuthenticationFailure});
    const auto request = sample_request(1, relayed);
    const auto out = impairer.on_datagram(kFlow, Direction::kUp, from_sender(request), kT0);
    ASSERT_EQ(out.size(), 2u) << relayed;
    EXPECT_EQ(out[0].direction, Direction::kUp);
    EXPECT_EQ(out[0].datagram, from_sender(request));
    EXPECT_EQ(out[0].delay, Micros(0));
    EXPECT_EQ(out[1].flow, kFlow);
    EXPECT_EQ(out[1].direction, Direction::kDown);
    EXPECT_EQ(out[1].delay, Micros(0));
    const auto reject = forged_reject(out[1], kAddresseeL2, kSenderL2);  // as if from the addressee
    EXPECT_EQ(reject.request_digest, digest_of(request));
    EXPECT_EQ(reject.cause, Cause::kAuthenticationFailure);
    EXPECT_EQ(reject.rejected_by, wire::RejectedBy::kRelay);
    EXPECT_EQ(impairer.counters(Direction::kUp).forwarded, 1u);
    EXPECT_EQ(impairer.counters(Direction::kUp).forged, 0u);
    EXPECT_EQ(impairer.counters(Direction::kDown).forged, 1u);
    EXPECT_EQ(impairer.counters(Direction::kDown).received, 0u);
    EXPECT_EQ(impairer.counters(Direction::kDown).forwarded, 0u);
  }
}

TEST(ForgeReject, UpwardsAWithdrawalFollowsTheRequestAndAnAcceptIsRefusedBackToItsSender) {
  auto impairer = forging({Cause::kLackOfResources, Cause::kCongestion}, {}, {.delay = Millis(30)});
  const auto request = sample_request(1, true);
  const auto out = impairer.on_datagram(kFlow, Direction::kUp, from_sender(request), kT0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].datagram, from_sender(request));
  EXPECT_EQ(out[1].direction, Direction::kUp);
  EXPECT_EQ(out[1].delay, out[0].delay);  // listed after it: it leaves right after the request, never before
  auto reject = forged_reject(out[1], kSenderL2, kAddresseeL2);  // as if from the request's sender
  EXPECT_EQ(reject.request_digest, digest_of(request));
  EXPECT_EQ(reject.cause, Cause::kLackOfResources);

  // The target's accept passing down: refused back to the target, as if by the relay it was for.
  const auto accept = sample_accept();
  const auto answered = impairer.on_datagram(kFlow, Direction::kDown, from_sender(accept), kT0);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0].direction, Direction::kDown);
  EXPECT_EQ(answered[0].datagram, from_sender(accept));
  EXPECT_EQ(answered[1].direction, Direction::kUp);
  EXPECT_EQ(answered[1].delay, Micros(0));  // at once: the delay is the genuine traffic's
  reject = forged_reject(answered[1], kAddresseeL2, kSenderL2);
  EXPECT_EQ(reject.request_digest, accept.request_digest);
  EXPECT_EQ(reject.cause, Cause::kLackOfResources);  // its own turn of the causes: the first
  EXPECT_EQ(impairer.counters(Direction::kUp).forged, 2u);
  EXPECT_EQ(impairer.counters(Direction::kDown).forged, 0u);
}

TEST(ForgeReject, SuccessiveRequestsTryEveryCauseThenEveryRejectedBy) {
  auto impairer = forging({}, {kWireCauses.begin(), kWireCauses.end()});
  std::set<std::pair<Cause, wire::RejectedBy>> tried;
  const std::size_t rounds = kForgedRejectedBy.size();
  for (std::size_t i = 0; i <= kWireCauses.size() * rounds; ++i) {
    const auto out =
        impairer.on_datagram(kFlow, Direction::kUp, from_sender(sample_request(static_cast<std::uint8_t>(i))), kT0);
    ASSERT_EQ(out.size(), 2u);
    const auto reject = forged_reject(out[1], kAddresseeL2, kSenderL2);
    EXPECT_EQ(reject.request_digest, digest_of(sample_request(static_cast<std::uint8_t>(i))));
    EXPECT_EQ(reject.cause, kWireCauses[i % kWireCauses.size()]) << i;
    EXPECT_EQ(reject.rejected_by, kForgedRejectedBy[(i / kWireCauses.size()) % rounds]) << i;
    tried.insert({reject.cause, reject.rejected_by});
  }
  EXPECT_EQ(tried.size(), kWireCauses.size() * rounds);  // and the last one started over
}

TEST(ForgeReject, AListOfCausesIsUsedInItsOrder) {
  auto impairer = forging({}, {Cause::kCongestion, Cause::kDirectCommunicationNotAllowed});
  std::vector<Cause> causes;
  for (std::uint8_t i = 0; i < 4; ++i) {
    const auto out = impairer.on_datagram(kFlow, Direction::kUp, from_sender(sample_request(i)), kT0);
    ASSERT_EQ(out.size(), 2u);
    causes.push_back(forged_reject(out[1], kAddresseeL2, kSenderL2).cause);
  }
  EXPECT_EQ(causes, (std::vector<Cause>{Cause::kCongestion, Cause::kDirectCommunicationNotAllowed, Cause::kCongestion,
                                        Cause::kDirectCommunicationNotAllowed}));
}

TEST(ForgeReject, NothingButARequestOrAnAcceptIsAnswered) {
  auto impairer = forging({kWireCauses.begin(), kWireCauses.end()}, {kWireCauses.begin(), kWireCauses.end()});
  const Bytes request = from_sender(sample_request(1));
  const std::vector<Bytes> others = {
      datagram(1),
      Bytes{},
      Bytes(request.begin(), request.end() - 1),  // truncated: undecodable
      wire::encode_datagram(
          kSenderL2, kAddresseeL2,
          wire::encode_reject({digest_of(sample_request(1)), Cause::kCongestion, wire::RejectedBy::kTarget})),
      wire::encode_datagram(
          kSenderL2, kAddresseeL2,
          wire::encode(wire::LinkMessage{wire::MessageType::kLinkConfirm, {}, {}, {}, {}, {}, {}, {}})),
      wire::encode_datagram(
          kSenderL2, kAddresseeL2,
          wire::encode(wire::LinkMessage{wire::MessageType::kKeepaliveRequest, {}, 1, {}, {}, {}, {}, {}})),
  };
  for (const Direction d : kDirections) {
    for (const Bytes& other : others) {
      const auto out = impairer.on_datagram(kFlow, d, other, kT0);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].datagram, other);
    }
  }
  EXPECT_EQ(impairer.counters(Direction::kUp).forged + impairer.counters(Direction::kDown).forged, 0u);
}

TEST(ForgeReject, WithoutTheFlagNothingIsForged) {
  Impairer impairer({Settings{}, Settings{}}, 5);
  for (const Direction d : kDirections) {
    for (const Bytes& b : {from_sender(sample_request(1)), from_sender(sample_accept())}) {
      const auto out = impairer.on_datagram(kFlow, d, b, kT0);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].datagram, b);
    }
    EXPECT_EQ(impairer.counters(d).forged, 0u);
  }
}

TEST(ForgeReject, TheForgerHearsWhatWasSentAndTheSeedImpairsTheGenuineTrafficAlike) {
  const Settings lossy{.loss_pct = 40, .duplicate_pct = 20, .corrupt_pct = 40, .jitter = Millis(5)};
  auto with = forging({}, {Cause::kIntegrityFailure}, lossy);
  auto without = forging({}, {}, lossy);
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    const auto request = sample_request(static_cast<std::uint8_t>(i));
    auto out = with.on_datagram(kFlow, Direction::kUp, from_sender(request), kT0);
    const auto genuine = without.on_datagram(kFlow, Direction::kUp, from_sender(request), kT0);
    // Every request is refused, lost or corrupted on its way or not, by a REJECT naming what its sender sent.
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out.back().direction, Direction::kDown);
    EXPECT_EQ(forged_reject(out.back(), kAddresseeL2, kSenderL2).request_digest, digest_of(request));
    out.pop_back();
    ASSERT_EQ(out.size(), genuine.size()) << i;
    for (std::size_t k = 0; k < out.size(); ++k) {
      EXPECT_EQ(out[k].datagram, genuine[k].datagram);
      EXPECT_EQ(out[k].delay, genuine[k].delay);
    }
  }
  EXPECT_EQ(with.counters(Direction::kDown).forged, static_cast<std::uint64_t>(kRequests));
  EXPECT_GT(with.counters(Direction::kUp).dropped, 0u);
  EXPECT_GT(with.counters(Direction::kUp).corrupted, 0u);
  EXPECT_EQ(with.counters(Direction::kUp).dropped, without.counters(Direction::kUp).dropped);
}

TEST(ForgeReject, AllIsEveryCauseTheDecoderKeeps) {
  for (int v = 0; v <= 255; ++v) {
    const bool listed = std::find(kWireCauses.begin(), kWireCauses.end(), static_cast<Cause>(v)) != kWireCauses.end();
    const bool kept = v != 0 && cause_from_wire(static_cast<std::uint8_t>(v)) == static_cast<Cause>(v);
    EXPECT_EQ(listed, kept) << v;
  }
}

// --- the command line

Result<Options> parse_line(std::vector<std::string> args) {
  args.insert(args.begin(), {"--listen", "127.0.0.1:5000", "--upstream", "127.0.0.1:6000"});
  return parse(args);
}

TEST(ImpairCli, AFlagAppliesToBothDirectionsAndAPerDirectionFlagWinsWhateverTheOrder) {
  const auto o =
      parse_line({"--loss-up", "30", "--loss", "5", "--delay-ms=20", "--jitter-ms-down", "7", "--corrupt", "0.5"});
  ASSERT_TRUE(o.ok()) << o.error().reason;
  const auto& up = o->proxy.settings[0];
  const auto& down = o->proxy.settings[1];
  EXPECT_EQ(up.loss_pct, 30);
  EXPECT_EQ(down.loss_pct, 5);
  EXPECT_EQ(up.delay, Millis(20));
  EXPECT_EQ(down.delay, Millis(20));
  EXPECT_EQ(up.jitter, Millis(0));
  EXPECT_EQ(down.jitter, Millis(7));
  EXPECT_EQ(up.corrupt_pct, 0.5);
  EXPECT_EQ(up.reorder_delay, kDefaultReorderDelay);
  EXPECT_EQ(o->proxy.listen.to_string(), "127.0.0.1:5000");
  EXPECT_EQ(o->proxy.upstream.to_string(), "127.0.0.1:6000");
  EXPECT_FALSE(o->seed);
}

TEST(ImpairCli, DefaultsAreNoImpairment) {
  const auto o = parse_line({"--seed", "99"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->proxy.settings[0].is_identity());
  EXPECT_TRUE(o->proxy.settings[1].is_identity());
  EXPECT_EQ(o->seed, 99u);
  EXPECT_EQ(o->log_format, logging::Format::kJson);
  EXPECT_EQ(o->proxy.idle_timeout, kDefaultIdleTimeout);
}

TEST(ImpairCli, ForgeRejectTakesAllNoneOrAListOfCausesAndAPerDirectionFlagWins) {
  auto o = parse_line({"--forge-reject-up", "none", "--forge-reject", "all"});
  ASSERT_TRUE(o.ok()) << o.error().reason;
  EXPECT_TRUE(o->proxy.settings[0].forge_reject.empty());
  EXPECT_EQ(o->proxy.settings[1].forge_reject, std::vector<Cause>(kWireCauses.begin(), kWireCauses.end()));
  EXPECT_FALSE(o->proxy.settings[1].is_identity());
  EXPECT_NE(o->proxy.settings[1].describe().find("forge-reject 1,2,5,6,7,8,13,111"), std::string::npos);
  EXPECT_NE(o->proxy.settings[0].describe().find("forge-reject none"), std::string::npos);

  o = parse_line({"--forge-reject-down=5,6,111"});
  ASSERT_TRUE(o.ok()) << o.error().reason;
  EXPECT_TRUE(o->proxy.settings[0].forge_reject.empty());
  EXPECT_EQ(
      o->proxy.settings[1].forge_reject,
      (std::vector<Cause>{Cause::kLackOfResources, Cause::kAuthenticationFailure, Cause::kProtocolErrorUnspecified}));
}

TEST(ImpairCli, BadUsageIsRefusedWithAReason) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--loss", "101"},
                                                                {"--loss", "-1"},
                                                                {"--loss", "nan"},
                                                                {"--duplicate-up", "x"},
                                                                {"--delay-ms", "1.5"},
                                                                {"--jitter-ms"},
                                                                {"--seed", "-3"},
                                                                {"--max-peers", "0"},
                                                                {"--log-format", "xml"},
                                                                {"--loss-sideways", "3"},
                                                                {"--forge-reject"},
                                                                {"--forge-reject", ""},
                                                                {"--forge-reject", "0"},
                                                                {"--forge-reject", "4"},
                                                                {"--forge-reject", "5,"},
                                                                {"--forge-reject", "5,,6"},
                                                                {"--forge-reject-up", "every"},
                                                                {"--forge-reject-sideways", "all"},
                                                                {"--idle-timeout-ms", "0"}}) {
    const auto o = parse_line(args);
    EXPECT_FALSE(o.ok()) << args[0];
    if (!o.ok()) {
      EXPECT_FALSE(o.error().reason.empty());
    }
  }
  EXPECT_FALSE(parse({"--upstream", "127.0.0.1:6000"}).ok());
  EXPECT_FALSE(parse({"--listen", "127.0.0.1:6000"}).ok());
  EXPECT_FALSE(parse({"--listen", "localhost:1", "--upstream", "127.0.0.1:6000"}).ok());
  EXPECT_FALSE(parse({"--listen", "127.0.0.1:1", "--upstream", "127.0.0.1:0"}).ok());
  EXPECT_FALSE(parse({"--listen", "::1:5", "--upstream", "127.0.0.1:6000"}).ok());
  const auto v6 = parse({"--listen", "[::1]:0", "--upstream", "[::1]:6000"});
  ASSERT_TRUE(v6.ok()) << v6.error().reason;
  EXPECT_EQ(v6->proxy.upstream.to_string(), "[::1]:6000");
  EXPECT_TRUE(parse({"--help"}).ok());
}

}  // namespace
}  // namespace u2u::impair
