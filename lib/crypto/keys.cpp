#include "crypto/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "crypto/constants.hpp"
#include "crypto/openssl_ptr.hpp"

namespace u2u::crypto {

namespace {

using detail::openssl_error;

constexpr int kScalarOctets = static_cast<int>(kScalarSize);  // r and s in a P1363 signature, for BN_* calls

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// True when `key` is an EC key on P-256 given by name.
bool is_p256(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return false;
  return std::strcmp(name, "prime256v1") == 0 || std::strcmp(name, "P-256") == 0;
}

const BIGNUM* p256_order() {
  static const EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  return EC_GROUP_get0_order(group);
}

// floor(n / 2): the largest s of a low-S signature.
const BIGNUM* p256_half_order() {
  static const BIGNUM* half = [] {
    BIGNUM* h = BN_dup(p256_order());
    if (h == nullptr || BN_rshift1(h, h) != 1) std::abort();
    return h;
  }();
  return half;
}

// s > n/2: the high half, where the twin (r, n - s) of every low-S signature lies.
bool is_high_s(const BIGNUM* s) { return BN_cmp(s, p256_half_order()) > 0; }

Error auth_error(std::string reason) {
  return make_error(Cause::kAuthenticationFailure, "signature", std::move(reason));
}

// The verifier's half of low-S (docs/protocol.md 4.1): checked before the signature is, as the cheaper check.
Status refuse_high_s(const ECDSA_SIG* sig) {
  if (!is_high_s(ECDSA_SIG_get0_s(sig))) return {};
  return make_error(Cause::kAuthenticationFailure, "signature_high_s",
                    "ECDSA signature is not low-S (s > n/2): the malleable twin (r, n - s) of a signature is refused");
}

Status verify_der_impl(EVP_PKEY* key, ByteView message, ByteView der) {
  detail::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return openssl_error(Cause::kAuthenticationFailure, "signature", "cannot initialise ECDSA verification");
  }
  const int rc = EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size());
  detail::openssl_error_text();  // a failed verification leaves entries in the queue; they say nothing more
  if (rc != 1) return auth_error("ECDSA signature does not verify");
  return {};
}

}  // namespace

Result<PublicKey> PublicKey::from_uncompressed_point(ByteView point) {
  if (point.size() != kUncompressedPointSize || point[0] != 0x04) {
    return make_error(Cause::kProtocolErrorUnspecified, "public_key", "not an uncompressed P-256 point");
  }
  detail::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return openssl_error(Cause::kProtocolErrorUnspecified, "public_key", "cannot build key parameters");
  }
  detail::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  detail::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return openssl_error(Cause::kProtocolErrorUnspecified, "public_key", "not a point on P-256");
  }
  auto shared = share(key);
  detail::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  // On P-256 (cofactor 1) a point on the curve that is not the point at infinity is a valid public key: the quick
  // check is the complete one (SP 800-56A 5.6.2.3.4), without the full check's extra scalar multiplication.
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) {
    return openssl_error(Cause::kProtocolErrorUnspecified, "public_key", "not a valid P-256 public key");
  }
  return PublicKey(std::move(shared));
}

Result<PublicKey> PublicKey::from_spki_der(ByteView der) {
  // Exactly one encoding is DER for a P-256 key by named curve with an uncompressed point: this prefix and the
  // 65-octet point. Anything else (explicit parameters, compressed points, BER lengths) is refused.
  static constexpr std::uint8_t kPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
  if (der.size() != sizeof kPrefix + kUncompressedPointSize ||
      !std::equal(std::begin(kPrefix), std::end(kPrefix), der.begin())) {
    return make_error(Cause::kProtocolErrorUnspecified, "public_key",
                      "not the DER SubjectPublicKeyInfo of an uncompressed P-256 key by named curve");
  }
  return from_uncompressed_point(der.subspan(sizeof kPrefix));
}

Status PublicKey::verify(ByteView message, ByteView signature) const {
  if (signature.size() != kEcdsaSignatureSize) return auth_error("ECDSA signature is not 64 octets");
  detail::EcdsaSigPtr sig(ECDSA_SIG_new());
  detail::BnPtr r(BN_bin2bn(signature.data(), kScalarOctets, nullptr));
  detail::BnPtr s(BN_bin2bn(signature.data() + kScalarSize, kScalarOctets, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return openssl_error(Cause::kAuthenticationFailure, "signature", "cannot build ECDSA signature");
  }
  r.release();  // now owned by sig
  s.release();
  if (auto low_s = refuse_high_s(sig.get()); !low_s) return low_s;
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_size <= 0) return openssl_error(Cause::kAuthenticationFailure, "signature", "cannot encode signature");
  const Status result = verify_der_impl(key_.get(), message, ByteView(der, static_cast<std::size_t>(der_size)));
  OPENSSL_free(der);
  return result;
}

