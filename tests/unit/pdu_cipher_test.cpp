// PC5 user-plane protection primitives (crypto/pdu_cipher.hpp): 128-NEA2, 128-NIA2 (TS 33.501 Annex D = TS 33.401
// Annex B) and AES-128-GCM with the PDU nonce.
//   - Every test set in shared/vectors/3gpp/nea2-nia2.json (TS 33.401 Annex C), bit lengths that are not whole
//     octets included, through the public API. The file is found beside the Wycheproof directory the test binary
//     is built with (U2U_WYCHEPROOF_DIR = .../vectors/wycheproof, so .../vectors/3gpp); a missing file fails.
//   - The CMAC under NIA2 against RFC 4493, against OpenSSL's own CMAC (EVP_MAC, through a test hook in
//     pdu_cipher.cpp, since tests do not include OpenSSL) for 0..100 octets, and on bit strings that are not
//     whole octets against an independent SP 800-38B computation.
//   - GCM against McGrew & Viega test cases 1-4 and the Wycheproof AES-128-GCM vectors with a 96-bit nonce and a
//     128-bit tag (through the raw-nonce detail functions), then the PDU nonce layout and open()'s refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "crypto/pdu_cipher.hpp"
#include "crypto/secret_bytes.hpp"

namespace u2u::test {
namespace {

using crypto::Aes128Gcm;
using crypto::CmacTag;
using crypto::kGcmTagSize;
using crypto::kNia2MacSize;
using crypto::Nea2;
using crypto::Nia2;
using crypto::Nia2Mac;
using crypto::PduInput;
using crypto::SecretBytes;
using nlohmann::json;

// ---- Helpers ----

Bytes hex(std::string_view text) {
  Bytes out;
  if (!from_hex(text, out)) ADD_FAILURE() << "bad hex in the test: " << text;
  return out;
}

SecretBytes key_hex(std::string_view text) { return SecretBytes(hex(text)); }

template <class T>
T must(Result<T> result) {
  if (!result) {
    ADD_FAILURE() << result.error().check << ": " << result.error().reason;
    std::abort();
  }
  return std::move(result).value();
}

// The last octet of `bytes` with only its first `bits % 8` bits kept: how Annex C shows a partial last octet.
Bytes mask_to_bits(Bytes bytes, std::size_t bits) {
  if (bits % 8 != 0 && !bytes.empty()) bytes.back() &= static_cast<std::uint8_t>(0xFF << (8 - bits % 8));
  return bytes;
}

Bytes random_bytes(std::mt19937& rng, std::size_t size) {
  Bytes out(size);
  std::uniform_int_distribution<int> octet(0, 255);
  for (auto& b : out) b = static_cast<std::uint8_t>(octet(rng));
  return out;
}

const SecretBytes& test_key() {
  static const SecretBytes key = key_hex("000102030405060708090a0b0c0d0e0f");
  return key;
}

// ---- The 3GPP vector file ----

// U2U_WYCHEPROOF_DIR is <shared>/vectors/wycheproof; the 3GPP sets are its sibling <shared>/vectors/3gpp.
std::filesystem::path vectors_3gpp_dir() {
  std::filesystem::path wycheproof = U2U_WYCHEPROOF_DIR;
  if (!wycheproof.has_filename()) wycheproof = wycheproof.parent_path();  // a trailing '/'
  return wycheproof.parent_path() / "3gpp";
}

// The parsed file, or a reason naming the path. A missing file is a failure, never a skip.
std::optional<json> load_json(const std::filesystem::path& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open vector file " + path.string() + " (CI provides ../shared beside the checkout)";
    return std::nullopt;
  }
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "not a JSON object: " + path.string();
    return std::nullopt;
  }
  return doc;
}

std::optional<json> load_annex_c(std::string& error) {
  auto doc = load_json(vectors_3gpp_dir() / "nea2-nia2.json", error);
  if (doc && (!doc->contains("nea2") || !doc->contains("nia2") || !(*doc)["nea2"].is_array() ||
              !(*doc)["nia2"].is_array() || (*doc)["nea2"].empty() || (*doc)["nia2"].empty())) {
    error = "nea2-nia2.json has no \"nea2\" or \"nia2\" test sets";
    return std::nullopt;
  }
  return doc;
}

// COUNT and BEARER are hex strings ("0x398a59b4"), DIRECTION a number.
PduInput pdu_input_of(const json& set) {
  PduInput in;
  in.count = static_cast<std::uint32_t>(std::stoul(set.at("count").get<std::string>(), nullptr, 16));
  in.bearer = static_cast<std::uint8_t>(std::stoul(set.at("bearer").get<std::string>(), nullptr, 16));
  in.direction = set.at("direction").get<std::uint8_t>();
  return in;
}

