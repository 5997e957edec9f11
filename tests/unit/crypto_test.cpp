// The crypto layer (lib/crypto): the TS 33.220 KDF, P-256 ECDH and ECDSA, private key PEM handling, SecretBytes,
// and the identity binding of seed step 0 (certificates checked by the TrustStore).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/hash.hpp"
#include "crypto/kdf.hpp"
#include "crypto/keys.hpp"
#include "crypto/secret_bytes.hpp"
#include "unit/pki.hpp"

namespace u2u::test {
namespace {

Bytes hex(std::string_view text) {
  Bytes out;
  if (!from_hex(text, out)) ADD_FAILURE() << "bad hex in the test: " << text;
  return out;
}

crypto::PrivateKey fresh_key() {
  auto key = crypto::PrivateKey::generate();
  if (!key) ADD_FAILURE() << key.error().reason;
  return std::move(key).value();
}

// HMAC-SHA-256 by its definition (RFC 2104), on top of crypto::sha256 only: independent of crypto::hmac_sha256.
Bytes reference_hmac_sha256(ByteView key, ByteView data) {
  constexpr std::size_t kBlock = 64;
  Bytes k(key.begin(), key.end());
  if (k.size() > kBlock) {
    const auto digest = crypto::sha256(k);
    k.assign(digest.begin(), digest.end());
  }
  k.resize(kBlock, 0x00);
  Bytes inner(kBlock), outer(kBlock);
  for (std::size_t i = 0; i < kBlock; ++i) {
    inner[i] = k[i] ^ 0x36;
    outer[i] = k[i] ^ 0x5C;
  }
  const auto inner_digest = crypto::sha256({ByteView(inner), data});
  const auto outer_digest = crypto::sha256({ByteView(outer), ByteView(inner_digest)});
  return Bytes(outer_digest.begin(), outer_digest.end());
}

// ---------------------------------------------------------------------------------------------------------------
// Hash and KDF (TS 33.220 Annex B.2.0)

TEST(CryptoHash, Sha256OfAbcIsTheFips180Vector) {
  const auto digest = crypto::sha256(as_bytes("abc"));
  EXPECT_EQ(to_hex(digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoHash, HmacSha256MatchesRfc4231TestCase2) {
  const auto mac = crypto::hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
  EXPECT_EQ(to_hex(mac.reveal()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Kdf, InputIsFcThenEachParameterFollowedByItsTwoOctetBigEndianLength) {
  const Bytes p1{0x01, 0x02};
  const Bytes s = crypto::kdf_input(0x55, {as_bytes("abc"), p1});
  EXPECT_EQ(s, (Bytes{0x55, 'a', 'b', 'c', 0x00, 0x03, 0x01, 0x02, 0x00, 0x02}));
}

TEST(Kdf, LengthAbove255IsWrittenHighOctetFirst) {
  const Bytes p0(0x0102, 0xAA);  // 258 octets: L0 = 0x01 0x02
  const Bytes s = crypto::kdf_input(0x10, {p0});
  ASSERT_EQ(s.size(), 1 + p0.size() + 2);
  EXPECT_EQ(s.front(), 0x10);
  EXPECT_EQ(s[s.size() - 2], 0x01);
  EXPECT_EQ(s[s.size() - 1], 0x02);
}

TEST(Kdf, EmptyParameterStillCarriesItsZeroLength) {
  EXPECT_EQ(crypto::kdf_input(0x20, {ByteView{}}), (Bytes{0x20, 0x00, 0x00}));
  EXPECT_EQ(crypto::kdf_input(0x20, {}), (Bytes{0x20}));
}

TEST(Kdf, OutputIsHmacSha256OfTheKeyOverS) {
  const crypto::SecretBytes key(hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
  const Bytes p0 = hex("00112233445566778899aabbccddeeff");
  const auto derived = crypto::kdf(key, 0x7E, {p0, as_bytes("target-ue")});
  // S built here by hand, then HMAC computed by the reference implementation above.
  Bytes s{0x7E};
  append(s, p0);
  append(s, Bytes{0x00, 0x10});
  append(s, as_bytes("target-ue"));
  append(s, Bytes{0x00, 0x09});
  EXPECT_EQ(derived.size(), 32u);
  EXPECT_EQ(Bytes(derived.reveal().begin(), derived.reveal().end()), reference_hmac_sha256(key.reveal(), s));
}

TEST(Kdf, KnownAnswerForSourceAndTargetUserInfoIds) {
  // Computed independently with Python 3:
  //   import hmac, hashlib
  //   key = bytes(range(32))
  //   S = bytes([0x55]) + b'source-ue' + (9).to_bytes(2, 'big') + b'target-ue' + (9).to_bytes(2, 'big')
  //   S.hex()  -> 55736f757263652d756500097461726765742d75650009
  //   hmac.new(key, S, hashlib.sha256).hexdigest()
  Bytes key_bytes(32);
  for (std::size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<std::uint8_t>(i);
  const crypto::SecretBytes key{ByteView(key_bytes)};
  EXPECT_EQ(to_hex(crypto::kdf_input(0x55, {as_bytes("source-ue"), as_bytes("target-ue")})),
            "55736f757263652d756500097461726765742d75650009");
  const auto derived = crypto::kdf(key, 0x55, {as_bytes("source-ue"), as_bytes("target-ue")});
  EXPECT_EQ(to_hex(derived.reveal()), "ba4b7a7ecf645c50865960aa9330634f63147468918e3808243d89e1b3f4d639");
}

TEST(Kdf, DifferentFcOrParameterOrderGivesADifferentKey) {
  const crypto::SecretBytes key(Bytes(32, 0x42));
  const auto base = crypto::kdf(key, 0x55, {as_bytes("a"), as_bytes("b")});
  EXPECT_FALSE(base == crypto::kdf(key, 0x56, {as_bytes("a"), as_bytes("b")}));
  EXPECT_FALSE(base == crypto::kdf(key, 0x55, {as_bytes("b"), as_bytes("a")}));
  // The lengths separate the parameters: "ab" || "" is not "a" || "b".
  EXPECT_FALSE(base == crypto::kdf(key, 0x55, {as_bytes("ab"), as_bytes("")}));
}

// ---------------------------------------------------------------------------------------------------------------
// ECDH

TEST(CryptoEcdh, BothSidesDeriveTheSame32OctetSecretAndAThirdKeyDoesNot) {
  const auto a = fresh_key();
  const auto b = fresh_key();
  const auto c = fresh_key();
  auto ab = a.ecdh(b.public_key());
  auto ba = b.ecdh(a.public_key());
  auto ac = a.ecdh(c.public_key());
  ASSERT_TRUE(ab.ok()) << ab.error().reason;
  ASSERT_TRUE(ba.ok()) << ba.error().reason;
  ASSERT_TRUE(ac.ok()) << ac.error().reason;
  EXPECT_EQ(ab->size(), crypto::kEcdhSecretSize);
  EXPECT_EQ(ab->size(), 32u);
  EXPECT_TRUE(*ab == *ba);
  EXPECT_FALSE(*ab == *ac);
}

// ---------------------------------------------------------------------------------------------------------------
// ECDSA

TEST(CryptoEcdsa, SignatureVerifiesUnderTheSignersPublicKeyOnly) {
  const auto key = fresh_key();
  const auto other = fresh_key();
  const Bytes message = hex("0102030405060708090a");
  auto sig = key.sign(message);
  ASSERT_TRUE(sig.ok()) << sig.error().reason;
  EXPECT_TRUE(key.public_key().verify(message, *sig).ok());
  const Status wrong_key = other.public_key().verify(message, *sig);
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.error().cause, Cause::kAuthenticationFailure);
}

TEST(CryptoEcdsa, FlippedBitInTheMessageFailsWithAuthenticationFailure) {
  const auto key = fresh_key();
  Bytes message(100, 0x33);
  auto sig = key.sign(message);
  ASSERT_TRUE(sig.ok());
  for (std::size_t bit : {0u, 7u, 399u, 799u}) {
    SCOPED_TRACE(bit);
    Bytes altered = message;
    altered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    const Status s = key.public_key().verify(altered, *sig);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().cause, Cause::kAuthenticationFailure);
  }
}

TEST(CryptoEcdsa, FlippedBitInTheSignatureFailsWithAuthenticationFailure) {
  const auto key = fresh_key();
  const Bytes message = hex("cafebabe");
  auto sig = key.sign(message);
  ASSERT_TRUE(sig.ok());
  // A bit of r, of s, and the lowest bit of each.
  for (std::size_t bit : {0u, 255u, 256u, 511u}) {
    SCOPED_TRACE(bit);
    crypto::EcdsaSignature altered = *sig;
    altered[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    const Status s = key.public_key().verify(message, altered);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().cause, Cause::kAuthenticationFailure);
  }
}

TEST(CryptoEcdsa, SignatureOfTheWrongLengthFailsWithAuthenticationFailure) {
  const auto key = fresh_key();
  const Bytes message = hex("cafebabe");
  auto sig = key.sign(message);
  ASSERT_TRUE(sig.ok());
  for (std::size_t size : {0u, 63u, 65u}) {
    Bytes bad(sig->begin(), sig->end());
    bad.resize(size, 0x00);
    const Status s = key.public_key().verify(message, bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().cause, Cause::kAuthenticationFailure);
  }
}

TEST(CryptoEcdsa, EverySignatureIsLowS) {
  // n/2 (rounded down) for P-256, n = FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551;
  // computed with Python 3: '%064X' % (n // 2).
  const Bytes half_n = hex("7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8");
  const auto key = fresh_key();
  // Without normalisation about half of all signatures have s > n/2: 64 of them all low by chance is 2^-64.
  for (int i = 0; i < 64; ++i) {
    SCOPED_TRACE(i);
    const Bytes message{static_cast<std::uint8_t>(i), 0x5A};
    auto sig = key.sign(message);
    ASSERT_TRUE(sig.ok());
    const ByteView s = ByteView(*sig).last(32);
    // Both big-endian and 32 octets: lexicographic order is numeric order.
    EXPECT_FALSE(std::lexicographical_compare(half_n.begin(), half_n.end(), s.begin(), s.end()))
        << "s = " << to_hex(s) << " exceeds n/2";
    EXPECT_TRUE(key.public_key().verify(message, *sig).ok());
  }
}

// P-256's group order n, big-endian (FIPS 186-4 D.1.2.3); (r, n - s) is the malleable twin of (r, s).
constexpr std::string_view kP256OrderHex = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

// n - s for a 32-octet big-endian s < n, by schoolbook subtraction: independent of crypto::ecdsa_twin.
Bytes order_minus(ByteView s) {
  const Bytes n = hex(kP256OrderHex);
  Bytes out(32);
  int borrow = 0;
  for (std::size_t i = 32; i-- > 0;) {
    int d = n[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(d + 256 * borrow);
  }
  return out;
}

// The audit's malleability finding: a racing injector replaces s by n - s. ECDSA alone accepts that twin for the
// same message and key, so it must be refused by the low-S rule, while the genuine (low-S) signature verifies.
TEST(CryptoEcdsa, HighSTwinOfAGenuineSignatureIsRefusedWhileTheOriginalVerifies) {
  const auto key = fresh_key();
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    const Bytes message{0x44, 0x43, 0x52, static_cast<std::uint8_t>(i)};
    const auto genuine = key.sign(message);
    ASSERT_TRUE(genuine.ok()) << genuine.error().reason;
    ASSERT_TRUE(key.public_key().verify(message, *genuine).ok());

    // The twin by hand: same r, s' = n - s.
    crypto::EcdsaSignature forged = *genuine;
    const Bytes twin_s = order_minus(ByteView(*genuine).last(32));
    std::copy(twin_s.begin(), twin_s.end(), forged.begin() + 32);
    ASSERT_NE(forged, *genuine);
    // crypto::ecdsa_twin builds the same signature, both ways.
    const auto twin = crypto::ecdsa_twin(*genuine);
    ASSERT_TRUE(twin.ok()) << twin.error().reason;
    EXPECT_EQ(*twin, forged);
    const auto back = crypto::ecdsa_twin(forged);
    ASSERT_TRUE(back.ok()) << back.error().reason;
    EXPECT_EQ(*back, *genuine);

    const Status refused = key.public_key().verify(message, forged);
    ASSERT_FALSE(refused.ok()) << "the high-S twin of a genuine signature verified";
    EXPECT_EQ(refused.error().cause, Cause::kAuthenticationFailure);
    EXPECT_EQ(refused.error().check, "signature_high_s") << refused.error().reason;
    EXPECT_TRUE(key.public_key().verify(message, *genuine).ok());
  }
}

TEST(CryptoEcdsa, TwinOfASignatureWhoseSIsNotBelowTheOrderIsAnError) {
  crypto::EcdsaSignature sig{};
  sig[0] = 0x01;  // r = 2^248, s = 0
  EXPECT_FALSE(crypto::ecdsa_twin(sig).ok()) << "s = 0";
  const Bytes n = hex(kP256OrderHex);
  std::copy(n.begin(), n.end(), sig.begin() + 32);
  EXPECT_FALSE(crypto::ecdsa_twin(sig).ok()) << "s = n";
  sig[63] = 0x50;  // s = n - 1
  const auto twin = crypto::ecdsa_twin(sig);
  ASSERT_TRUE(twin.ok()) << twin.error().reason;
  EXPECT_EQ(to_hex(ByteView(*twin).last(32)), std::string(63, '0') + "1");
}

// ---------------------------------------------------------------------------------------------------------------
// Private key PEM

// A secp384r1 key, made for this test with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp384r1`.
constexpr std::string_view kSecp384r1Pem = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAeOF2kLtiffR6rbzR2
VBe9MVS3+ffhu7ZbAgf+xpGyh57r5mM34EjTfVwiMq/Uz7ihZANiAARV9nsksSq1
NsYr8NCbUnwSLflyf5hgW1GZPVthRuFpeTBThj+k2/Wajfg9pz1+Ps9RVNrJlU25
nFV9u30ucxExEaeof/Xo7LEj7U0R9ORvtfdomLsiIAzFrfwg3inz3c0=
-----END PRIVATE KEY-----
)";

TEST(CryptoPrivateKey, PemRoundTripKeepsTheKeyPair) {
  const auto key = fresh_key();
  const auto pem = key.to_pem();
  const std::string text(pem.reveal().begin(), pem.reveal().end());
  EXPECT_EQ(text.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << "not PKCS#8 PEM";
  auto loaded = crypto::PrivateKey::from_pem(text);
  ASSERT_TRUE(loaded.ok()) << loaded.error().reason;
  EXPECT_TRUE(loaded->public_key() == key.public_key());
  const Bytes message = hex("00ff00ff");
  auto sig = loaded->sign(message);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(key.public_key().verify(message, *sig).ok());
  EXPECT_FALSE(loaded->public_key() == fresh_key().public_key());
}

TEST(CryptoPrivateKey, Secp384r1KeyIsRefusedAsNotP256) {
  auto key = crypto::PrivateKey::from_pem(kSecp384r1Pem);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().check, "private_key");
  EXPECT_NE(key.error().reason.find("P-256"), std::string::npos) << key.error().reason;
}

TEST(CryptoPrivateKey, TextThatIsNotAPemKeyIsRefused) {
  for (std::string_view text : {std::string_view(""), std::string_view("not a key"),
                                std::string_view("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}) {
    auto key = crypto::PrivateKey::from_pem(text);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().check, "private_key");
    EXPECT_FALSE(key.error().reason.empty());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SecretBytes

TEST(SecretBytes, EqualityComparesContentAndLength) {
  const crypto::SecretBytes a(hex("00112233"));
  EXPECT_TRUE(a == crypto::SecretBytes(hex("00112233")));
  EXPECT_FALSE(a == crypto::SecretBytes(hex("00112234")));  // last octet differs
  EXPECT_FALSE(a == crypto::SecretBytes(hex("80112233")));  // first octet differs
  EXPECT_FALSE(a == crypto::SecretBytes(hex("001122")));    // a prefix
  EXPECT_FALSE(a == crypto::SecretBytes(hex("0011223300")));
  EXPECT_FALSE(a == crypto::SecretBytes());
  EXPECT_TRUE(crypto::SecretBytes() == crypto::SecretBytes());
  EXPECT_TRUE(a == a.clone());
}

TEST(SecretBytes, ConstantTimeEqualIsFalseForDifferentLengths) {
  const Bytes a = hex("0011");
  EXPECT_TRUE(crypto::constant_time_equal(a, hex("0011")));
  EXPECT_FALSE(crypto::constant_time_equal(a, hex("0012")));
  EXPECT_FALSE(crypto::constant_time_equal(a, hex("001100")));
  EXPECT_FALSE(crypto::constant_time_equal(hex("001100"), a));  // longer first: no prefix comparison
  EXPECT_FALSE(crypto::constant_time_equal(ByteView(a).first(0), a));
  EXPECT_TRUE(crypto::constant_time_equal(ByteView{}, ByteView{}));
}

TEST(SecretBytes, MoveLeavesTheSourceEmpty) {
  crypto::SecretBytes a(hex("deadbeef"));
  crypto::SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is what is tested
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(to_hex(b.reveal()), "deadbeef");

  crypto::SecretBytes c(hex("01"));
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(to_hex(c.reveal()), "deadbeef");
}

TEST(SecretBytes, LastTakesTheTrailingOctets) {
  const crypto::SecretBytes key(hex("0102030405"));
  EXPECT_EQ(to_hex(key.last(2).reveal()), "0405");
  EXPECT_EQ(to_hex(key.last(1).reveal()), "05");
  EXPECT_TRUE(key.last(0).empty());
  EXPECT_EQ(to_hex(key.last(5).reveal()), "0102030405");
  EXPECT_EQ(to_hex(key.last(9).reveal()), "0102030405");  // more than there is: the whole secret
  EXPECT_EQ(to_hex(key.reveal()), "0102030405");          // the source is unchanged
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates and the TrustStore (seed step 0)

struct Issued {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
};

Issued issue(const crypto::CertificateAuthority& ca, const std::string& cn, crypto::Role role,
             WallTime not_before = test_now().wall - 1h, WallTime not_after = test_now().wall + 24h * 30) {
  auto key = fresh_key();
  auto cert = ca.issue({cn, role, not_before, not_after}, key.public_key());
  if (!cert) ADD_FAILURE() << cert.error().reason;
  return {std::move(key), std::move(cert).value()};
}

::testing::AssertionResult refused_by(const Result<crypto::VerifiedPeer>& result, std::string_view check) {
  if (result.ok()) return ::testing::AssertionFailure() << "verified \"" << result->user_info_id << "\"";
  const Error& e = result.error();
  if (e.check != check) {
    return ::testing::AssertionFailure() << "check \"" << e.check << "\" instead of \"" << check << "\": " << e.reason;
  }
  if (e.cause != Cause::kAuthenticationFailure) {
    return ::testing::AssertionFailure() << "cause " << static_cast<int>(e.cause) << " instead of #6";
  }
  if (e.reason.empty()) return ::testing::AssertionFailure() << "no reason";
  return ::testing::AssertionSuccess();
}

TEST(TrustStore, CertificateFromTheConfiguredCaGivesAVerifiedPeerWithTheClaimedIdAndKey) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe);
  auto peer = pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall);
  ASSERT_TRUE(peer.ok()) << peer.error().reason;
  EXPECT_EQ(peer->user_info_id, "source-ue");
  EXPECT_TRUE(peer->public_key == ue.key.public_key());
  EXPECT_EQ(peer->serial_hex, ue.certificate.serial_hex());

  const auto relay = issue(pki.ca, "relay-ue", crypto::Role::kRelay);
  auto relay_peer = pki.trust->verify(relay.certificate.der(), "relay-ue", crypto::Role::kRelay, test_now().wall);
  ASSERT_TRUE(relay_peer.ok()) << relay_peer.error().reason;
  EXPECT_EQ(relay_peer->user_info_id, "relay-ue");
}

TEST(TrustStore, CertificateFromAnotherCaWithTheSameNameIsRefusedAsCertificateChain) {
  TestPki pki;
  TestPki impostor;  // also named "test-ca", with its own key
  const auto ue = issue(impostor.ca, "source-ue", crypto::Role::kUe);
  EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_chain"));
}

TEST(TrustStore, CertificateWithAnAlteredSubjectIsRefusedAsCertificateChain) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe);
  Bytes der = ue.certificate.der();
  const std::string_view cn = "source-ue";
  auto at = std::search(der.begin(), der.end(), cn.begin(), cn.end());
  ASSERT_NE(at, der.end());
  *at = 'S';  // "Source-ue": the CA's signature no longer matches
  EXPECT_TRUE(refused_by(pki.trust->verify(der, "Source-ue", crypto::Role::kUe, test_now().wall), "certificate_chain"));
}

TEST(TrustStore, BytesThatAreNotACertificateAreRefusedAsCertificateFormat) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe);
  Bytes der = ue.certificate.der();
  der.push_back(0x00);  // trailing octet after the DER
  EXPECT_TRUE(
      refused_by(pki.trust->verify(der, "source-ue", crypto::Role::kUe, test_now().wall), "certificate_format"));
  EXPECT_TRUE(refused_by(pki.trust->verify(hex("3003020101"), "source-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_format"));
}

TEST(TrustStore, ExpiredCertificateIsRefusedAsCertificateValidity) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe, test_now().wall - 48h, test_now().wall - 1h);
  EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_validity"));
}

TEST(TrustStore, NotYetValidCertificateIsRefusedAsCertificateValidity) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe, test_now().wall + 1h, test_now().wall + 48h);
  EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_validity"));
}

