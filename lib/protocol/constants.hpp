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

// The MACs of the link messages: HMAC-SHA-256 under K_int over  label || 0x00 || the message before its MAC IE.
// A release names its sender, so that a release cannot be reflected back to the end that sent it.
inline constexpr std::string_view kLabelLinkConfirmAck = "U2U-RELAY-AUTH v1 LINK CONFIRM ACK";
inline constexpr std::string_view kLabelKeepaliveRequest = "U2U-RELAY-AUTH v1 KEEPALIVE REQUEST";
inline constexpr std::string_view kLabelKeepaliveResponse = "U2U-RELAY-AUTH v1 KEEPALIVE RESPONSE";
inline constexpr std::string_view kLabelReleaseRequest = "U2U-RELAY-AUTH v1 RELEASE REQUEST from the source UE";
inline constexpr std::string_view kLabelReleaseAccept = "U2U-RELAY-AUTH v1 RELEASE ACCEPT from the target UE";
// Rekeying (docs/protocol.md 12): the REQUEST under the current K_int, the RESPONSE and the CONFIRM under the new one.
inline constexpr std::string_view kLabelRekeyingRequest = "U2U-RELAY-AUTH v1 REKEYING REQUEST";
inline constexpr std::string_view kLabelRekeyingResponse = "U2U-RELAY-AUTH v1 REKEYING RESPONSE";
inline constexpr std::string_view kLabelRekeyingConfirm = "U2U-RELAY-AUTH v1 REKEYING CONFIRM";

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
// Rekeying with forward secrecy (docs/protocol.md 12.3): KD' = KDF(KD; FC 0xE3; P0 = the rekeying's ECDH secret).
inline constexpr std::uint8_t kFcRekeyedKd = 0xE3;
inline constexpr std::size_t kKeyIdSize = 4;  // octets of KD ID / KD-sess ID, logged as 8 hex digits

// The session label in logs: the first octets of the request digest, shared by all three parties.
inline constexpr std::size_t kSessionIdSize = 8;

// Defaults (overridable in config), after the TS 24.554 timers (lib/protocol/timers.hpp lists each). The
// specification's values are for a radio; these suit a UDP testbed whose links may lose a third of the datagrams:
// T5080 starts at 0.5 s and doubles up to 1 s, 20 tries (0.5 + 19 x 1 = 19.5 s in all). Every try of a request
// or a LINK CONFIRM is a round trip over four hops; a retry costs the relay and the target nothing but a cached
// answer. Measured in docs/reliability.md. A keep-alive every 10 s (T5084), answered within 1 s (T5085) or sent
// again, 3 tries.
inline constexpr std::chrono::milliseconds kDefaultT5080{500};
inline constexpr std::chrono::milliseconds kDefaultT5080Max{1000};
inline constexpr unsigned kDefaultMaxTries = 20;
inline constexpr unsigned kJitterPercent = 20;
inline constexpr std::chrono::milliseconds kDefaultKeepaliveInterval{10000};  // T5084
inline constexpr std::chrono::milliseconds kDefaultKeepaliveTimeout{1000};    // T5085
inline constexpr unsigned kDefaultKeepaliveMaxTries = 3;
// The relay and the target free a link not heard from for this long (more than T5084 + 3 x T5085).
inline constexpr std::chrono::milliseconds kDefaultLinkTimeout{45000};
// A link ends at the latest this long after it was established, or when a certificate it rests on expires
// (docs/protocol.md 7.3): the source then releases it and authenticates anew. The target and the relay give the
// source kLinkLifetimeGrace to do so before they forget the link themselves.
inline constexpr std::chrono::milliseconds kDefaultLinkMaxLifetime{24 * 3600 * 1000};
inline constexpr std::chrono::milliseconds kLinkLifetimeGrace{60000};
// link_stats (issue 15): each end logs each link's data counters this often (data.link_stats_interval_ms); the relay
// only when its link_stats_interval_ms is set. 0 is off; otherwise at least kMinLinkStatsInterval.
inline constexpr std::chrono::milliseconds kDefaultLinkStatsInterval{60000};
inline constexpr std::chrono::milliseconds kMinLinkStatsInterval{1000};
// Rekeying (issue 15; docs/protocol.md 12): each end starts one when its keys have been in use data.rekey_after_seconds
// (0: never by time), when it sent data.rekey_after_packets PDUs under them, and always when COUNT reaches
// dataplane::kRekeyForcedAtCount. A REQUEST is sent again on T5080's schedule until answered, a RESPONSE until
// confirmed; the tries run out as T5080's (rekey_failed: the old keys stay). After a switch to new keys the old ones
// are still accepted for kRekeyOldKeysLinger (PDUs and link messages in flight, a peer that has not switched yet),
// then wiped.
inline constexpr std::chrono::milliseconds kDefaultRekeyAfter{3600 * 1000};
inline constexpr std::chrono::milliseconds kMinRekeyAfter{1000};
inline constexpr std::chrono::milliseconds kRekeyOldKeysLinger{5000};
inline constexpr std::size_t kRekeyMaxPreviousKeys = 8;  // K_ints kept for link messages, however fast rekeyings come
// A released link's RELEASE ACCEPT is kept this long for a retransmitted RELEASE REQUEST.
inline constexpr std::chrono::milliseconds kReleaseLinger{10000};
// A RELEASE REQUEST is tried at most this often on T5080's schedule (0.5 + 3 x 1 s = 3.5 s, +-20 % jitter): a
// stopping source-ue does not wait out 19.5 s for a relay that is gone; the relay and the target forget an
// unreleased link after kDefaultLinkTimeout anyway.
inline constexpr unsigned kReleaseMaxTries = 4;
// A daemon whose listen address is not on the host yet (EADDRNOTAVAIL: an interface or DHCP still coming up)
// tries to bind again this often, and says so in its log at the first try and then at this interval.
inline constexpr std::chrono::milliseconds kAddressRetryInterval{1000};
inline constexpr std::chrono::milliseconds kAddressWaitLogInterval{60000};
inline constexpr std::size_t kDefaultRelayMaxLinks = 4096;
// The relay's limit on new requests per source address, before any signature check.
inline constexpr double kDefaultRateLimitPerSecond = 5.0;
inline constexpr double kDefaultRateLimitBurst = 10.0;
inline constexpr std::size_t kRateLimitSources = 65536;

