#pragma once
// Every constant of the crypto layer, with its source. docs/protocol.md sections 4-5 document each.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace u2u::crypto {

// ECDSA and ECDH on NIST P-256 (secp256r1) with SHA-256.
inline constexpr std::string_view kCurveName = "P-256";
inline constexpr std::size_t kScalarSize = 32;
inline constexpr std::size_t kUncompressedPointSize = 65;  // 0x04 || X || Y
inline constexpr std::size_t kEcdhSecretSize = 32;         // the X coordinate of the shared point
inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kKdfOutputSize = 32;  // TS 33.220 B.2.0: HMAC-SHA-256, 256-bit output

// Roles, as extended key usages of the provisioning CA's certificates. The arc is a UUID-based OID
// (ITU-T X.667, 2.25.<UUID as an integer>) that the project owns: 3a506fab-1241-428f-8067-afbe0b7ac2d2.
inline constexpr std::string_view kOidArc = "2.25.77512872405339326791706027104185008850";
inline constexpr std::string_view kOidRoleUe = "2.25.77512872405339326791706027104185008850.1";
inline constexpr std::string_view kOidRoleRelay = "2.25.77512872405339326791706027104185008850.2";

// Certificate verification cache: how many distinct certificates keep their chain check.
inline constexpr std::size_t kCertificateCacheSize = 256;

}  // namespace u2u::crypto
