// Project Wycheproof vectors (shared/vectors/wycheproof, C2SP/wycheproof testvectors_v1) run through the
// project's own crypto API in lib/crypto, for each primitive the project uses:
//   ecdsa_secp256r1_sha256_test.json        PublicKey::from_spki_der + PublicKey::verify_der (ASN.1 DER)
//   ecdsa_secp256r1_sha256_p1363_test.json  PublicKey::from_spki_der + PublicKey::verify (r || s, 64 octets)
//   ecdh_secp256r1_test.json                PublicKey::from_spki_der + PrivateKey::ecdh
//   ecdh_secp256r1_ecpoint_test.json        PublicKey::from_uncompressed_point + PrivateKey::ecdh
//   hmac_sha256_test.json                   crypto::hmac_sha256, truncated to the group's tagSize
// hkdf_sha256_test.json is deliberately not run: the project has no HKDF (RFC 5869). Its KDF is the TS 33.220
// Annex B.2.0 construction, one HMAC-SHA-256 over S = FC || P0 || L0 || ... (crypto/kdf.hpp), whose HMAC is
// covered by hmac_sha256_test.json. AES-GCM and ChaCha20-Poly1305 are not used by the project (yet).
//
// Every "valid" vector must be accepted with the right output, every "invalid" one refused. For ECDH, "refused"
// means the peer key's factory refused it or PrivateKey::ecdh did; the private key is ours and must always load.
// Wycheproof leaves "acceptable" vectors to the implementation; the project's POLICY, asserted per flag below
// (kDerEcdsaPolicy, kP1363EcdsaPolicy, kSpkiEcdhPolicy, kPointEcdhPolicy), is:
//   - CompressedPoint / CompressedPublic (ECDH): refused. A peer key is taken only as the uncompressed point
//     0x04 || X || Y, and a certificate key (from_spki_der) is held to the same single encoding.
//   - InvalidAsn (ECDH, SPKI): refused. from_spki_der takes DER only; BER alternatives (long-form or padded
//     lengths, indefinite lengths, extra tags) are not DER.
//   - UnnamedCurve with UnusedParam / ModifiedCofactor / ModifiedGenerator / ModifiedCurveParameter /
//     WrongOrder / NoCofactor (ECDH, SPKI): refused. Only P-256 by named curve is taken, even when explicit
//     parameters describe P-256 itself. (Wycheproof marks the same explicit-parameter key "invalid" in tcId 359
//     and "acceptable" in tcId 362; refusing explicit parameters satisfies both.)
//   - BerEncodedSignature / MissingZero / InvalidEncoding (ECDSA, DER): refused; verify_der takes DER only.
//   - SignatureSize (ECDSA, P1363): refused; verify takes exactly 64 octets.
// Beyond Wycheproof, verify and verify_der take low-S signatures only (docs/protocol.md 4.1): a vector marked
// "valid" whose s > n/2 must be refused with check "signature_high_s", and the primitive is checked on its twin
// (r, n - s) instead, which verify must accept (ECDSA accepts both or neither). In the P1363 file every 64-octet
// vector with n/2 < s < n also has its twin checked against the vector's result, invalid ones included.
// An acceptable vector with a flag missing from its file's policy table fails the test, so that a new vector set
// forces a decision here. The files in this copy hold acceptable vectors only for ECDH.
//
// Each test records how many valid/invalid/acceptable vectors ran (test record properties and a summary line) and
// checks that this is the file's numberOfTests and not zero. A missing vector directory or file fails the test
// (it does not skip): CI provides ../shared beside the checkout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "crypto/constants.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/secret_bytes.hpp"