Status PublicKey::verify_der(ByteView message, ByteView signature) const {
  const unsigned char* p = signature.data();
  detail::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
  if (!sig) {
    detail::openssl_error_text();  // not even BER: verify_der_impl refuses it below
  } else if (auto low_s = refuse_high_s(sig.get()); !low_s) {
    return low_s;
  }
  return verify_der_impl(key_.get(), message, signature);  // which also refuses any encoding but DER
}

Bytes PublicKey::uncompressed_point() const {
  Bytes out(kUncompressedPointSize);
  std::size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(), out.size(), &size) !=
          1 ||
      size != kUncompressedPointSize) {
    std::abort();  // every PublicKey is a P-256 key; its encoding cannot fail but for memory exhaustion
  }
  return out;
}

bool PublicKey::operator==(const PublicKey& other) const { return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1; }

Result<PrivateKey> PrivateKey::generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return openssl_error(Cause::kNone, "private_key", "cannot generate a P-256 key");
  return PrivateKey(share(key));
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  detail::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) return openssl_error(Cause::kNone, "private_key", "not a PEM private key");
  auto shared = share(key);
  if (!is_p256(key)) return make_error(Cause::kNone, "private_key", "not a P-256 (prime256v1) EC key");
  detail::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    return openssl_error(Cause::kNone, "private_key", "inconsistent P-256 key pair");
  }
  return PrivateKey(std::move(shared));
}

SecretBytes PrivateKey::to_pem() const {
  detail::BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    std::abort();
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)));
}

Result<EcdsaSignature> PrivateKey::sign(ByteView message) const {
  detail::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t der_size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_size, message.data(), message.size()) != 1) {
    return openssl_error(Cause::kNone, "sign", "cannot initialise ECDSA signing");
  }
  Bytes der(der_size);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_size, message.data(), message.size()) != 1) {
    return openssl_error(Cause::kNone, "sign", "ECDSA signing failed");
  }
  const unsigned char* p = der.data();
  detail::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_size)));
  if (!sig) return openssl_error(Cause::kNone, "sign", "cannot decode own signature");
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  EcdsaSignature out{};
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), kScalarOctets) != kScalarOctets ||
      BN_bn2binpad(s, out.data() + kScalarSize, kScalarOctets) != kScalarOctets) {
    return openssl_error(Cause::kNone, "sign", "cannot encode signature");
  }
  if (!is_high_s(s)) return out;
  auto low_s = ecdsa_twin(out);
  if (!low_s) std::abort();  // OpenSSL's s is in 1..n-1, whose twin always exists
  return low_s;
}

Result<EcdsaSignature> ecdsa_twin(const EcdsaSignature& signature) {
  detail::BnPtr s(BN_bin2bn(signature.data() + kScalarSize, kScalarOctets, nullptr));
  detail::BnPtr twin_s(BN_new());
  if (!s || !twin_s) std::abort();
  if (BN_is_zero(s.get()) || BN_cmp(s.get(), p256_order()) >= 0) {
    return make_error(Cause::kNone, "signature", "s is not in 1..n-1: the signature has no twin");
  }
  EcdsaSignature twin = signature;  // r as it is
  if (BN_sub(twin_s.get(), p256_order(), s.get()) != 1 ||
      BN_bn2binpad(twin_s.get(), twin.data() + kScalarSize, kScalarOctets) != kScalarOctets) {
    std::abort();  // 0 < n - s < n fits 32 octets; only memory exhaustion fails
  }
  return twin;
}

Result<SecretBytes> PrivateKey::ecdh(const PublicKey& peer) const {
  detail::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  std::size_t size = 0;
  // Every PublicKey was validated when it was made (from_uncompressed_point, a certificate's key, one's own): the
  // peer check of EVP_PKEY_derive_set_peer_ex would repeat it.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.key_.get(), 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1 || size != kEcdhSecretSize) {
    return openssl_error(Cause::kAuthenticationFailure, "ecdh", "P-256 ECDH refused the peer key");
  }
  SecretBytes secret(size);
  if (EVP_PKEY_derive(ctx.get(), secret.writable().data(), &size) != 1 || size != kEcdhSecretSize) {
    return openssl_error(Cause::kAuthenticationFailure, "ecdh", "P-256 ECDH failed");
  }
  return secret;
}

PublicKey PrivateKey::public_key() const {
  // A public-only copy, so that nothing holding a PublicKey can reach the private scalar.
  Bytes point(kUncompressedPointSize);
  std::size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                      &size) != 1) {
    std::abort();
  }
  auto pub = PublicKey::from_uncompressed_point(point);
  if (!pub) std::abort();
  return std::move(pub).value();
}

}  // namespace u2u::crypto
