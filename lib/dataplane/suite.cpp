#include "dataplane/suite.hpp"

#include <algorithm>

#include "crypto/kdf.hpp"
#include "dataplane/constants.hpp"

namespace u2u::dataplane {

namespace {

constexpr std::uint8_t kFcNrpKeys = 0x7E;  // TS 33.536 Annex A
constexpr std::uint8_t kTypeEncryption = 0x00;
constexpr std::uint8_t kTypeIntegrity = 0x01;
constexpr std::uint8_t kAlgorithmNea2Nia2 = 0x02;  // TS 33.501 5.11.1.1 / 5.11.1.2: 128-NEA2 = 128-NIA2 = 0010
constexpr std::uint8_t kAlgorithmAes128Gcm = 0xF2;  // this project's
constexpr std::size_t kNrpKeySize = 16;

crypto::SecretBytes nrp_key(const crypto::SecretBytes& kd_sess, std::uint8_t type, std::uint8_t algorithm) {
  return crypto::kdf(kd_sess, kFcNrpKeys, {ByteView(&type, 1), ByteView(&algorithm, 1)}).last(kNrpKeySize);
}

}  // namespace

std::string_view suite_name(Suite suite) {
  switch (suite) {
    case Suite::kNea2Nia2: return "nea2-nia2";
    case Suite::kAes128Gcm: return "aes-128-gcm";
    case Suite::kNullNia2: return "null-nia2";
  }
  return "unknown";
}

std::optional<Suite> parse_suite(std::string_view name) {
  for (Suite s : {Suite::kNea2Nia2, Suite::kAes128Gcm, Suite::kNullNia2}) {
    if (suite_name(s) == name) return s;
  }
  return std::nullopt;
}

std::optional<Suite> suite_from_wire(std::uint8_t value) {
  switch (static_cast<Suite>(value)) {
    case Suite::kNea2Nia2:
    case Suite::kAes128Gcm:
    case Suite::kNullNia2: return static_cast<Suite>(value);
  }
  return std::nullopt;
}

std::size_t trailer_size(Suite suite) { return suite == Suite::kAes128Gcm ? kGcmTagSize : kNia2MacSize; }

bool ciphers(Suite suite) { return suite != Suite::kNullNia2; }

std::optional<Suite> choose_suite(std::span<const Suite> offered, std::span<const Suite> own_preference) {
  for (Suite s : own_preference) {
    if (std::find(offered.begin(), offered.end(), s) != offered.end()) return s;
  }
  return std::nullopt;
}

NrpKeys derive_nrp_keys(const crypto::SecretBytes& kd_sess, Suite suite) {
  NrpKeys keys;
  switch (suite) {
    case Suite::kNea2Nia2:
      keys.nrpek = nrp_key(kd_sess, kTypeEncryption, kAlgorithmNea2Nia2);
      keys.nrpik = nrp_key(kd_sess, kTypeIntegrity, kAlgorithmNea2Nia2);
      break;
    case Suite::kAes128Gcm: keys.nrpek = nrp_key(kd_sess, kTypeEncryption, kAlgorithmAes128Gcm); break;
    case Suite::kNullNia2: keys.nrpik = nrp_key(kd_sess, kTypeIntegrity, kAlgorithmNea2Nia2); break;
  }
  return keys;
}

}  // namespace u2u::dataplane
