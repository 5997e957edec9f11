#pragma once
// The user-plane protection suites (docs/protocol.md 11.2), their negotiation, and their keys (TS 33.536 Annex A).
#include <array>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/secret_bytes.hpp"

namespace u2u::dataplane {

// Suite identifiers on the wire (IE 0x13, 0x14): this project's.
enum class Suite : std::uint8_t {
  kNea2Nia2 = 0x01,   // 128-NEA2 (AES-128-CTR) + 128-NIA2 (AES-128-CMAC, 32-bit MAC-I), TS 33.501 Annex D
  kAes128Gcm = 0x02,  // AES-128-GCM, one pass, 16-octet tag
  kNullNia2 = 0x03,   // no ciphering (NEA0) + 128-NIA2: only when both ends' configurations list it
};
inline constexpr std::array<Suite, 2> kDefaultSuites = {Suite::kAes128Gcm, Suite::kNea2Nia2};
inline constexpr std::size_t kMaxOfferedSuites = 4;

std::string_view suite_name(Suite suite);  // "aes-128-gcm", "nea2-nia2", "null-nia2"
std::optional<Suite> parse_suite(std::string_view name);
std::optional<Suite> suite_from_wire(std::uint8_t value);
std::size_t trailer_size(Suite suite);  // the MAC-I or tag after the payload
bool ciphers(Suite suite);              // false for the null cipher

// The target's choice (docs/protocol.md 11.2): the first suite of its own preference that the source offered.
std::optional<Suite> choose_suite(std::span<const Suite> offered, std::span<const Suite> own_preference);

// TS 33.536 Annex A: NRPEK = KDF(KD-sess; FC 0x7E; P0 0x00; P1 algorithm identity), NRPIK = KDF(KD-sess; FC 0x7E;
// P0 0x01; P1 algorithm identity), each the 128 least significant bits. 128-NEA2 and 128-NIA2 have the identity 0x02
// (TS 33.501 5.11.1.1, 5.11.1.2); AES-128-GCM has this project's 0xF2 and uses NRPEK only; the null suite NRPIK only.
struct NrpKeys {
  crypto::SecretBytes nrpek;  // empty when the suite does not cipher
  crypto::SecretBytes nrpik;  // empty for AES-128-GCM, whose tag is its integrity
};
NrpKeys derive_nrp_keys(const crypto::SecretBytes& kd_sess, Suite suite);

}  // namespace u2u::dataplane