std::string set_name(const char* algorithm, const json& set) {
  return std::string(algorithm) + " test set " + std::to_string(set.at("set").get<int>()) + " (" +
         std::to_string(set.at("length_bits").get<std::size_t>()) + " bits)";
}

// ---- 128-NEA2 ----

TEST(Nea2, AnnexCTestSetsEncryptToTheCiphertextAndDecryptBackToThePlaintext) {
  std::string error;
  auto doc = load_annex_c(error);
  ASSERT_TRUE(doc) << error;
  int run = 0;
  int not_whole_octets = 0;
  for (const json& set : (*doc)["nea2"]) {
    SCOPED_TRACE(set_name("NEA2", set));
    const auto bits = set.at("length_bits").get<std::size_t>();
    const PduInput in = pdu_input_of(set);
    const Bytes plaintext = hex(set.at("plaintext").get<std::string>());
    const Bytes ciphertext = hex(set.at("ciphertext").get<std::string>());
    ASSERT_EQ(plaintext.size(), (bits + 7) / 8);
    ASSERT_EQ(ciphertext.size(), plaintext.size());
    auto nea2 = must(Nea2::create(key_hex(set.at("key").get<std::string>())));

    Bytes data = plaintext;
    ASSERT_TRUE(nea2.apply(in, data, bits));
    EXPECT_EQ(to_hex(data), to_hex(mask_to_bits(ciphertext, bits))) << "encrypt";

    data = ciphertext;
    ASSERT_TRUE(nea2.apply(in, data, bits));
    EXPECT_EQ(to_hex(data), to_hex(mask_to_bits(plaintext, bits))) << "decrypt";
    ++run;
    if (bits % 8 != 0) ++not_whole_octets;
  }
  EXPECT_EQ(run, static_cast<int>((*doc)["nea2"].size()));
  EXPECT_GT(not_whole_octets, 0) << "the file should exercise lengths that are not whole octets";
  ::testing::Test::RecordProperty("nea2_sets", run);
}

TEST(Nea2, UnusedBitsOfTheLastOctetComeOutZeroWhateverTheyHeld) {
  auto nea2 = must(Nea2::create(test_key()));
  const PduInput in{0x01020304, 5, 1};
  for (std::size_t bits = 1; bits < 8 * 5; ++bits) {
    if (bits % 8 == 0) continue;
    Bytes zeros((bits + 7) / 8, 0x00);
    Bytes ones((bits + 7) / 8, 0xFF);
    ASSERT_TRUE(nea2.apply(in, zeros, bits));
    ASSERT_TRUE(nea2.apply(in, ones, bits));
    const auto unused = static_cast<std::uint8_t>(0xFF >> (bits % 8));
    EXPECT_EQ(zeros.back() & unused, 0) << bits << " bits";
    EXPECT_EQ(ones.back() & unused, 0) << bits << " bits";
  }
}

TEST(Nea2, OctetsAfterTheBitLengthAreLeftUntouched) {
  auto nea2 = must(Nea2::create(test_key()));
  Bytes data(10, 0xAA);
  ASSERT_TRUE(nea2.apply(PduInput{7, 3, 0}, data, 8 * 4 + 3));
  for (std::size_t i = 5; i < data.size(); ++i) EXPECT_EQ(data[i], 0xAA) << "octet " << i;
}

TEST(Nea2, WholeBufferFormEqualsTheBitFormWithAllItsBits) {
  auto nea2 = must(Nea2::create(test_key()));
  std::mt19937 rng(33401);
  const Bytes message = random_bytes(rng, 77);
  Bytes whole = message;
  Bytes bits = message;
  ASSERT_TRUE(nea2.apply(PduInput{9, 1, 1}, whole));
  ASSERT_TRUE(nea2.apply(PduInput{9, 1, 1}, bits, message.size() * 8));
  EXPECT_EQ(whole, bits);
  EXPECT_NE(whole, message);
}

TEST(Nea2, EveryCallRestartsTheKeystreamAtItsCounterBlock) {
  // A keystream left mid-block by one PDU must not carry into the next: the first octets agree whatever came before.
  auto nea2 = must(Nea2::create(test_key()));
  const PduInput in{0xCAFEF00D, 17, 0};
  Bytes reference(40, 0);
  ASSERT_TRUE(nea2.apply(in, reference));
  for (std::size_t before : {1, 5, 15, 16, 17, 33}) {
    Bytes other(before, 0);
    ASSERT_TRUE(nea2.apply(PduInput{1, 2, 1}, other));
    Bytes again(40, 0);
    ASSERT_TRUE(nea2.apply(in, again));
    EXPECT_EQ(again, reference) << "after a PDU of " << before << " octets";
  }
}