namespace u2u::test {
namespace {

using nlohmann::json;

const std::filesystem::path kWycheproofDir = U2U_WYCHEPROOF_DIR;

// ---- Loading and counting ----

// The parsed file, or a reason naming the path; a missing directory is a
// failure, never a skip.
std::optional<json> load_vectors(std::string_view file, std::string& error) {
  if (!std::filesystem::is_directory(kWycheproofDir)) {
    error = "Wycheproof vector directory " + kWycheproofDir.string() +
            " is missing (U2U_WYCHEPROOF_DIR; CI provides ../shared beside the "
            "checkout)";
    return std::nullopt;
  }
  const std::filesystem::path path = kWycheproofDir / file;
  std::ifstream in(path);
  if (!in) {
    error = "cannot open Wycheproof vector file " + path.string();
    return std::nullopt;
  }
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("testGroups") || !doc.contains("numberOfTests")) {
    error = "not a Wycheproof vector file: " + path.string();
    return std::nullopt;
  }
  return doc;
}

struct Tally {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int valid_high_s = 0;  // ECDSA: valid vectors refused as high-S, their low-S twins accepted
  int total() const { return valid + invalid + acceptable; }
};

// Counts the vector's result; false (and a failure) for a result Wycheproof
// does not define.
bool count(Tally& tally, const json& test) {
  const std::string result = test.at("result");
  if (result == "valid") {
    ++tally.valid;
  } else if (result == "invalid") {
    ++tally.invalid;
  } else if (result == "acceptable") {
    ++tally.acceptable;
  } else {
    ADD_FAILURE() << "tcId " << test.at("tcId") << ": unknown result \"" << result << "\"";
    return false;
  }
  return true;
}

// The number processed is the number in the file, and not zero (an empty or
// unread file fails).
void report(std::string_view file, const json& doc, const Tally& tally) {
  ::testing::Test::RecordProperty("vectors_file", std::string(file));
  ::testing::Test::RecordProperty("vectors_valid", tally.valid);
  ::testing::Test::RecordProperty("vectors_invalid", tally.invalid);
  ::testing::Test::RecordProperty("vectors_acceptable", tally.acceptable);
  ::testing::Test::RecordProperty("vectors_valid_high_s", tally.valid_high_s);
  std::cout << "[ Wycheproof ] " << file << ": " << tally.valid << " valid, " << tally.invalid << " invalid, "
            << tally.acceptable << " acceptable (" << tally.total() << " of " << doc.at("numberOfTests")
            << " in the file)";
  if (tally.valid_high_s > 0) std::cout << "; " << tally.valid_high_s << " valid high-S refused, twins accepted";
  std::cout << "\n";
  EXPECT_GT(tally.total(), 0) << file << " holds no vectors";
  EXPECT_EQ(tally.total(), doc.at("numberOfTests").get<int>()) << file << ": vectors processed != numberOfTests";
}

std::string describe(const json& test) {
  return "tcId " + std::to_string(test.at("tcId").get<int>()) + " (" + test.at("comment").get<std::string>() +
         ", flags " + test.at("flags").dump() + ")";
}

Bytes unhex(const json& field) {
  Bytes out;
  if (!from_hex(field.get<std::string>(), out)) ADD_FAILURE() << "bad hex in a vector: " << field;
  return out;
}

// ---- Acceptable-vector policy ----

enum class Outcome { kAccepted, kRefused };

std::ostream& operator<<(std::ostream& os, Outcome o) {
  return os << (o == Outcome::kAccepted ? "accepted" : "refused");
}

using Policy = std::map<std::string, Outcome, std::less<>>;

const Policy kDerEcdsaPolicy = {
    {"BerEncodedSignature", Outcome::kRefused},
    {"MissingZero", Outcome::kRefused},
    {"InvalidEncoding", Outcome::kRefused},
};
const Policy kP1363EcdsaPolicy = {
    {"SignatureSize", Outcome::kRefused},
};
const Policy kSpkiEcdhPolicy = {
    {"CompressedPoint", Outcome::kRefused},   {"CompressedPublic", Outcome::kRefused},
    {"InvalidAsn", Outcome::kRefused},        {"UnnamedCurve", Outcome::kRefused},
    {"UnusedParam", Outcome::kRefused},       {"ModifiedCofactor", Outcome::kRefused},
    {"ModifiedGenerator", Outcome::kRefused}, {"ModifiedCurveParameter", Outcome::kRefused},
    {"WrongOrder", Outcome::kRefused},        {"NoCofactor", Outcome::kRefused},
};
const Policy kPointEcdhPolicy = {
    {"CompressedPoint", Outcome::kRefused},
    {"CompressedPublic", Outcome::kRefused},
};

// What the vector's outcome must be: valid -> accepted, invalid -> refused,
// acceptable -> what the policy says for its flags (every flag the policy names
// must agree; no flag named is a failure: nullopt).
std::optional<Outcome> expected_outcome(const json& test, const Policy& policy) {
  const std::string result = test.at("result");
  if (result == "valid") return Outcome::kAccepted;
  if (result == "invalid") return Outcome::kRefused;
  std::optional<Outcome> expected;
  for (const auto& flag : test.at("flags")) {
    const auto it = policy.find(flag.get<std::string>());
    if (it == policy.end()) continue;
    if (expected && *expected != it->second) {
      ADD_FAILURE() << describe(test)
                    << ": the acceptable-vector policy contradicts itself for "
                       "these flags";
      return std::nullopt;
    }
    expected = it->second;
  }
  if (!expected) ADD_FAILURE() << describe(test) << ": acceptable vector with no policy for any of its flags";
  return expected;
}

// ---- A P-256 private key from a raw scalar, through PrivateKey::from_pem ----
// PrivateKey has no from-scalar factory, so the scalar goes into a SEC1
// ECPrivateKey (RFC 5915):
//   SEQUENCE { INTEGER 1, OCTET STRING scalar (32 octets), [0] EXPLICIT OID
//   prime256v1 }
// with no [1] publicKey: OpenSSL 3's SEC1 decoder derives the public point, and
// from_pem's pairwise check then holds (asserted by
// Wycheproof.EcdhPrivateKeyFromScalarDerivesThePublicKey).

Bytes der_tlv(std::uint8_t tag, ByteView content) {
  Bytes out{tag};
  if (content.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(content.size()));
  } else {
    Bytes length;
    for (std::size_t n = content.size(); n != 0; n >>= 8) length.insert(length.begin(), static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(0x80 | length.size()));
    append(out, length);
  }
  append(out, content);
  return out;
}