TEST(TrustStore, ValidityIsCheckedOnEveryCallEvenWhenTheChainCheckIsCached) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe, test_now().wall - 1h, test_now().wall + 1h);
  ASSERT_TRUE(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall).ok());
  EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall + 2h),
                         "certificate_validity"));
}

TEST(TrustStore, CnDifferentFromTheClaimedUserInfoIdIsRefusedAsCertificateIdentity) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe);
  for (std::string_view claimed : {"target-ue", "source-ue2", "Source-ue", "source-u"}) {
    SCOPED_TRACE(claimed);
    EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), claimed, crypto::Role::kUe, test_now().wall),
                           "certificate_identity"));
  }
}

TEST(TrustStore, UeCertificateUsedAsRelayAndRelayCertificateUsedAsUeAreRefusedAsCertificateRole) {
  TestPki pki;
  const auto ue = issue(pki.ca, "source-ue", crypto::Role::kUe);
  EXPECT_TRUE(refused_by(pki.trust->verify(ue.certificate.der(), "source-ue", crypto::Role::kRelay, test_now().wall),
                         "certificate_role"));
  const auto relay = issue(pki.ca, "relay-ue", crypto::Role::kRelay);
  EXPECT_TRUE(refused_by(pki.trust->verify(relay.certificate.der(), "relay-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_role"));
}

TEST(TrustStore, CaCertificatePresentedAsAPeerIsRefusedAsCertificateRole) {
  TestPki pki;
  EXPECT_TRUE(refused_by(pki.trust->verify(pki.ca.certificate().der(), "test-ca", crypto::Role::kUe, test_now().wall),
                         "certificate_role"));
}

TEST(TrustStore, RevokedSerialIsRefusedAsCertificateRevokedAndOthersStillVerify) {
  TestPki pki;
  const auto revoked = issue(pki.ca, "source-ue", crypto::Role::kUe);
  const auto good = issue(pki.ca, "target-ue", crypto::Role::kUe);
  auto store = crypto::TrustStore::from_ca(pki.ca.certificate());
  ASSERT_TRUE(store.ok()) << store.error().reason;
  // Verified (and chain-cached) before the deny list arrives: revocation must still apply afterwards.
  ASSERT_TRUE(store->verify(revoked.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall).ok());
  store->set_revoked_serials({revoked.certificate.serial_hex()});
  EXPECT_TRUE(refused_by(store->verify(revoked.certificate.der(), "source-ue", crypto::Role::kUe, test_now().wall),
                         "certificate_revoked"));
  auto peer = store->verify(good.certificate.der(), "target-ue", crypto::Role::kUe, test_now().wall);
  EXPECT_TRUE(peer.ok()) << peer.error().reason;
}

TEST(CryptoCertificate, DerRoundTripKeepsSubjectRoleSerialAndKey) {
  TestPki pki;
  const auto relay = issue(pki.ca, "relay-ue", crypto::Role::kRelay);
  auto parsed = crypto::Certificate::from_der(relay.certificate.der());
  ASSERT_TRUE(parsed.ok()) << parsed.error().reason;
  EXPECT_TRUE(*parsed == relay.certificate);
  EXPECT_EQ(parsed->subject_cn(), "relay-ue");
  EXPECT_TRUE(parsed->has_role(crypto::Role::kRelay));
  EXPECT_FALSE(parsed->has_role(crypto::Role::kUe));
  EXPECT_FALSE(parsed->is_ca());
  EXPECT_EQ(parsed->serial_hex(), relay.certificate.serial_hex());
  auto key = parsed->public_key();
  ASSERT_TRUE(key.ok()) << key.error().reason;
  EXPECT_TRUE(*key == relay.key.public_key());
}

// Found by fuzz_relay (tests/fuzz/regressions/fuzz_relay/certificate-not-after-year-6126-overflows-walltime): a
// validity year WallTime cannot hold overflowed the conversion. Such a time saturates: RFC 5280 4.1.2.5 lets a
// notAfter of 9999 mean "no expiration date". The CA's signature no longer matches; reading the DER must still work.
TEST(CryptoCertificate, ValidityYearsBeyondWallTimeSaturateInsteadOfOverflowing) {
  using namespace std::chrono;
  TestPki pki;
  // Years from 2050 on are GeneralizedTime (YYYYMMDDHHMMSSZ), so the year's four digits can be rewritten in place.
  const auto ue =
      issue(pki.ca, "source-ue", crypto::Role::kUe, sys_days(year(2100) / 1 / 1), sys_days(year(2126) / 1 / 1));
  Bytes der = ue.certificate.der();
  const auto rewrite_year = [&](std::string_view from, std::string_view to) {
    Bytes pattern{0x18, 0x0F};  // GeneralizedTime, 15 octets
    pattern.insert(pattern.end(), from.begin(), from.end());
    auto at = std::search(der.begin(), der.end(), pattern.begin(), pattern.end());
    ASSERT_NE(at, der.end()) << from;
    std::copy(to.begin(), to.end(), at + 2);
  };
  rewrite_year("2100", "1000");
  rewrite_year("2126", "9999");
  auto parsed = crypto::Certificate::from_der(der);
  ASSERT_TRUE(parsed.ok()) << parsed.error().reason;
  EXPECT_EQ(parsed->not_before(), WallTime::min());
  EXPECT_EQ(parsed->not_after(), WallTime::max());
}

// The verified-certificate cache (issue 11): a known certificate costs a hash and a lookup, and the cache never
// stands in for a check that must run every time.
TEST(CertificateCache, ASecondCheckOfTheSameCertificateIsAHitAndGivesTheSameKey) {
  const TestPki pki;
  const auto party = pki.party("ue-1", crypto::Role::kUe, 0x000001);
  crypto::TrustStore store(*pki.trust);
  const auto first = store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, test_now().wall);
  ASSERT_TRUE(first.ok()) << first.error().reason;
  const auto second = store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, test_now().wall);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->public_key, second->public_key);
  const auto stats = store.cache_stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.size, 1u);
}

