// The user-plane suite negotiation of steps 1 and 5 (docs/protocol.md 11.2): the target's choice among the source's
// offer, both inside signatures, so that a relay can downgrade neither; no common suite is REJECT #8.
#include <gtest/gtest.h>

#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using dataplane::Suite;
using namespace std::chrono_literals;

std::unique_ptr<Testbed> testbed(const Parties& p, std::vector<Suite> source_suites, std::vector<Suite> target_suites) {
  auto source = source_config(p.source);
  source.data_suites = std::move(source_suites);
  auto target = target_config(p.target);
  target.data_suites = std::move(target_suites);
  return std::make_unique<Testbed>(std::move(source), relay_config(p.relay), std::move(target));
}

bool is(const InFlight& f, wire::MessageType type) {
  const auto d = wire::decode_datagram(f.datagram);
  return d && d->message.type() == type;
}

std::size_t count_check(const Testbed& tb, std::string_view role, std::string_view check) {
  std::size_t n = 0;
  for (const auto& e : tb.net.events(role, "check_failed")) n += str(e, "check") == check ? 1 : 0;
  return n;
}

TEST(DataNegotiation, TheTargetChoosesItsOwnFirstPreferenceAmongTheOfferAndBothEndsLogIt) {
  const TestPki pki;
  const Parties p(pki);
  auto tb = testbed(p, {Suite::kNea2Nia2, Suite::kAes128Gcm}, {Suite::kAes128Gcm, Suite::kNea2Nia2});
  tb->run();
  ASSERT_TRUE(tb->source.confirmed());
  EXPECT_EQ(tb->source.keys()->data_suite, Suite::kAes128Gcm);
  EXPECT_EQ(tb->target.keys_for("source-ue")->data_suite, Suite::kAes128Gcm);
  EXPECT_EQ(str(tb->net.events("source-ue", "link_established").at(0), "data_suite"), "aes-128-gcm");
  EXPECT_EQ(str(tb->net.events("target-ue", "link_established").at(0), "data_suite"), "aes-128-gcm");
  // The offer goes in the source's order.
  const auto request = wire::decode_datagram(tb->net.wire_log[0].datagram);
  EXPECT_EQ(std::get<wire::DirectCommunicationRequest>(request->message.body).data_suites, (Bytes{0x01, 0x02}));
}

TEST(DataNegotiation, NoSuiteInCommonIsRefusedByTheTargetWithCause8AndTheNullCipherOnlyWhenBothAllowIt) {
  const TestPki pki;
  const Parties p(pki);
  // The source allows only the null cipher; the target, at its default, does not.
  auto tb = testbed(p, {Suite::kNullNia2}, {dataplane::kDefaultSuites.begin(), dataplane::kDefaultSuites.end()});
  tb->run();
  tb->fire_timers(later(test_now(), 60s));
  EXPECT_EQ(count_check(*tb, "target-ue", "no_common_suite"), 1u);
  const auto failed = tb->net.events("source-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(num(failed[0], "cause"), 8);
  EXPECT_TRUE(tb->net.events("target-ue", "link_established").empty());
  // Both allow it: chosen.
  auto both = testbed(p, {Suite::kNullNia2}, {Suite::kAes128Gcm, Suite::kNullNia2});
  both->run();
  ASSERT_TRUE(both->source.confirmed());
  EXPECT_EQ(both->source.keys()->data_suite, Suite::kNullNia2);
}

// The relay strips the source's preferred suite from the offer: SIGN-Source UE no longer verifies. Whether the
// relay forwards it as it came (the target refuses it) or the relay is the one checking (it refuses it itself),
// no link comes of it.
TEST(DataNegotiation, ARelayRemovingTheSourcesPreferredSuiteMakesTheHandshakeFail) {
  const TestPki pki;
  const Parties p(pki);
  auto tb = testbed(p, {Suite::kAes128Gcm, Suite::kNea2Nia2}, {Suite::kNea2Nia2, Suite::kAes128Gcm});
  tb->net.on_flight = [&](InFlight& f) {
    if (f.to != kRelayEndpoint || !is(f, wire::MessageType::kDirectCommunicationRequest)) return true;
    auto d = wire::decode_datagram(f.datagram);
    auto request = std::get<wire::DirectCommunicationRequest>(d->message.body);
    request.data_suites = {static_cast<std::uint8_t>(Suite::kNea2Nia2)};  // the signature stays
    f.datagram = wire::encode_datagram(d->source, d->destination, wire::encode(request));
    return true;
  };
  tb->run();
  tb->fire_timers(later(test_now(), 60s));
  EXPECT_GE(count_check(*tb, "relay-ue", "sign_source"), 1u);
  EXPECT_FALSE(tb->source.confirmed());
  EXPECT_TRUE(tb->net.events("target-ue", "link_established").empty());
}

// The relay changes the target's choice in the accept: SIGN-Target UE (and the accept MAC) no longer verify.
TEST(DataNegotiation, ARelayChangingTheChosenSuiteMakesTheSourceRefuseTheAccept) {
  const TestPki pki;
  const Parties p(pki);
  auto tb = testbed(p, {Suite::kAes128Gcm, Suite::kNea2Nia2}, {Suite::kAes128Gcm, Suite::kNea2Nia2});
  tb->net.on_flight = [&](InFlight& f) {
    if (f.to != kSourceEndpoint || !is(f, wire::MessageType::kDirectCommunicationAccept)) return true;
    auto d = wire::decode_datagram(f.datagram);
    auto accept = std::get<wire::DirectCommunicationAccept>(d->message.body);
    accept.data_suite = static_cast<std::uint8_t>(Suite::kNea2Nia2);
    accept.relay.reset();
    Bytes m = wire::encode(accept);  // the target's signature over the old choice stays
    wire::append_relay_identity(m, p.relay.user_info_id, p.relay.certificate.der());
    wire::append_signature(m, wire::Iei::kSign2Relay, *protocol::sign_step(*p.relay.signer, protocol::kSign2Relay, m));
    f.datagram = wire::encode_datagram(d->source, d->destination, m);
    return true;
  };
  tb->run();
  EXPECT_EQ(count_check(*tb, "source-ue", "sign_target"), 1u);
  EXPECT_FALSE(tb->source.confirmed());
}

}  // namespace
}  // namespace u2u::test