std::string base64(ByteView data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, data.size() - i);
    std::uint32_t block = static_cast<std::uint32_t>(data[i]) << 16;
    if (n > 1) block |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (n > 2) block |= data[i + 2];
    out.push_back(kAlphabet[(block >> 18) & 0x3f]);
    out.push_back(kAlphabet[(block >> 12) & 0x3f]);
    out.push_back(n > 1 ? kAlphabet[(block >> 6) & 0x3f] : '=');
    out.push_back(n > 2 ? kAlphabet[block & 0x3f] : '=');
  }
  return out;
}

// The scalar as Wycheproof gives it: a big-endian integer, possibly with a
// leading 00 or fewer than 32 octets.
std::optional<std::string> sec1_pem_from_scalar(ByteView scalar) {
  while (!scalar.empty() && scalar.front() == 0) scalar = scalar.subspan(1);
  if (scalar.size() > crypto::kScalarSize) return std::nullopt;
  Bytes padded(crypto::kScalarSize - scalar.size(), 0);
  append(padded, scalar);

  static constexpr std::uint8_t kVersion1[] = {0x01};
  static constexpr std::uint8_t kOidPrime256v1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  Bytes body = der_tlv(0x02, kVersion1);
  append(body, der_tlv(0x04, padded));
  append(body, der_tlv(0xa0, der_tlv(0x06, kOidPrime256v1)));
  const Bytes der = der_tlv(0x30, body);

  const std::string b64 = base64(der);
  std::string pem = "-----BEGIN EC PRIVATE KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END EC PRIVATE KEY-----\n";
  return pem;  // the scalars are public test data: no wiping
}