TEST(CertificateCache, ACachedCertificateIsRefusedOnceItExpiresOrIsRevokedOrClaimedByAnother) {
  const TestPki pki;
  const auto now = test_now().wall;
  const auto party = pki.party("ue-1", crypto::Role::kUe, 0x000001, now - 1h, now + 1h);
  crypto::TrustStore store(*pki.trust);
  ASSERT_TRUE(store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, now).ok());
  const auto later = store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, now + 2h);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().check, "certificate_validity");
  const auto other = store.verify(party.certificate.der(), "ue-2", crypto::Role::kUe, now);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().check, "certificate_identity");
  const auto as_relay = store.verify(party.certificate.der(), "ue-1", crypto::Role::kRelay, now);
  ASSERT_FALSE(as_relay.ok());
  EXPECT_EQ(as_relay.error().check, "certificate_role");
  store.set_revoked_serials({party.certificate.serial_hex()});
  const auto revoked = store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, now);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().check, "certificate_revoked");
  EXPECT_EQ(store.cache_stats().misses, 1u) << "every check after the first was answered from the cache";
}

TEST(CertificateCache, ACertificateThatFailsItsChainIsNeverCached) {
  const TestPki pki;
  const TestPki rogue("rogue-ca");
  const auto party = rogue.party("ue-1", crypto::Role::kUe, 0x000001);
  crypto::TrustStore store(*pki.trust);
  for (int i = 0; i < 3; ++i) {
    const auto r = store.verify(party.certificate.der(), "ue-1", crypto::Role::kUe, test_now().wall);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().check, "certificate_chain");
  }
  const auto stats = store.cache_stats();
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 3u);
}

TEST(CertificateCache, TheCacheIsBounded) {
  const TestPki pki;
  crypto::TrustStore store(*pki.trust);
  for (int i = 0; i < 300; ++i) {
    const auto party = pki.party("ue-" + std::to_string(i), crypto::Role::kUe, 0x000100);
    ASSERT_TRUE(store.verify(party.certificate.der(), party.user_info_id, crypto::Role::kUe, test_now().wall).ok());
  }
  EXPECT_EQ(store.cache_stats().size, 256u);
}

}  // namespace
}  // namespace u2u::test