TEST(Nea2, CountBearerAndDirectionEachChangeTheKeystream) {
  auto nea2 = must(Nea2::create(test_key()));
  auto keystream = [&nea2](PduInput in) {
    Bytes data(32, 0);
    EXPECT_TRUE(nea2.apply(in, data));
    return data;
  };
  const PduInput base{0x10000000, 0x10, 0};
  const Bytes reference = keystream(base);
  EXPECT_NE(keystream(PduInput{0x10000001, 0x10, 0}), reference);
  EXPECT_NE(keystream(PduInput{0x10000000, 0x11, 0}), reference);
  EXPECT_NE(keystream(PduInput{0x10000000, 0x10, 1}), reference);
  EXPECT_EQ(keystream(base), reference);
}

TEST(Nea2, BitLengthBeyondTheBufferIsRefusedAndTheBufferUntouched) {
  auto nea2 = must(Nea2::create(test_key()));
  Bytes data(4, 0x55);
  Status status = nea2.apply(PduInput{}, data, 33);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().check, "pdu_length");
  EXPECT_EQ(data, Bytes(4, 0x55));
  EXPECT_TRUE(nea2.apply(PduInput{}, data, 32));
}

TEST(Nea2, EmptyPduIsAcceptedAndChangesNothing) {
  auto nea2 = must(Nea2::create(test_key()));
  Bytes data;
  EXPECT_TRUE(nea2.apply(PduInput{}, data));
  Bytes one(1, 0x42);
  EXPECT_TRUE(nea2.apply(PduInput{}, one, 0));
  EXPECT_EQ(one[0], 0x42);
}

// ---- 128-NIA2 ----

TEST(Nia2, AnnexCTestSetsGiveTheirMacI) {
  std::string error;
  auto doc = load_annex_c(error);
  ASSERT_TRUE(doc) << error;
  int run = 0;
  int not_whole_octets = 0;
  for (const json& set : (*doc)["nia2"]) {
    SCOPED_TRACE(set_name("NIA2", set));
    const auto bits = set.at("length_bits").get<std::size_t>();
    const PduInput in = pdu_input_of(set);
    const Bytes message = hex(set.at("message").get<std::string>());
    const Bytes expected = hex(set.at("mac").get<std::string>());
    ASSERT_EQ(message.size(), (bits + 7) / 8);
    ASSERT_EQ(expected.size(), kNia2MacSize);
    auto nia2 = must(Nia2::create(key_hex(set.at("key").get<std::string>())));

    const Nia2Mac mac_i = must(nia2.mac(in, message, bits));
    EXPECT_EQ(to_hex(mac_i), to_hex(expected));
    if (bits % 8 == 0) {
      // Whole octets: the other forms agree, and verify() takes the MAC-I.
      EXPECT_EQ(to_hex(must(nia2.mac(in, message))), to_hex(expected));
      const std::size_t half = message.size() / 2;
      EXPECT_EQ(to_hex(must(nia2.mac(in, ByteView(message).first(half), ByteView(message).subspan(half)))),
                to_hex(expected));
      EXPECT_TRUE(nia2.verify(in, message, {}, expected));
    } else {
      ++not_whole_octets;
    }
    ++run;
  }
  EXPECT_EQ(run, static_cast<int>((*doc)["nia2"].size()));
  EXPECT_GT(not_whole_octets, 0) << "the file should exercise lengths that are not whole octets";
  ::testing::Test::RecordProperty("nia2_sets", run);
}

TEST(Nia2, BitsAfterTheBitLengthAreIgnored) {
  auto nia2 = must(Nia2::create(test_key()));
  const PduInput in{0x38A6F056, 0x18, 0};
  std::mt19937 rng(5801);
  const Bytes message = random_bytes(rng, 40);
  for (std::size_t bits : {1, 7, 9, 58, 63, 64, 65, 127, 128, 129, 200, 319}) {
    Bytes clean =
        mask_to_bits(Bytes(message.begin(), message.begin() + static_cast<std::ptrdiff_t>((bits + 7) / 8)), bits);
    Bytes dirty = message;  // the unused bits of the last octet set, and more octets after it
    if (bits % 8 != 0) dirty[bits / 8] |= static_cast<std::uint8_t>(0xFF >> (bits % 8));
    EXPECT_EQ(must(nia2.mac(in, clean, bits)), must(nia2.mac(in, dirty, bits))) << bits << " bits";
  }
}

