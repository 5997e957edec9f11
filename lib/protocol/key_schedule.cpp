#include "protocol/key_schedule.hpp"

#include "crypto/kdf.hpp"
#include "dataplane/pdu.hpp"
#include "protocol/constants.hpp"

namespace u2u::protocol {

crypto::SecretBytes derive_kd(const crypto::SecretBytes& ecdh_secret, std::string_view source_user_info_id,
                              std::string_view target_user_info_id) {
  return crypto::kdf(ecdh_secret, kFcKd, {as_bytes(source_user_info_id), as_bytes(target_user_info_id)});
}

crypto::SecretBytes derive_kd_sess(const crypto::SecretBytes& kd, const wire::Nonce& nonce_1,
                                   const wire::Nonce& nonce_2, const crypto::SecretBytes* ephemeral_secret) {
  if (ephemeral_secret == nullptr) return crypto::kdf(kd, kFcKdSess, {nonce_1, nonce_2});
  return crypto::kdf(kd, kFcKdSess, {nonce_1, nonce_2, ephemeral_secret->reveal()});
}

crypto::SecretBytes derive_k_int(const crypto::SecretBytes& kd_sess) {
  const std::uint8_t type = kAlgorithmTypeIntegrity;
  const std::uint8_t id = kAlgorithmIdHmacSha256;
  return crypto::kdf(kd_sess, kFcNrpKeys, {ByteView(&type, 1), ByteView(&id, 1)}).last(kIntegrityKeySize);
}

std::string key_id(const crypto::SecretBytes& key, std::uint8_t fc) {
  const crypto::SecretBytes derived = crypto::kdf(key, fc, {});
  return to_hex(derived.reveal().first(kKeyIdSize));
}

Result<SessionKeys> derive_session_keys(const crypto::PrivateKey& own, const crypto::PublicKey& peer,
                                        std::string_view source_user_info_id, std::string_view target_user_info_id,
                                        const wire::Nonce& nonce_1, const wire::Nonce& nonce_2,
                                        const crypto::SecretBytes* ephemeral_secret) {
  auto z = own.ecdh(peer);
  if (!z) return z.error();
  SessionKeys keys;
  keys.kd = derive_kd(*z, source_user_info_id, target_user_info_id);
  keys.kd_sess = derive_kd_sess(keys.kd, nonce_1, nonce_2, ephemeral_secret);
  keys.k_int = derive_k_int(keys.kd_sess);
  keys.kd_id = key_id(keys.kd, kFcKdId);
  keys.kd_sess_id = key_id(keys.kd_sess, kFcKdSessId);
  keys.forward_secrecy = ephemeral_secret != nullptr;
  keys.data_kd_sess_id = dataplane::short_kd_sess_id(keys.kd_sess_id);
  keys.previous_data_kd_sess_id = keys.data_kd_sess_id;
  return keys;
}

SessionKeys derive_rekeyed_keys(const SessionKeys& current, const wire::Nonce& source_nonce,
                                const wire::Nonce& target_nonce, const crypto::SecretBytes* ecdh_secret) {
  SessionKeys next;
  next.kd =
      ecdh_secret != nullptr ? crypto::kdf(current.kd, kFcRekeyedKd, {ecdh_secret->reveal()}) : current.kd.clone();
  next.kd_sess = derive_kd_sess(next.kd, source_nonce, target_nonce);
  next.k_int = derive_k_int(next.kd_sess);
  next.kd_id = key_id(next.kd, kFcKdId);
  next.kd_sess_id = key_id(next.kd_sess, kFcKdSessId);
  next.data_suite = current.data_suite;
  next.forward_secrecy = current.forward_secrecy;
  next.generation = current.generation + 1;
  next.data_kd_sess_id = dataplane::short_kd_sess_id(next.kd_sess_id);
  while (next.data_kd_sess_id == current.data_kd_sess_id || next.data_kd_sess_id == current.previous_data_kd_sess_id) {
    ++next.data_kd_sess_id;
  }
  next.previous_data_kd_sess_id = current.data_kd_sess_id;
  return next;
}

}  // namespace u2u::protocol