Result<crypto::PrivateKey> private_key_from_scalar(ByteView scalar) {
  const auto pem = sec1_pem_from_scalar(scalar);
  if (!pem) return make_error(Cause::kNone, "private_key", "scalar longer than 32 octets");
  return crypto::PrivateKey::from_pem(*pem);
}

// ---- ECDSA P-256 / SHA-256 ----

enum class SignatureFormat { kDer, kP1363 };

// floor(n / 2) and n for P-256, big-endian, 32 octets: lexicographic order of the octets is numeric order.
constexpr std::string_view kHalfOrderHex = "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8";
constexpr std::string_view kOrderHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

// n/2 < s < n: the signature is high-S and has a twin (r, n - s).
bool high_s_with_twin(const crypto::EcdsaSignature& sig) {
  Bytes half, order;
  from_hex(kHalfOrderHex, half);
  from_hex(kOrderHex, order);
  const ByteView s = ByteView(sig).last(crypto::kScalarSize);
  return std::lexicographical_compare(half.begin(), half.end(), s.begin(), s.end()) &&
         std::lexicographical_compare(s.begin(), s.end(), order.begin(), order.end());
}

// r || s of a strict DER ECDSA-Sig-Value whose integers fit 32 octets (every valid P-256 vector), else nullopt.
std::optional<crypto::EcdsaSignature> p1363_from_der(ByteView der) {
  crypto::EcdsaSignature out{};
  if (der.size() < 2 || der[0] != 0x30 || der[1] >= 0x80 || static_cast<std::size_t>(der[1]) != der.size() - 2) {
    return std::nullopt;
  }
  ByteView rest = der.subspan(2);
  for (std::size_t half = 0; half < 2; ++half) {
    if (rest.size() < 2 || rest[0] != 0x02 || rest[1] >= 0x80 || rest[1] + 2u > rest.size()) return std::nullopt;
    ByteView value = rest.subspan(2, rest[1]);
    rest = rest.subspan(2u + rest[1]);
    if (!value.empty() && value[0] == 0x00) value = value.subspan(1);
    if (value.size() > crypto::kScalarSize) return std::nullopt;
    std::copy(value.begin(), value.end(),
              out.begin() + static_cast<std::ptrdiff_t>((half + 1) * crypto::kScalarSize - value.size()));
  }
  if (!rest.empty()) return std::nullopt;
  return out;
}