TEST(Nia2, BitLengthChangesTheMacIEvenWhenTheExtraBitsAreZero) {
  // 58 bits and 64 bits of the same (zero-padded) octets are different messages.
  auto nia2 = must(Nia2::create(test_key()));
  const Bytes message = hex("3332346263393840");
  EXPECT_NE(must(nia2.mac(PduInput{}, message, 58)), must(nia2.mac(PduInput{}, message, 64)));
  EXPECT_NE(must(nia2.mac(PduInput{}, message, 0)), must(nia2.mac(PduInput{}, message, 1)));
}

TEST(Nia2, TwoPieceFormEqualsOnePieceFormOverTheConcatenationForEverySplit) {
  auto nia2 = must(Nia2::create(test_key()));
  std::mt19937 rng(33501);
  int compared = 0;
  for (std::size_t size = 0; size <= 70; ++size) {
    const Bytes message = random_bytes(rng, size);
    const PduInput in{static_cast<std::uint32_t>(rng()), static_cast<std::uint8_t>(rng() % 32),
                      static_cast<std::uint8_t>(rng() % 2)};
    const Nia2Mac whole = must(nia2.mac(in, message));
    EXPECT_EQ(must(nia2.mac(in, message, size * 8)), whole) << size << " octets, bit form";
    for (std::size_t split = 0; split <= size; ++split) {
      const ByteView view(message);
      EXPECT_EQ(must(nia2.mac(in, view.first(split), view.subspan(split))), whole)
          << size << " octets split at " << split;
      EXPECT_TRUE(nia2.verify(in, view.first(split), view.subspan(split), whole));
      ++compared;
    }
  }
  EXPECT_EQ(compared, 71 * 72 / 2);
}

TEST(Nia2, VerifyRefusesAFlippedBitInTheMessageOrTheMacIWithIntegrityFailure) {
  auto nia2 = must(Nia2::create(test_key()));
  const PduInput in{42, 3, 1};
  const Bytes header = hex("8000002a");
  const Bytes body = hex("00112233445566778899aabbccddeeff0102");
  const Nia2Mac mac_i = must(nia2.mac(in, header, body));
  ASSERT_TRUE(nia2.verify(in, header, body, mac_i));

  for (std::size_t bit = 0; bit < 8 * (header.size() + body.size()); ++bit) {
    Bytes h = header;
    Bytes b = body;
    Bytes& target = bit < 8 * h.size() ? h : b;
    const std::size_t at = bit < 8 * h.size() ? bit : bit - 8 * h.size();
    target[at / 8] ^= static_cast<std::uint8_t>(0x80 >> (at % 8));
    Status status = nia2.verify(in, h, b, mac_i);
    ASSERT_FALSE(status) << "message bit " << bit;
    EXPECT_EQ(status.error().cause, Cause::kIntegrityFailure);
    EXPECT_EQ(status.error().check, "pdu_mac");
  }
  for (std::size_t bit = 0; bit < 8 * kNia2MacSize; ++bit) {
    Nia2Mac flipped = mac_i;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    Status status = nia2.verify(in, header, body, flipped);
    ASSERT_FALSE(status) << "MAC-I bit " << bit;
    EXPECT_EQ(status.error().cause, Cause::kIntegrityFailure);
  }
}

TEST(Nia2, VerifyRefusesAWrongCountBearerOrDirection) {
  auto nia2 = must(Nia2::create(test_key()));
  const Bytes message = hex("0102030405");
  const Nia2Mac mac_i = must(nia2.mac(PduInput{1000, 7, 0}, message));
  EXPECT_TRUE(nia2.verify(PduInput{1000, 7, 0}, message, {}, mac_i));
  EXPECT_FALSE(nia2.verify(PduInput{1001, 7, 0}, message, {}, mac_i));
  EXPECT_FALSE(nia2.verify(PduInput{1000, 6, 0}, message, {}, mac_i));
  EXPECT_FALSE(nia2.verify(PduInput{1000, 7, 1}, message, {}, mac_i));
}

TEST(Nia2, VerifyRefusesAMacIThatIsNotFourOctets) {
  auto nia2 = must(Nia2::create(test_key()));
  const Bytes message = hex("0102030405");
  const Nia2Mac mac_i = must(nia2.mac(PduInput{}, message));
  Bytes longer(mac_i.begin(), mac_i.end());
  longer.push_back(0);
  for (ByteView bad : {ByteView{}, ByteView(mac_i).first(3), ByteView(longer)}) {
    Status status = nia2.verify(PduInput{}, message, {}, bad);
    ASSERT_FALSE(status) << bad.size() << " octets";
    EXPECT_EQ(status.error().cause, Cause::kIntegrityFailure);
    EXPECT_EQ(status.error().check, "pdu_mac");
  }
}