// Discovery (docs/protocol.md section 10): an announcement or solicitation each second; a peer not heard from
// for 3.5 intervals is forgotten; timestamps within 30 s of the receiver's clock. Relay service code: the
// project's (TS 24.554 11.2.8 leaves its values to the operator).
inline constexpr std::chrono::milliseconds kDefaultDiscoveryInterval{1000};
inline constexpr std::chrono::milliseconds kDefaultDiscoveryLifetime{3500};
inline constexpr std::chrono::milliseconds kDefaultDiscoveryMaxClockSkew{30000};
inline constexpr std::uint32_t kDefaultRelayServiceCode = 0x000001;
// Discovery messages that need a signature check, per sender address, before the check (as for requests).
inline constexpr double kDiscoveryRateLimitPerSecond = 5.0;
inline constexpr double kDiscoveryRateLimitBurst = 10.0;
// A relay keeps at most this many discovered targets (learnt from TARGET DISCOVERY ANNOUNCEMENTs and RESPONSEs)
// beside its configured ones, which it never forgets and always announces first. Each discovered target needs only
// a UE credential, so the table is bounded, one entry per credential, first come first kept: when it is full a new
// target is ignored until one falls silent (docs/protocol.md 10.3).
inline constexpr std::size_t kMaxDiscoveredTargets = 256;
// A relay whose link failed is avoided this long when another can be selected.
inline constexpr std::chrono::milliseconds kRelayAvoidance{30000};
// The discovery signature's label: this prefix and the message's name (wire::discovery_name()).
inline constexpr std::string_view kLabelDiscovery = "U2U-RELAY-AUTH v1 discovery ";
// Loss paid per hop (issue 13; docs/protocol.md 7.1): what the relay forwards on one hop and expects an answer to on
// that hop (a request to the target, an accept to the source, a LINK CONFIRM, KEEPALIVE REQUEST or RELEASE REQUEST to
// the target) it sends again on T5080's default schedule, without jitter (0.5 s doubling to 1 s), until the answer
// comes or kRelayHopMaxTries were sent, never after its route ends. At 50 % loss a round trip over one hop succeeds
// with probability 1/4 instead of 1/16 over two.
inline constexpr std::chrono::milliseconds kRelayHopRetransmit{500};
inline constexpr std::chrono::milliseconds kRelayHopRetransmitMax{1000};
inline constexpr unsigned kRelayHopMaxTries = 20;
// Nothing answers the LINK CONFIRM ACK: the relay sends it to the source this many more times on the same schedule,
// so that the last hop's loss does not wait for the source's next LINK CONFIRM (a round trip over that hop).
inline constexpr unsigned kRelayAckCopies = 3;
// A pending request whose accept failed the relay's checks this many times is refused (REJECT #6) and forgotten:
// a damaged accept is a lost one, but the relay verifies no more than this many for one request.
inline constexpr unsigned kRelayMaxFailedAccepts = 8;
// Both outlast a handshake and its confirmation at the longest T5080 schedule (2 x 19.5 s).
inline constexpr std::chrono::milliseconds kDefaultRelayPendingTimeout{45000};
inline constexpr std::size_t kDefaultRelayMaxPending = 1024;
// The share of the relay's pending table that one source User Info ID, or one sending host (sender_host()), may hold:
// a source runs one handshake at a time, and a few more wait out pending_timeout after it gave up on them.
inline constexpr std::size_t kDefaultRelayMaxPendingPerSource = 4;
inline constexpr std::size_t kDefaultRelayMaxPendingPerHost = 16;
inline constexpr std::chrono::milliseconds kDefaultTargetSessionTimeout{45000};
inline constexpr std::size_t kDefaultTargetMaxSessions = 1024;
// The share of the target's session table (handshakes answered and not yet confirmed) that one source User Info ID,
// or one relay (by its address), may hold.
inline constexpr std::size_t kDefaultTargetMaxSessionsPerSource = 4;
inline constexpr std::size_t kDefaultTargetMaxSessionsPerRelay = 512;
// Copies of an answered request (the relay retransmitting it) answered with the cached accept, per relay host.
inline constexpr double kCopyRateLimitPerSecond = 100.0;
inline constexpr double kCopyRateLimitBurst = 200.0;
// The relay's and the target's signature work (issue 11) runs on `workers` threads (default: one per core the
// daemon may use; 0: on the I/O thread). At most kJobsPerWorker new handshakes per worker are being verified at
// once; beyond, new requests are refused with #5 before any signature work. At about 0.3 ms of cryptography each
// (docs/performance.md), 32 make a queue of at most about 10 ms per worker.
inline constexpr std::size_t kMaxWorkers = 256;
inline constexpr std::size_t kJobsPerWorker = 32;
// Replay refusal: (source User Info ID, Nonce_1) pairs remembered by the relay and the target.
inline constexpr std::chrono::milliseconds kDefaultReplayWindow{300000};
inline constexpr std::size_t kDefaultReplayCacheSize = 16384;

}  // namespace u2u::protocol
