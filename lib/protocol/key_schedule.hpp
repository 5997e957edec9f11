#pragma once
// KD and KD-sess (seed steps 4 and 8; TS 33.536 Annex A), and the public identifiers logged for them.
#include <string>

#include "crypto/keys.hpp"
#include "crypto/secret_bytes.hpp"
#include "dataplane/suite.hpp"
#include "wire/messages.hpp"

namespace u2u::protocol {

struct SessionKeys {
  crypto::SecretBytes kd;
  crypto::SecretBytes kd_sess;
  crypto::SecretBytes k_int;                                   // key confirmation (NRPIK-style)
  std::string kd_id;                                           // 8 hex digits, safe to log
  std::string kd_sess_id;                                      // 8 hex digits, safe to log
  dataplane::Suite data_suite = dataplane::Suite::kAes128Gcm;  // negotiated in steps 1 and 5 (docs/protocol.md 11.2)
  bool forward_secrecy = false;  // the link was made with ephemeral keys: so is every rekeying of it
  std::uint32_t generation = 0;  // 0 from the handshake, then one more per rekeying (docs/protocol.md 12)
  // The 16-bit KD-sess ID data PDUs carry (docs/protocol.md 11.4, 12.3): the KD-sess ID's first two octets, one more
  // (as often as needed) when a rekeying's would equal that of the keys it replaces or of the keys before them, so
  // that the three key sets a receiver may hold always differ.
  std::uint16_t data_kd_sess_id = 0;
  std::uint16_t previous_data_kd_sess_id = 0;  // of the generation before (the same as data_kd_sess_id at 0)
};

// KD = KDF(Z; FC 0xE0; P0 = source User Info ID; P1 = target User Info ID), Z the P-256 ECDH secret.
crypto::SecretBytes derive_kd(const crypto::SecretBytes& ecdh_secret, std::string_view source_user_info_id,
                              std::string_view target_user_info_id);
// KD-sess = KDF(KD; FC 0x7F; P0 = Nonce_1; P1 = Nonce_2), as KNRP-sess in TS 33.536 Annex A; with the forward
// secrecy option, P2 = the ephemeral ECDH secret.
crypto::SecretBytes derive_kd_sess(const crypto::SecretBytes& kd, const wire::Nonce& nonce_1,
                                   const wire::Nonce& nonce_2, const crypto::SecretBytes* ephemeral_secret = nullptr);
// K_int = the 16 least significant octets of KDF(KD-sess; FC 0x7E; P0 = 0x01; P1 = 0xF1).
crypto::SecretBytes derive_k_int(const crypto::SecretBytes& kd_sess);
// ID = the first 4 octets of KDF(key; FC), hex.
std::string key_id(const crypto::SecretBytes& key, std::uint8_t fc);

// Rekeying (docs/protocol.md 12.3): the link's next keys from `current` and the rekeying's two nonces, the source
// UE's as P0 and the target UE's as P1 whoever started it: KD-sess' = KDF(KD'; FC 0x7F; P0; P1), with KD' = KD, or on
// a link with forward secrecy KD' = KDF(KD; FC 0xE3; P0 = `ecdh_secret`), the ECDH secret of the two fresh ephemeral
// keys. The generation is one more than current's.
SessionKeys derive_rekeyed_keys(const SessionKeys& current, const wire::Nonce& source_nonce,
                                const wire::Nonce& target_nonce, const crypto::SecretBytes* ecdh_secret);

// The whole schedule from one side's private key and the other side's public key.
// `ephemeral_secret` is the ephemeral ECDH secret of the forward secrecy option, or nullptr.
Result<SessionKeys> derive_session_keys(const crypto::PrivateKey& own, const crypto::PublicKey& peer,
                                        std::string_view source_user_info_id, std::string_view target_user_info_id,
                                        const wire::Nonce& nonce_1, const wire::Nonce& nonce_2,
                                        const crypto::SecretBytes* ephemeral_secret = nullptr);

}  // namespace u2u::protocol
