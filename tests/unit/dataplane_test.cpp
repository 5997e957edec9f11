// The data plane in memory (issue 10): the replay window, the keys of TS 33.536 Annex A, and DataLink's protection
// of user data between the two ends, with every reason a PDU is dropped.
#include <gtest/gtest.h>

#include <random>

#include "crypto/hash.hpp"
#include "crypto/kdf.hpp"
#include "dataplane/data_link.hpp"

namespace u2u::test {
namespace {

using dataplane::Drop;
using dataplane::ReplayWindow;
using dataplane::Suite;
using Verdict = ReplayWindow::Verdict;

constexpr std::uint64_t kWindow = dataplane::kReplayWindowSize;

// ---------------------------------------------------------------------------------------------------------------
// Replay window.

TEST(ReplayWindow, TheFirstPduOfAnyCountIsFreshAndItsDuplicateIsNot) {
  for (std::uint64_t first : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{5000}}) {
    ReplayWindow w;
    EXPECT_EQ(w.check(first), Verdict::kFresh);
    EXPECT_TRUE(w.mark(first));
    EXPECT_EQ(w.check(first), Verdict::kDuplicate);
    EXPECT_FALSE(w.mark(first));
  }
}

TEST(ReplayWindow, ReorderingWithinTheWindowIsDeliveredOnceEach) {
  ReplayWindow w;
  std::vector<std::uint64_t> counts(3000);
  for (std::uint64_t i = 0; i < counts.size(); ++i) counts[i] = i;
  std::mt19937 rng(3);
  std::shuffle(counts.begin(), counts.begin() + 1000, rng);  // reordered within 1,000 of each other
  for (auto c : counts) EXPECT_TRUE(w.mark(c)) << c;
  for (auto c : counts) EXPECT_EQ(w.check(c), Verdict::kDuplicate) << c;
  EXPECT_EQ(w.next_expected(), 3000u);
}

TEST(ReplayWindow, JustInsideTheWindowIsFreshAndJustOutsideIsTooOld) {
  ReplayWindow w;
  const std::uint64_t top = 100000;
  ASSERT_TRUE(w.mark(top));
  EXPECT_EQ(w.check(top + 1 - kWindow), Verdict::kFresh);  // the oldest COUNT still tracked
  EXPECT_EQ(w.check(top - kWindow), Verdict::kTooOld);
  EXPECT_TRUE(w.mark(top + 1 - kWindow));
  EXPECT_EQ(w.check(top + 1 - kWindow), Verdict::kDuplicate);
  EXPECT_FALSE(w.mark(top - kWindow));
}

TEST(ReplayWindow, AJumpFarAheadForgetsTheOldRangeWithoutFalseDuplicates) {
  ReplayWindow w;
  for (std::uint64_t c = 0; c < 5000; ++c) ASSERT_TRUE(w.mark(c));
  const std::uint64_t far = 5000 + 10 * dataplane::kReplayWindowBits + 17;
  EXPECT_TRUE(w.mark(far));
  // Everything behind the new top within the window is fresh (nothing was marked there), whatever aliases in the
  // ring; everything older is too old.
  for (std::uint64_t c = far - kWindow + 1; c < far; ++c) ASSERT_EQ(w.check(c), Verdict::kFresh) << c;
  EXPECT_EQ(w.check(4999), Verdict::kTooOld);
}

TEST(ReplayWindow, ACountSkippedOnALaterTurnOfTheRingStaysFreshWhateverItsSlotHeldBefore) {
  // In order, every COUNT but a few of each word on the later turns of the ring: each slot of a skipped COUNT held a
  // delivered COUNT one turn earlier, and must read fresh all the while the skipped one is inside the window.
  ReplayWindow w;
  const auto skipped = [](std::uint64_t c) { return c >= dataplane::kReplayWindowBits && c % 64 < 3; };
  for (std::uint64_t c = 0; c < 6 * dataplane::kReplayWindowBits; ++c) {
    if (!skipped(c)) {
      ASSERT_TRUE(w.mark(c)) << c;
    }
    for (std::uint64_t back : {std::uint64_t{1}, std::uint64_t{64}, kWindow - 1}) {
      if (c >= back && skipped(c - back)) {
        ASSERT_EQ(w.check(c - back), Verdict::kFresh) << c - back << " at " << c;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keys.

TEST(DataKeys, NrpekAndNrpikAreTheTs33536KdfWithFc7eAndTheAlgorithmIdentity) {
  crypto::SecretBytes kd_sess(Bytes(32, 0x4B));
  const auto expected = [&](std::uint8_t type, std::uint8_t id) {
    // S = FC || P0 || L0 || P1 || L1 (TS 33.220 B.2.0), keyed by KD-sess; the key is the 16 least significant octets.
    const Bytes s{0x7E, type, 0x00, 0x01, id, 0x00, 0x01};
    const auto full = crypto::hmac_sha256(kd_sess.reveal(), s);
    return Bytes(full.reveal().end() - 16, full.reveal().end());
  };
  const auto nea2 = dataplane::derive_nrp_keys(kd_sess, Suite::kNea2Nia2);
  EXPECT_EQ(Bytes(nea2.nrpek.reveal().begin(), nea2.nrpek.reveal().end()), expected(0x00, 0x02));
  EXPECT_EQ(Bytes(nea2.nrpik.reveal().begin(), nea2.nrpik.reveal().end()), expected(0x01, 0x02));
  const auto gcm = dataplane::derive_nrp_keys(kd_sess, Suite::kAes128Gcm);
  EXPECT_EQ(Bytes(gcm.nrpek.reveal().begin(), gcm.nrpek.reveal().end()), expected(0x00, 0xF2));
  EXPECT_EQ(gcm.nrpik.size(), 0u);
  const auto null = dataplane::derive_nrp_keys(kd_sess, Suite::kNullNia2);
  EXPECT_EQ(null.nrpek.size(), 0u);
  EXPECT_EQ(Bytes(null.nrpik.reveal().begin(), null.nrpik.reveal().end()), expected(0x01, 0x02));
}

TEST(DataKeys, TheTargetChoosesItsOwnFirstPreferenceAmongWhatTheSourceOffered) {
  const std::vector<Suite> offered{Suite::kNea2Nia2, Suite::kAes128Gcm};
  EXPECT_EQ(dataplane::choose_suite(offered, std::vector<Suite>{Suite::kAes128Gcm, Suite::kNea2Nia2}),
            Suite::kAes128Gcm);
  EXPECT_EQ(dataplane::choose_suite(offered, std::vector<Suite>{Suite::kNea2Nia2}), Suite::kNea2Nia2);
  EXPECT_EQ(dataplane::choose_suite(offered, std::vector<Suite>{Suite::kNullNia2}), std::nullopt);
  EXPECT_EQ(dataplane::choose_suite(std::vector<Suite>{}, dataplane::kDefaultSuites), std::nullopt);
}

// ---------------------------------------------------------------------------------------------------------------
// DataLink: the source's and the target's ends of one link.

constexpr wire::Layer2Id kSource = 0x000101, kRelay = 0x000202, kTarget = 0x000303;

struct Ends {
  dataplane::DataLink source;
  dataplane::DataLink target;
};

Ends ends(Suite suite, std::uint8_t kd_fill = 0x21) {
  const crypto::SecretBytes kd_sess(Bytes(32, kd_fill));
  wire::Digest digest{};
  digest.fill(0xD1);
  const auto config = [&](std::uint8_t direction, wire::Layer2Id own) {
    return dataplane::DataLinkConfig{
        suite, dataplane::derive_nrp_keys(kd_sess, suite), direction, dataplane::link_label(digest), 0xBEEF, own,
        kRelay};
  };
  return {dataplane::DataLink::create(config(dataplane::kDirectionFromSource, kSource)).value(),
          dataplane::DataLink::create(config(dataplane::kDirectionFromTarget, kTarget)).value()};
}

Bytes protect(dataplane::DataLink& link, std::uint8_t bearer, const Bytes& payload) {
  Bytes out(wire::kMaxDatagramSize);
  auto n = link.protect(bearer, payload, out);
  EXPECT_TRUE(n.ok()) << n.error().reason;
  out.resize(n.ok() ? *n : 0);
  return out;
}

std::variant<dataplane::Delivery, Drop> receive(dataplane::DataLink& link, Bytes& datagram) {
  return link.unprotect(datagram);
}

Bytes delivered(const std::variant<dataplane::Delivery, Drop>& r) {
  const auto* d = std::get_if<dataplane::Delivery>(&r);
  return d ? Bytes(d->payload.begin(), d->payload.end()) : Bytes{0xDE, 0xAD};
}

std::optional<Drop> dropped(const std::variant<dataplane::Delivery, Drop>& r) {
  if (const auto* d = std::get_if<Drop>(&r)) return *d;
  return std::nullopt;
}

class EverySuite : public ::testing::TestWithParam<Suite> {};
INSTANTIATE_TEST_SUITE_P(DataLink, EverySuite, ::testing::Values(Suite::kAes128Gcm, Suite::kNea2Nia2, Suite::kNullNia2),
                         [](const auto& p) {
                           std::string n(dataplane::suite_name(p.param));
                           std::erase(n, '-');
                           return n;
                         });

TEST_P(EverySuite, EveryPayloadSizeRoundTripsEachWayAndTheDatagramFitsOneUdpPayload) {
  auto [source, target] = ends(GetParam());
  std::mt19937 rng(11);
  ASSERT_EQ(source.max_payload(), wire::kMaxDatagramSize - dataplane::kPduPrefixSize - trailer_size(GetParam()));
  for (std::size_t size = 0; size <= source.max_payload(); size += size < 64 ? 1 : 97) {
    Bytes payload(size);
    for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
    for (auto* pair : {&source, &target}) {
      auto& from = *pair;
      auto& to = pair == &source ? target : source;
      Bytes datagram = protect(from, 3, payload);
      ASSERT_EQ(datagram.size(), from.datagram_size(size));
      ASSERT_LE(datagram.size(), wire::kMaxDatagramSize);
      const auto r = receive(to, datagram);
      ASSERT_EQ(delivered(r), payload) << "size " << size;
      EXPECT_EQ(std::get<dataplane::Delivery>(r).bearer, 3);
    }
  }
  Bytes full(source.max_payload() + 1);
  Bytes out(2 * wire::kMaxDatagramSize);
  EXPECT_FALSE(source.protect(0, full, out).ok());
}

TEST_P(EverySuite, TheRelayNeverSeesThePlaintextUnlessTheSuiteIsTheNullCipher) {
  auto [source, target] = ends(GetParam());
  const std::string marker = "PLAINTEXT-MARKER-4f1c";
  Bytes payload(marker.begin(), marker.end());
  payload.resize(200, 0x00);
  const Bytes datagram = protect(source, 0, payload);
  const bool visible = std::search(datagram.begin(), datagram.end(), marker.begin(), marker.end()) != datagram.end();
  EXPECT_EQ(visible, !dataplane::ciphers(GetParam()));
}

TEST_P(EverySuite, AnyFlippedBitOfHeaderPayloadOrTrailerIsDroppedAndNothingDelivered) {
  auto [source, target] = ends(GetParam());
  const Bytes payload(40, 0x33);
  const Bytes genuine = protect(source, 1, payload);
  for (std::size_t octet = wire::kHeaderSize; octet < genuine.size(); ++octet) {
    Bytes d = genuine;
    d[octet] ^= 0x10;
    const auto r = receive(target, d);
    ASSERT_TRUE(dropped(r).has_value()) << "octet " << octet << " delivered";
  }
  // The genuine one still goes through afterwards: no failed PDU moved the window.
  Bytes d = genuine;
  EXPECT_EQ(delivered(receive(target, d)), payload);
  const auto& dropped_by = target.counters().dropped;
  EXPECT_GT(dropped_by[static_cast<std::size_t>(Drop::kIntegrity)], 0u);
  EXPECT_GT(dropped_by[static_cast<std::size_t>(Drop::kLink)], 0u);    // a flipped link label
  EXPECT_GT(dropped_by[static_cast<std::size_t>(Drop::kKeys)], 0u);    // a flipped KD-sess ID
  EXPECT_GT(dropped_by[static_cast<std::size_t>(Drop::kFormat)], 0u);  // a type octet or BEARER over 31
}

TEST_P(EverySuite, ADuplicateIsDroppedAndReorderingWithinTheWindowIsDelivered) {
  auto [source, target] = ends(GetParam());
  std::vector<Bytes> sent;
  for (int i = 0; i < 100; ++i) sent.push_back(protect(source, 0, Bytes(10, static_cast<std::uint8_t>(i))));
  std::mt19937 rng(5);
  std::shuffle(sent.begin(), sent.end(), rng);
  for (auto d : sent) EXPECT_FALSE(dropped(receive(target, d)).has_value());
  for (auto d : sent) EXPECT_EQ(dropped(receive(target, d)), Drop::kDuplicate);
  EXPECT_EQ(target.counters().received, 100u);
  EXPECT_EQ(target.counters().dropped[static_cast<std::size_t>(Drop::kDuplicate)], 100u);
}

TEST_P(EverySuite, APduOlderThanTheWindowIsDroppedAsTooOld) {
  auto [source, target] = ends(GetParam());
  Bytes old = protect(source, 0, Bytes(8, 1));
  source.set_next_count(kWindow + 5);
  Bytes recent = protect(source, 0, Bytes(8, 2));
  EXPECT_FALSE(dropped(receive(target, recent)).has_value());
  EXPECT_EQ(dropped(receive(target, old)), Drop::kTooOld);
}

TEST_P(EverySuite, APduOfAnotherKeyOrReflectedBackToItsSenderIsDropped) {
  auto [source, target] = ends(GetParam());
  auto [other_source, other_target] = ends(GetParam(), 0x99);  // same label and KD-sess ID, other keys
  Bytes d = protect(other_source, 0, Bytes(16, 7));
  EXPECT_EQ(dropped(receive(target, d)), Drop::kIntegrity);
  // The relay sending the source's own PDU back to it: the other DIRECTION, so the integrity check fails.
  Bytes reflected = protect(source, 0, Bytes(16, 7));
  EXPECT_EQ(dropped(receive(source, reflected)), Drop::kIntegrity);
}

TEST_P(EverySuite, AtTheCountLimitTheSenderStopsAndCountNeverRepeats) {
  auto [source, target] = ends(GetParam());
  source.set_next_count(dataplane::kCountLimit - 1);
  Bytes out(wire::kMaxDatagramSize);
  ASSERT_TRUE(source.protect(0, Bytes(4, 1), out).ok());
  EXPECT_TRUE(source.exhausted());
  const auto refused = source.protect(0, Bytes(4, 1), out);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().check, "count_exhausted");
  EXPECT_EQ(source.next_count(), dataplane::kCountLimit);
}

TEST(DataLink, ShortOrOversizeDatagramsAreDroppedAsFormatErrors) {
  auto [source, target] = ends(Suite::kAes128Gcm);
  Bytes genuine = protect(source, 0, Bytes(30, 1));
  for (std::size_t cut = 0; cut < dataplane::kPduPrefixSize + dataplane::kGcmTagSize; ++cut) {
    Bytes d(genuine.begin(), genuine.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(dropped(receive(target, d)), Drop::kFormat) << cut;
  }
  Bytes oversize(wire::kMaxDatagramSize + 1, 0);
  std::copy(genuine.begin(), genuine.begin() + dataplane::kPduPrefixSize, oversize.begin());
  EXPECT_EQ(dropped(receive(target, oversize)), Drop::kFormat);
}

}  // namespace
}  // namespace u2u::test