void run_ecdsa(std::string_view file, SignatureFormat format, const Policy& policy) {
  std::string error;
  const auto doc = load_vectors(file, error);
  ASSERT_TRUE(doc.has_value()) << error;
  Tally tally;
  for (const auto& group : doc->at("testGroups")) {
    ASSERT_EQ(group.at("sha"), "SHA-256") << file;
    ASSERT_EQ(group.at("publicKey").at("curve"), "secp256r1") << file;
    // The group key through both factories: the SPKI (as in a certificate) and
    // the bare point (as on the wire).
    const auto key = crypto::PublicKey::from_spki_der(unhex(group.at("publicKeyDer")));
    const auto point_key = crypto::PublicKey::from_uncompressed_point(unhex(group.at("publicKey").at("uncompressed")));
    EXPECT_TRUE(key.ok()) << file << ": group key refused by from_spki_der: " << key.error().reason;
    EXPECT_TRUE(point_key.ok()) << file
                                << ": group key refused by from_uncompressed_point: " << point_key.error().reason;
    if (key.ok() && point_key.ok()) {
      EXPECT_TRUE(*key == *point_key) << file << ": the two factories disagree";
    }

    for (const auto& test : group.at("tests")) {
      if (!count(tally, test)) continue;
      const auto expected = expected_outcome(test, policy);
      if (!expected) continue;
      const Bytes message = unhex(test.at("msg"));
      const Bytes signature = unhex(test.at("sig"));
      Status verdict = make_error(Cause::kNone, "group_key", "the group key was refused");
      if (key.ok()) {
        verdict =
            format == SignatureFormat::kDer ? key->verify_der(message, signature) : key->verify(message, signature);
      }
      const Outcome outcome = verdict.ok() ? Outcome::kAccepted : Outcome::kRefused;
      // The signature as r || s, when it has that form: every P1363 vector of 64 octets, every valid DER vector.
      std::optional<crypto::EcdsaSignature> rs;
      if (format == SignatureFormat::kP1363 && signature.size() == crypto::kEcdsaSignatureSize) {
        rs.emplace();
        std::copy(signature.begin(), signature.end(), rs->begin());
      } else if (format == SignatureFormat::kDer && test.at("result") == "valid") {
        rs = p1363_from_der(signature);
        EXPECT_TRUE(rs.has_value()) << file << " " << describe(test) << ": a valid vector that is not r, s in DER";
      }
      if (rs && high_s_with_twin(*rs) && key.ok()) {
        // Low-S: refused as high-S whatever Wycheproof says; the primitive is checked on the twin instead.
        EXPECT_EQ(outcome, Outcome::kRefused) << file << " " << describe(test) << ": a high-S signature verified";
        const auto twin = crypto::ecdsa_twin(*rs);
        ASSERT_TRUE(twin.ok()) << file << " " << describe(test) << ": " << twin.error().reason;
        const Status twin_verdict = key->verify(message, *twin);
        if (test.at("result") == "valid") {
          ++tally.valid_high_s;
          EXPECT_EQ(verdict.ok() ? "" : verdict.error().check, "signature_high_s")
              << file << " " << describe(test) << (verdict.ok() ? std::string() : ": " + verdict.error().reason);
          EXPECT_TRUE(twin_verdict.ok()) << file << " " << describe(test)
                                         << ": the low-S twin of a valid vector: " << twin_verdict.error().reason;
        } else if (format == SignatureFormat::kP1363) {
          EXPECT_EQ(twin_verdict.ok() ? Outcome::kAccepted : Outcome::kRefused, *expected)
              << file << " " << describe(test) << ": its low-S twin";
        }
        continue;
      }
      EXPECT_EQ(outcome, *expected) << file << " " << describe(test)
                                    << (verdict.ok() ? std::string() : ": " + verdict.error().reason);
      if (format == SignatureFormat::kP1363 && signature.size() != crypto::kEcdsaSignatureSize) {
        EXPECT_EQ(outcome, Outcome::kRefused) << file << " " << describe(test) << ": a " << signature.size()
                                              << "-octet P1363 signature must be refused whatever its values";
      }
    }
  }
  report(file, *doc, tally);
}

TEST(Wycheproof, EcdsaP256Sha256DerSignaturesThroughVerifyDer) {
  run_ecdsa("ecdsa_secp256r1_sha256_test.json", SignatureFormat::kDer, kDerEcdsaPolicy);
}

TEST(Wycheproof, EcdsaP256Sha256P1363SignaturesThroughVerify) {
  run_ecdsa("ecdsa_secp256r1_sha256_p1363_test.json", SignatureFormat::kP1363, kP1363EcdsaPolicy);
}

// ---- ECDH P-256 ----

enum class PeerKeyEncoding { kSpki, kPoint };