TEST(Nia2, BitLengthBeyondTheMessageIsRefused) {
  auto nia2 = must(Nia2::create(test_key()));
  const Bytes message(8, 0);
  auto mac_i = nia2.mac(PduInput{}, message, 65);
  ASSERT_FALSE(mac_i);
  EXPECT_EQ(mac_i.error().check, "pdu_length");
  EXPECT_TRUE(nia2.mac(PduInput{}, message, 64));
  EXPECT_TRUE(nia2.mac(PduInput{}, {}, 0));
}

// ---- The AES-CMAC under NIA2 ----

// RFC 4493 section 4, examples 1-4: 0 and 40 octets take the K2 (padded) path, 16 and 64 the K1 path.
TEST(Nia2Cmac, Rfc4493ExamplesOneToFour) {
  const SecretBytes key = key_hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes m =
      hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f"
          "9b17ad"
          "2b417be66c3710");
  const std::pair<std::size_t, std::string_view> examples[] = {
      {0, "bb1d6929e95937287fa37d129b756746"},
      {16, "070a16b46b4d4144f79bdd9dd04a287c"},
      {40, "dfa66747de9ae63030ca32611497c827"},
      {64, "51f0bebf7e3b9d92fc49741779363cfe"},
  };
  for (const auto& [octets, tag] : examples) {
    EXPECT_EQ(to_hex(must(crypto::detail::aes_cmac(key, ByteView(m).first(octets), octets * 8))), tag)
        << octets << " octets";
  }
}

TEST(Nia2Cmac, MatchesOpenSslsOwnCmacForEveryLengthFrom0To100Octets) {
  std::mt19937 rng(4493);
  const SecretBytes key(random_bytes(rng, 16));
  for (std::size_t size = 0; size <= 100; ++size) {
    const Bytes message = random_bytes(rng, size);
    EXPECT_EQ(to_hex(must(crypto::detail::aes_cmac(key, message, size * 8))),
              to_hex(must(crypto::detail::openssl_reference_cmac_for_tests(key, message))))
        << size << " octets";
  }
}

// SP 800-38B over bit strings: the RFC 4493 key and the first `bits` bits of its 64-octet message. The expected
// tags come from an independent bit-string implementation of SP 800-38B (Python, AES from pyca/cryptography), the
// same one that reproduces NIA2 test set 1 (58 message bits); they cover padding right after the last bit inside an
// octet, in every position relative to the 128-bit blocks.
TEST(Nia2Cmac, BitStringsThatAreNotWholeOctetsMatchAnIndependentComputation) {
  const SecretBytes key = key_hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes m =
      hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f"
          "9b17ad"
          "2b417be66c3710");
  const std::pair<std::size_t, std::string_view> cases[] = {
      {1, "af85ec54b8fdaac0c6d7437e97ae629f"},   {7, "e3d78e005f8a020499f5f81dcdded87f"},
      {9, "188da0243833650fd7d457e903dbfda6"},   {63, "94edd4b0fe5af5f0c91c89c85ab94da9"},
      {121, "39285d08733b4668106123d9caa7894e"}, {127, "8617bb57b07ccebb66f29807383445ed"},
      {129, "c6079a185fab8eada111fe037cbe8009"}, {135, "0d98463ecb0369954c365d7c2844e4d1"},
      {255, "641058df3c1cdbc5acfe9139a4792107"}, {257, "90818440a6df264fc0d1518b18606175"},
      {383, "7d06202c8b6c150bf9b9e20872480872"}, {505, "d211d1c1aae5028baaf304f504ad52b0"},
      {511, "f3b746eb0ac55faec1fad410a8cb485c"},
  };
  for (const auto& [bits, tag] : cases) {
    EXPECT_EQ(to_hex(must(crypto::detail::aes_cmac(key, m, bits))), tag) << bits << " bits";
  }
}

TEST(Nia2Cmac, MacIIsTheFirst32BitsOfTheCmacOverTheCountBearerDirectionHeaderAndTheMessage) {
  auto nia2 = must(Nia2::create(test_key()));
  const Bytes message = hex("0011223344556677889900");
  // COUNT 0x01020304, BEARER 0x1f, DIRECTION 1: octet 4 = 11111 1 00 = 0xfc.
  Bytes m = hex("01020304fc000000");
  append(m, message);
  const CmacTag tag = must(crypto::detail::aes_cmac(test_key(), m, m.size() * 8));
  EXPECT_EQ(to_hex(must(nia2.mac(PduInput{0x01020304, 0x1f, 1}, message))), to_hex(ByteView(tag).first(4)));
}

// ---- AES-128-GCM ----

struct GcmCase {
  const char* name;
  std::string_view key, nonce, aad, plaintext, ciphertext, tag;
};

