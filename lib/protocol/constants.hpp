#pragma once
// Every constant of the procedure: signature context labels, KDF FC values, limits and timers, with their
// source. docs/protocol.md sections 4-6 document each.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace u2u::protocol {

// Signature coverage: a signature is ECDSA P-256/SHA-256 over  label || 0x00 || message bytes before the
// signature's IE. The label names the signer's seed step, so that no signature can be replayed as another.
inline constexpr std::string_view kLabelSignSource = "U2U-RELAY-AUTH v1 step 1 SIGN-Source UE";
inline constexpr std::string_view kLabelSign1Relay = "U2U-RELAY-AUTH v1 step 2 SIGN1-relay";
inline constexpr std::string_view kLabelSignTarget = "U2U-RELAY-AUTH v1 step 5 SIGN-Target UE";
inline constexpr std::string_view kLabelSign2Relay = "U2U-RELAY-AUTH v1 step 6 SIGN2-relay";

// Each signature of the procedure: its label, its name in the seed, and the check name logs and tests use.
struct StepSignature {
  std::string_view label;
  std::string_view name;
  std::string_view check;
};
inline constexpr StepSignature kSignSource{kLabelSignSource, "SIGN-Source UE", "sign_source"};
inline constexpr StepSignature kSign1Relay{kLabelSign1Relay, "SIGN1-relay", "sign1_relay"};
inline constexpr StepSignature kSignTarget{kLabelSignTarget, "SIGN-Target UE", "sign_target"};
inline constexpr StepSignature kSign2Relay{kLabelSign2Relay, "SIGN2-relay", "sign2_relay"};

// Key confirmation MACs: HMAC-SHA-256 under K_int over  label || 0x00 || covered bytes (docs/protocol.md 6).
inline constexpr std::string_view kLabelAcceptMac = "U2U-RELAY-AUTH v1 step 5 key confirmation";
inline constexpr std::string_view kLabelLinkConfirmMac = "U2U-RELAY-AUTH v1 step 9 link confirmation";

// TS 33.220 Annex B.2.0 KDF function codes.
inline constexpr std::uint8_t kFcKdSess = 0x7F;  // TS 33.536 Annex A: KNRP-sess (here KD-sess)
// TS 33.536 Annex A: NRPEK/NRPIK = KDF(KNRP-sess; FC 0x7E; P0 algorithm type distinguisher; P1 algorithm
// identity), the key being the 128 least significant bits. Here K_int, the integrity key of key confirmation.
inline constexpr std::uint8_t kFcNrpKeys = 0x7E;
inline constexpr std::uint8_t kAlgorithmTypeIntegrity = 0x01;
inline constexpr std::uint8_t kAlgorithmIdHmacSha256 = 0xF1;  // chosen by this project: HMAC-SHA-256
inline constexpr std::size_t kIntegrityKeySize = 16;
// Chosen by this project (not allocated by 3GPP): KD from the ECDH secret, and the public key identifiers.
inline constexpr std::uint8_t kFcKd = 0xE0;
inline constexpr std::uint8_t kFcKdId = 0xE1;
inline constexpr std::uint8_t kFcKdSessId = 0xE2;
inline constexpr std::size_t kKeyIdSize = 4;  // octets of KD ID / KD-sess ID, logged as 8 hex digits

// The session label in logs: the first octets of the request digest, shared by all three parties.
inline constexpr std::size_t kSessionIdSize = 8;

// Defaults (overridable in config). T5080 in TS 24.554 bounds the wait for an answer to a request.
inline constexpr std::chrono::milliseconds kDefaultHandshakeTimeout{5000};
inline constexpr std::chrono::milliseconds kDefaultRelayPendingTimeout{10000};
inline constexpr std::size_t kDefaultRelayMaxPending = 1024;
inline constexpr std::chrono::milliseconds kDefaultTargetSessionTimeout{30000};
inline constexpr std::size_t kDefaultTargetMaxSessions = 1024;
// Replay refusal: (source User Info ID, Nonce_1) pairs remembered by the relay and the target.
inline constexpr std::chrono::milliseconds kDefaultReplayWindow{300000};
inline constexpr std::size_t kDefaultReplayCacheSize = 16384;

}  // namespace u2u::protocol