void run_ecdh(std::string_view file, PeerKeyEncoding encoding, const Policy& policy) {
  std::string error;
  const auto doc = load_vectors(file, error);
  ASSERT_TRUE(doc.has_value()) << error;
  Tally tally;
  for (const auto& group : doc->at("testGroups")) {
    ASSERT_EQ(group.at("curve"), "secp256r1") << file;
    for (const auto& test : group.at("tests")) {
      if (!count(tally, test)) continue;
      const auto expected = expected_outcome(test, policy);
      if (!expected) continue;
      const auto own = private_key_from_scalar(unhex(test.at("private")));
      if (!own.ok()) {
        ADD_FAILURE() << file << " " << describe(test) << ": private key refused: " << own.error().reason;
        continue;
      }
      const Bytes peer_bytes = unhex(test.at("public"));
      const auto peer = encoding == PeerKeyEncoding::kSpki ? crypto::PublicKey::from_spki_der(peer_bytes)
                                                           : crypto::PublicKey::from_uncompressed_point(peer_bytes);
      Outcome outcome = Outcome::kRefused;
      std::string why;
      if (!peer.ok()) {
        why = "peer key refused: " + peer.error().reason;
      } else if (auto shared = own->ecdh(*peer); !shared.ok()) {
        why = "ecdh refused: " + shared.error().reason;
      } else {
        outcome = Outcome::kAccepted;
        const Bytes want = unhex(test.at("shared"));
        EXPECT_TRUE(crypto::constant_time_equal(shared->reveal(), want))
            << file << " " << describe(test) << ": wrong shared secret " << to_hex(shared->reveal()) << ", want "
            << to_hex(want);
      }
      EXPECT_EQ(outcome, *expected) << file << " " << describe(test) << (why.empty() ? "" : ": ") << why;
    }
  }
  report(file, *doc, tally);
}

TEST(Wycheproof, EcdhP256PeerKeyAsSpkiThroughFromSpkiDer) {
  run_ecdh("ecdh_secp256r1_test.json", PeerKeyEncoding::kSpki, kSpkiEcdhPolicy);
}

TEST(Wycheproof, EcdhP256PeerKeyAsPointThroughFromUncompressedPoint) {
  run_ecdh("ecdh_secp256r1_ecpoint_test.json", PeerKeyEncoding::kPoint, kPointEcdhPolicy);
}

// The private keys above come from a SEC1 PEM without its public key: check
// that from_pem derives the point (scalar 1 gives the P-256 generator G) rather
// than taking it on trust or refusing the key.
TEST(Wycheproof, EcdhPrivateKeyFromScalarDerivesThePublicKey) {
  static constexpr std::uint8_t kOne[] = {0x01};
  const auto key = private_key_from_scalar(kOne);
  ASSERT_TRUE(key.ok()) << "from_pem refused a SEC1 key without its public key: " << key.error().reason;
  EXPECT_EQ(to_hex(key->public_key().uncompressed_point()),
            "04"
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
}

// ---- HMAC-SHA-256 ----

TEST(Wycheproof, HmacSha256TruncatedToTagSize) {
  constexpr std::string_view kFile = "hmac_sha256_test.json";
  std::string error;
  const auto doc = load_vectors(kFile, error);
  ASSERT_TRUE(doc.has_value()) << error;
  const Policy no_acceptable_vectors;
  Tally tally;
  for (const auto& group : doc->at("testGroups")) {
    const int tag_bits = group.at("tagSize");
    ASSERT_TRUE(tag_bits > 0 && tag_bits % 8 == 0 && tag_bits / 8 <= static_cast<int>(crypto::kSha256Size))
        << kFile << ": tagSize " << tag_bits;
    const auto tag_size = static_cast<std::size_t>(tag_bits / 8);
    for (const auto& test : group.at("tests")) {
      if (!count(tally, test)) continue;
      const auto expected = expected_outcome(test, no_acceptable_vectors);
      if (!expected) continue;
      const auto mac = crypto::hmac_sha256(unhex(test.at("key")), unhex(test.at("msg")));
      // The tag is HMAC-SHA-256 truncated to its leftmost tagSize bits; a
      // vector tag of another size never matches.
      const bool match = crypto::constant_time_equal(mac.reveal().first(tag_size), unhex(test.at("tag")));
      EXPECT_EQ(match ? Outcome::kAccepted : Outcome::kRefused, *expected) << kFile << " " << describe(test);
    }
  }
  report(kFile, *doc, tally);
}

}  // namespace
}  // namespace u2u::test