// D. McGrew, J. Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, test cases 1-4 (AES-128).
constexpr std::string_view kGcmKey3 = "feffe9928665731c6d6a8f9467308308";
constexpr std::string_view kGcmPlaintext3 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
    "ba637b391aafd255";
constexpr std::string_view kGcmCiphertext3 =
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac97"
    "3d58e091473f5985";
const GcmCase kMcGrewViega[] = {
    {"test case 1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"test case 2", "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"test case 3", kGcmKey3, "cafebabefacedbaddecaf888", "", kGcmPlaintext3, kGcmCiphertext3,
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"test case 4", kGcmKey3, "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     kGcmPlaintext3.substr(0, 120), kGcmCiphertext3.substr(0, 120), "5bc94fbc3221a5db94fae95ae7121a47"},
};

TEST(Gcm, McGrewViegaTestCasesOneToFourSealAndOpenWithARawNonce) {
  for (const GcmCase& c : kMcGrewViega) {
    SCOPED_TRACE(c.name);
    const SecretBytes key = key_hex(c.key);
    const Bytes nonce = hex(c.nonce);
    const Bytes aad = hex(c.aad);
    Bytes data = hex(c.plaintext);
    std::array<std::uint8_t, kGcmTagSize> tag{};
    ASSERT_TRUE(crypto::detail::aes_128_gcm_seal(key, nonce, aad, data, tag));
    EXPECT_EQ(to_hex(data), c.ciphertext);
    EXPECT_EQ(to_hex(tag), c.tag);
    ASSERT_TRUE(crypto::detail::aes_128_gcm_open(key, nonce, aad, data, hex(c.tag)));
    EXPECT_EQ(to_hex(data), c.plaintext);
  }
}

// Wycheproof aes_gcm_test.json, the group with a 128-bit key, 96-bit IV and 128-bit tag (the only shape the PDU
// cipher has): every valid vector seals to its ciphertext and tag and opens; every invalid one (modified tags) is
// refused with a zeroed buffer.
TEST(Gcm, WycheproofAes128VectorsWith96BitNonceAndFullTag) {
  std::string error;
  auto doc = load_json(std::filesystem::path(U2U_WYCHEPROOF_DIR) / "aes_gcm_test.json", error);
  ASSERT_TRUE(doc) << error;
  ASSERT_TRUE(doc->contains("testGroups"));
  int valid = 0;
  int invalid = 0;
  for (const json& group : (*doc)["testGroups"]) {
    if (group.at("keySize") != 128 || group.at("ivSize") != 96 || group.at("tagSize") != 128) continue;
    for (const json& test : group.at("tests")) {
      SCOPED_TRACE("tcId " + std::to_string(test.at("tcId").get<int>()));
      const SecretBytes key = key_hex(test.at("key").get<std::string>());
      const Bytes nonce = hex(test.at("iv").get<std::string>());
      const Bytes aad = hex(test.at("aad").get<std::string>());
      const Bytes msg = hex(test.at("msg").get<std::string>());
      const Bytes ct = hex(test.at("ct").get<std::string>());
      const Bytes tag = hex(test.at("tag").get<std::string>());
      const std::string result = test.at("result");
      Bytes data = ct;
      Status opened = crypto::detail::aes_128_gcm_open(key, nonce, aad, data, tag);
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(opened) << opened.error().reason;
        EXPECT_EQ(data, msg);
        Bytes sealed = msg;
        std::array<std::uint8_t, kGcmTagSize> out_tag{};
        ASSERT_TRUE(crypto::detail::aes_128_gcm_seal(key, nonce, aad, sealed, out_tag));
        EXPECT_EQ(sealed, ct);
        EXPECT_EQ(to_hex(out_tag), to_hex(tag));
      } else if (result == "invalid") {
        ++invalid;
        ASSERT_FALSE(opened);
        EXPECT_EQ(opened.error().check, "pdu_tag");
        EXPECT_EQ(data, Bytes(ct.size(), 0));
      } else {
        ADD_FAILURE() << "unexpected result \"" << result << "\"";
      }
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
  ::testing::Test::RecordProperty("wycheproof_gcm_valid", valid);
  ::testing::Test::RecordProperty("wycheproof_gcm_invalid", invalid);
}

TEST(Gcm, NonceIsCountThenBearerAndDirectionInOctetFourThenZeros) {
  auto gcm = must(Aes128Gcm::create(test_key()));
  struct Case {
    PduInput in;
    std::string_view nonce;
  };
  const Case cases[] = {
      {{0x00000000, 0, 0}, "000000000000000000000000"},    {{0x01020304, 0, 0}, "010203040000000000000000"},
      {{0x00000000, 0, 1}, "000000000400000000000000"},    {{0x00000000, 1, 0}, "000000000800000000000000"},
      {{0x00000000, 31, 0}, "00000000f800000000000000"},   {{0xFFFFFFFF, 31, 1}, "fffffffffc00000000000000"},
      {{0x398A59B4, 0x15, 1}, "398a59b4ac00000000000000"},
  };
  const Bytes aad = hex("a0a1a2a3");
  const Bytes plaintext = hex("000102030405060708090a0b0c0d0e0f1011");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.nonce);
    Bytes by_pdu = plaintext;
    Bytes by_nonce = plaintext;
    std::array<std::uint8_t, kGcmTagSize> tag_pdu{};
    std::array<std::uint8_t, kGcmTagSize> tag_nonce{};
    ASSERT_TRUE(gcm.seal(c.in, aad, by_pdu, tag_pdu));
    ASSERT_TRUE(crypto::detail::aes_128_gcm_seal(test_key(), hex(c.nonce), aad, by_nonce, tag_nonce));
    EXPECT_EQ(by_pdu, by_nonce);
    EXPECT_EQ(tag_pdu, tag_nonce);
  }
}

