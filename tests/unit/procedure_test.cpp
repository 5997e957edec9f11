// The whole procedure of the seed (steps 1-8) through the three state machines in memory, no sockets.
#include <gtest/gtest.h>

#include "crypto/kdf.hpp"
#include "protocol/key_schedule.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

std::vector<std::int64_t> steps_of(const InMemoryNetwork& net, std::string_view role) {
  std::vector<std::int64_t> steps;
  for (const auto& e : net.events(role, "step")) steps.push_back(num(e, "step"));
  return steps;
}

TEST(Procedure, Steps1To8AndKeyConfirmationEstablishTheSameKdAtSourceAndTarget) {
  TestPki pki;
  Testbed tb(pki);
  tb.run();

  // Steps 1-8 of the seed, then step 9: the source's LINK CONFIRM through the relay.
  EXPECT_EQ(steps_of(tb.net, "source-ue"), (std::vector<std::int64_t>{1, 8, 9}));
  EXPECT_EQ(steps_of(tb.net, "relay-ue"), (std::vector<std::int64_t>{2, 3, 6, 7, 9}));
  EXPECT_EQ(steps_of(tb.net, "target-ue"), (std::vector<std::int64_t>{4, 5, 9}));

  ASSERT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  const auto* source_keys = tb.source.keys();
  const auto* target_keys = tb.target.keys_for("source-ue");
  ASSERT_NE(source_keys, nullptr);
  ASSERT_NE(target_keys, nullptr);
  EXPECT_TRUE(source_keys->kd == target_keys->kd);
  EXPECT_TRUE(source_keys->kd_sess == target_keys->kd_sess);
  EXPECT_FALSE(source_keys->kd == source_keys->kd_sess);

  const auto src = tb.net.events("source-ue", "link_established");
  const auto dst = tb.net.events("target-ue", "link_established");
  ASSERT_EQ(src.size(), 1u);
  ASSERT_EQ(dst.size(), 1u);
  EXPECT_EQ(str(src[0], "kd_id"), str(dst[0], "kd_id"));
  EXPECT_EQ(str(src[0], "kd_sess_id"), str(dst[0], "kd_sess_id"));
  EXPECT_EQ(str(src[0], "session"), str(dst[0], "session"));
  EXPECT_EQ(str(src[0], "peer"), "target-ue");
  EXPECT_EQ(str(dst[0], "peer"), "source-ue");
  EXPECT_EQ(str(src[0], "relay"), "relay-ue");
  EXPECT_EQ(str(dst[0], "relay"), "relay-ue");
  EXPECT_EQ(str(src[0], "kd_id").size(), 8u);
}

TEST(Procedure, EverySessionHasFreshNoncesAndKdSessButTheSameStaticKd) {
  TestPki pki;
  Testbed tb(pki);
  tb.run();
  const std::string kd_id_1 = tb.source.keys()->kd_id;
  const std::string kd_sess_id_1 = tb.source.keys()->kd_sess_id;
  tb.run();
  ASSERT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  EXPECT_EQ(tb.source.keys()->kd_id, kd_id_1);  // KD is static-static ECDH: the seed's design
  EXPECT_NE(tb.source.keys()->kd_sess_id, kd_sess_id_1);
  EXPECT_TRUE(tb.source.keys()->kd_sess == tb.target.keys_for("source-ue")->kd_sess);
}

TEST(Procedure, TheRelayCannotComputeKdFromWhatItHolds) {
  TestPki pki;
  auto relay = pki.party("relay-ue", crypto::Role::kRelay, kRelayL2);
  auto source = pki.party("source-ue", crypto::Role::kUe, kSourceL2);
  auto target = pki.party("target-ue", crypto::Role::kUe, kTargetL2);
  const auto relay_key = relay.key;
  const auto source_pub = source.key->public_key();
  const auto target_pub = target.key->public_key();
  Testbed tb(std::move(source), std::move(relay), std::move(target));
  tb.run();
  const auto& kd = tb.source.keys()->kd;
  // The relay holds its own private key and both public keys: no ECDH it can run gives KD.
  for (const auto* pub : {&source_pub, &target_pub}) {
    auto z = relay_key->ecdh(*pub);
    ASSERT_TRUE(z.ok());
    EXPECT_FALSE(protocol::derive_kd(*z, "source-ue", "target-ue") == kd);
  }
  // And no datagram it saw carries KD or KD-sess.
  for (const auto& flight : tb.net.wire_log) {
    const auto& d = flight.datagram;
    for (const auto* secret : {&kd, &tb.source.keys()->kd_sess}) {
      const auto s = secret->reveal();
      EXPECT_EQ(std::search(d.begin(), d.end(), s.begin(), s.end()), d.end());
    }
  }
}

TEST(Procedure, KdIsTheTs33220KdfOverTheEcdhSecretWithBothUserInfoIds) {
  TestPki pki;
  auto source = pki.party("source-ue", crypto::Role::kUe, kSourceL2);
  auto target = pki.party("target-ue", crypto::Role::kUe, kTargetL2);
  const auto source_key = source.key;
  const auto target_pub = target.key->public_key();
  Testbed tb(std::move(source), pki.party("relay-ue", crypto::Role::kRelay, kRelayL2), std::move(target));
  tb.run();
  auto z = source_key->ecdh(target_pub);
  ASSERT_TRUE(z.ok());
  // S = FC || P0 || L0 || P1 || L1 built here by hand, independently of crypto::kdf_input.
  Bytes s{0xE0};
  for (std::string_view p : {"source-ue", "target-ue"}) {
    append(s, as_bytes(p));
    s.push_back(0x00);
    s.push_back(static_cast<std::uint8_t>(p.size()));
  }
  const auto expected = crypto::hmac_sha256(z->reveal(), s);
  EXPECT_TRUE(tb.source.keys()->kd == expected);
}

}  // namespace
}  // namespace u2u::test
