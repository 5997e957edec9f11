#pragma once
// P-256 keys: ECDSA with SHA-256 (signatures as r||s, IEEE P1363) and ECDH. Tink-style: validating
// factories, so that a key object that exists is a valid P-256 key.
#include <array>
#include <memory>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "crypto/secret_bytes.hpp"

struct evp_pkey_st;

namespace u2u::crypto {

inline constexpr std::size_t kEcdsaSignatureSize = 64;
using EcdsaSignature = std::array<std::uint8_t, kEcdsaSignatureSize>;

class PublicKey {
 public:
  // 0x04 || X || Y, a point on P-256 (checked).
  static Result<PublicKey> from_uncompressed_point(ByteView point);
  // A DER SubjectPublicKeyInfo of a P-256 key given by named curve (explicit parameters are refused).
  static Result<PublicKey> from_spki_der(ByteView der);

  // ECDSA P-256 / SHA-256 over `message`; `signature` is r||s, 32 octets each (P1363). Errors carry cause #6.
  // Low-S only (docs/protocol.md 4.1): a signature with s > n/2 is refused with check "signature_high_s" before
  // it is verified, so that the twin (r, n - s) of a genuine signature, which ECDSA alone accepts, is not a
  // second valid signature of the same message (see ecdsa_twin).
  Status verify(ByteView message, ByteView signature) const;
  // The same with an ASN.1 DER ECDSA-Sig-Value; non-DER encodings are refused, and high-S as by verify().
  Status verify_der(ByteView message, ByteView signature) const;

  Bytes uncompressed_point() const;
  bool operator==(const PublicKey& other) const;

 private:
  friend class PrivateKey;
  friend class Certificate;
  friend class CertificateAuthority;
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

// Something that produces ECDSA P-256 / SHA-256 signatures. The private key is one; tests substitute others.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual Result<EcdsaSignature> sign(ByteView message) const = 0;
};

// (r, n - s): the twin of an ECDSA P-256 signature (r || s, P1363), which ECDSA accepts for the same message and
// key; high-S when `signature` is low-S and the reverse. PrivateKey::sign emits the low one of the pair;
// tests build the high-S twin of a genuine signature with it, which PublicKey::verify must refuse. An error
// when s is not in 1..n-1 (no signature has it).
Result<EcdsaSignature> ecdsa_twin(const EcdsaSignature& signature);

class PrivateKey final : public Signer {
 public:
  static Result<PrivateKey> generate();
  // PKCS#8 or SEC1 PEM of a P-256 key; anything else is refused with a reason.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // PKCS#8 PEM; secret, so it comes back as SecretBytes.
  SecretBytes to_pem() const;

  // Low-S normalised (s <= n/2), so that the signer never emits the malleable twin of a signature.
  Result<EcdsaSignature> sign(ByteView message) const override;
  // The P-256 ECDH shared secret: the X coordinate of d * Q_peer, 32 octets.
  Result<SecretBytes> ecdh(const PublicKey& peer) const;
  PublicKey public_key() const;

 private:
  friend class CertificateAuthority;
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

}  // namespace u2u::crypto