class GcmOpen : public ::testing::Test {
 protected:
  void SetUp() override {
    ciphertext_ = plaintext_;
    ASSERT_TRUE(gcm_.seal(in_, aad_, ciphertext_, tag_));
  }

  // open() on copies; on refusal, checks cause #7, check "pdu_tag" and that the buffer came back zeroed.
  void expect_refused(const PduInput& in, Bytes aad, Bytes data, ByteView tag) {
    const std::size_t size = data.size();
    Status status = gcm_.open(in, aad, data, tag);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().cause, Cause::kIntegrityFailure);
    EXPECT_EQ(status.error().check, "pdu_tag");
    EXPECT_EQ(data, Bytes(size, 0)) << "unauthenticated plaintext left in the buffer";
  }

  Aes128Gcm gcm_ = must(Aes128Gcm::create(test_key()));
  const PduInput in_{0x00ABCDEF, 12, 1};
  const Bytes aad_ = hex("4002000c00abcdef");
  const Bytes plaintext_ = hex("45000054a6f200004001e41f0a0000010a000002080045e6");
  Bytes ciphertext_;
  std::array<std::uint8_t, kGcmTagSize> tag_{};
};

TEST_F(GcmOpen, RoundTripsWhatSealProduced) {
  EXPECT_NE(ciphertext_, plaintext_);
  Bytes data = ciphertext_;
  ASSERT_TRUE(gcm_.open(in_, aad_, data, tag_));
  EXPECT_EQ(data, plaintext_);
}

TEST_F(GcmOpen, RefusesAFlippedBitInTheCiphertext) {
  for (std::size_t bit = 0; bit < 8 * ciphertext_.size(); ++bit) {
    Bytes data = ciphertext_;
    data[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    expect_refused(in_, aad_, data, tag_);
  }
}

TEST_F(GcmOpen, RefusesAFlippedBitInTheAad) {
  for (std::size_t bit = 0; bit < 8 * aad_.size(); ++bit) {
    Bytes aad = aad_;
    aad[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    expect_refused(in_, aad, ciphertext_, tag_);
  }
  expect_refused(in_, {}, ciphertext_, tag_);
}

TEST_F(GcmOpen, RefusesAFlippedBitInTheTag) {
  for (std::size_t bit = 0; bit < 8 * kGcmTagSize; ++bit) {
    auto tag = tag_;
    tag[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    expect_refused(in_, aad_, ciphertext_, tag);
  }
}

TEST_F(GcmOpen, RefusesAWrongCountBearerOrDirection) {
  expect_refused(PduInput{in_.count + 1, in_.bearer, in_.direction}, aad_, ciphertext_, tag_);
  expect_refused(PduInput{in_.count, static_cast<std::uint8_t>(in_.bearer ^ 1), in_.direction}, aad_, ciphertext_,
                 tag_);
  expect_refused(PduInput{in_.count, in_.bearer, static_cast<std::uint8_t>(in_.direction ^ 1)}, aad_, ciphertext_,
                 tag_);
}

TEST_F(GcmOpen, RefusesATagThatIsNotSixteenOctets) {
  expect_refused(in_, aad_, ciphertext_, ByteView(tag_).first(12));
  expect_refused(in_, aad_, ciphertext_, ByteView{});
  Bytes longer(tag_.begin(), tag_.end());
  longer.push_back(0);
  expect_refused(in_, aad_, ciphertext_, longer);
}

TEST_F(GcmOpen, StillOpensGenuinePdusAfterRefusingForgedOnes) {
  auto forged = tag_;
  forged[0] ^= 1;
  expect_refused(in_, aad_, ciphertext_, forged);
  Bytes data = ciphertext_;
  ASSERT_TRUE(gcm_.open(in_, aad_, data, tag_));
  EXPECT_EQ(data, plaintext_);
}

TEST(Gcm, EmptyPayloadAndEmptyAadStillCarryATagThatIsChecked) {
  auto gcm = must(Aes128Gcm::create(test_key()));
  std::array<std::uint8_t, kGcmTagSize> tag{};
  Bytes empty;
  ASSERT_TRUE(gcm.seal(PduInput{5, 1, 0}, {}, empty, tag));
  EXPECT_TRUE(gcm.open(PduInput{5, 1, 0}, {}, empty, tag));
  EXPECT_FALSE(gcm.open(PduInput{6, 1, 0}, {}, empty, tag));
}

// ---- Common to the three ----

TEST(PduCipher, KeysOfOtherThanSixteenOctetsAreRefused) {
  for (std::size_t size : {0, 15, 17, 32}) {
    const SecretBytes key(size);
    auto nea2 = Nea2::create(key);
    auto nia2 = Nia2::create(key);
    auto gcm = Aes128Gcm::create(key);
    ASSERT_FALSE(nea2) << size;
    ASSERT_FALSE(nia2) << size;
    ASSERT_FALSE(gcm) << size;
    EXPECT_EQ(nea2.error().check, "pdu_key");
    EXPECT_EQ(nia2.error().check, "pdu_key");
    EXPECT_EQ(gcm.error().check, "pdu_key");
  }
}

TEST(PduCipher, BearerAbove31OrDirectionAbove1IsRefusedByEveryAlgorithm) {
  auto nea2 = must(Nea2::create(test_key()));
  auto nia2 = must(Nia2::create(test_key()));
  auto gcm = must(Aes128Gcm::create(test_key()));
  for (const PduInput& bad : {PduInput{0, 32, 0}, PduInput{0, 255, 0}, PduInput{0, 0, 2}, PduInput{0, 0, 255}}) {
    Bytes data(8, 0x11);
    std::array<std::uint8_t, kGcmTagSize> tag{};
    Status nea2_status = nea2.apply(bad, data);
    ASSERT_FALSE(nea2_status);
    EXPECT_EQ(nea2_status.error().check, "pdu_input");
    EXPECT_EQ(data, Bytes(8, 0x11));
    auto mac_i = nia2.mac(bad, data);
    ASSERT_FALSE(mac_i);
    EXPECT_EQ(mac_i.error().check, "pdu_input");
    Status verified = nia2.verify(bad, data, {}, Bytes(4, 0));
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().check, "pdu_input");
    Status sealed = gcm.seal(bad, {}, data, tag);
    ASSERT_FALSE(sealed);
    EXPECT_EQ(sealed.error().check, "pdu_input");
    Status opened = gcm.open(bad, {}, data, tag);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().check, "pdu_input");
  }
  // The largest legal values are taken.
  Bytes data(8, 0);
  EXPECT_TRUE(nea2.apply(PduInput{0xFFFFFFFF, 31, 1}, data));
}

TEST(PduCipher, MovedObjectsKeepWorkingAndTheMovedFromOnesRefuse) {
  auto created = must(Nea2::create(test_key()));
  Bytes reference(20, 0);
  ASSERT_TRUE(created.apply(PduInput{1, 1, 1}, reference));
  Nea2 moved = std::move(created);
  Bytes data(20, 0);
  ASSERT_TRUE(moved.apply(PduInput{1, 1, 1}, data));
  EXPECT_EQ(data, reference);
  Status status = created.apply(PduInput{1, 1, 1}, data);  // NOLINT(bugprone-use-after-move): the point
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().check, "pdu_cipher");

  auto nia2 = must(Nia2::create(test_key()));
  const Nia2Mac mac_i = must(nia2.mac(PduInput{}, data));
  Nia2 nia2_moved = std::move(nia2);
  EXPECT_EQ(must(nia2_moved.mac(PduInput{}, data)), mac_i);
  EXPECT_FALSE(nia2.mac(PduInput{}, data));  // NOLINT(bugprone-use-after-move)

  auto gcm = must(Aes128Gcm::create(test_key()));
  std::array<std::uint8_t, kGcmTagSize> tag{};
  Aes128Gcm gcm_moved = std::move(gcm);
  EXPECT_TRUE(gcm_moved.seal(PduInput{}, {}, data, tag));
  EXPECT_FALSE(gcm.seal(PduInput{}, {}, data, tag));  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace u2u::test
