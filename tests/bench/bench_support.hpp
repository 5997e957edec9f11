#pragma once
// The raw OpenSSL references of u2u-bench (tests/bench/u2u_bench.cpp): the work of the project's crypto API done by
// direct EVP calls, each in the plain form an OpenSSL 3 user would write, so that the difference between a pair is
// what the project adds. Benchmark code only: the project keeps OpenSSL inside lib/crypto (STYLE.md, point 5); these
// references live here so that they can be measured beside it. Every function reports failure (false, 0 or a null
// pointer); the benchmark turns that into an error.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>

#include "common/bytes.hpp"

namespace u2u::bench::raw {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, Deleter<EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kP256Scalar = 32;
inline constexpr std::size_t kMaxDerSignature = 72;  // an ECDSA P-256 signature, DER
inline constexpr std::size_t kAesBlock = 16;
using Sha256 = std::array<std::uint8_t, kSha256Size>;

// ---- keys ----

inline PkeyPtr private_key_from_pem(ByteView pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

inline X509Ptr parse_certificate(ByteView der) {
  const unsigned char* p = der.data();
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

inline PkeyPtr public_key_from_certificate(ByteView der) {
  X509Ptr x = parse_certificate(der);
  return PkeyPtr(x ? X509_get_pubkey(x.get()) : nullptr);  // a reference of its own
}

// A P-256 public key from its uncompressed point: EVP_PKEY_fromdata checks that the point is on the curve, and
// EVP_PKEY_public_check_quick that it is not the point at infinity. P-256 has cofactor 1, so such a point has order
// n: this is a complete validation (SP 800-56A 5.6.2.3.4) without the scalar multiplication n * Q.
inline PkeyPtr public_key_from_point(ByteView point) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PkeyPtr out(key);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) return nullptr;
  return out;
}

// ---- ECDSA P-256 / SHA-256 and ECDH ----

// r || s (P1363) as a DER ECDSA-Sig-Value; empty on failure.
inline Bytes der_signature(ByteView p1363) {
  if (p1363.size() != 2 * kP256Scalar) return {};
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p1363.data(), static_cast<int>(kP256Scalar), nullptr);
  BIGNUM* s = BN_bin2bn(p1363.data() + kP256Scalar, static_cast<int>(kP256Scalar), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &der);
  if (size <= 0) return {};
  Bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

// The DER signature's size, 0 on failure.
inline std::size_t sign(EVP_PKEY* key, ByteView message, std::span<std::uint8_t, kMaxDerSignature> out) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t size = out.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), out.data(), &size, message.data(), message.size()) != 1) {
    return 0;
  }
  return size;
}

inline bool verify(EVP_PKEY* key, ByteView message, ByteView der_signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(), message.data(), message.size()) == 1;
}

// The X coordinate of own * peer. `check_peer`: EVP_PKEY_derive_set_peer_ex's full public key check of the peer
// (what EVP_PKEY_derive_set_peer does by default), else none (the peer key was validated when it was imported).
inline bool ecdh(EVP_PKEY* own, EVP_PKEY* peer, bool check_peer, std::span<std::uint8_t, kP256Scalar> out) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t size = out.size();
  return ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
         EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, check_peer ? 1 : 0) == 1 &&
         EVP_PKEY_derive(ctx.get(), out.data(), &size) == 1 && size == out.size();
}

// ---- SHA-256, HMAC-SHA-256, the TS 33.220 KDF input ----

inline bool sha256(ByteView data, std::span<std::uint8_t, kSha256Size> out) {
  unsigned int size = 0;
  return EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) == 1 && size == kSha256Size;
}

// HMAC-SHA-256 through EVP_MAC, fetched once, one context re-keyed per message.
class Hmac {
 public:
  Hmac() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)), ctx_(mac_ ? EVP_MAC_CTX_new(mac_.get()) : nullptr) {
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    ok_ = ctx_ && EVP_MAC_CTX_set_params(ctx_.get(), params) == 1;
  }
  bool compute(ByteView key, ByteView data, std::span<std::uint8_t, kSha256Size> out) {
    std::size_t size = 0;
    return ok_ && EVP_MAC_init(ctx_.get(), key.data(), key.size(), nullptr) == 1 &&
           EVP_MAC_update(ctx_.get(), data.data(), data.size()) == 1 &&
           EVP_MAC_final(ctx_.get(), out.data(), &size, out.size()) == 1 && size == out.size();
  }

 private:
  MacPtr mac_;
  MacCtxPtr ctx_;
  bool ok_ = false;
};

// OpenSSL's one-shot HMAC() (which fetches the MAC implementation on every call).
inline bool hmac_oneshot(ByteView key, ByteView data, std::span<std::uint8_t, kSha256Size> out) {
  unsigned int size = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &size) !=
             nullptr &&
         size == kSha256Size;
}

// S = FC || P0 || L0 || P1 || L1 ... (TS 33.220 B.2.0) into a fixed buffer; its size, 0 when it does not fit.
template <std::size_t N>
std::size_t kdf_input(std::uint8_t fc, std::initializer_list<ByteView> parameters, std::array<std::uint8_t, N>& s) {
  std::size_t at = 0;
  s[at++] = fc;
  for (ByteView p : parameters) {
    if (at + p.size() + 2 > N) return 0;
    if (!p.empty()) std::memcpy(s.data() + at, p.data(), p.size());
    at += p.size();
    s[at++] = static_cast<std::uint8_t>(p.size() >> 8);
    s[at++] = static_cast<std::uint8_t>(p.size());
  }
  return at;
}

// ---- AES-128: GCM, CTR, CMAC; each context keyed once, only the IV or nonce set per message ----

class Gcm {
 public:
  Gcm(ByteView key, bool encrypt) : ctx_(EVP_CIPHER_CTX_new()), encrypt_(encrypt) {
    ok_ = ctx_ && key.size() == kAesBlock &&
          (encrypt ? EVP_EncryptInit_ex(ctx_.get(), EVP_aes_128_gcm(), nullptr, key.data(), nullptr)
                   : EVP_DecryptInit_ex(ctx_.get(), EVP_aes_128_gcm(), nullptr, key.data(), nullptr)) == 1;
  }
  // In place; the 16-octet tag into `tag`.
  bool seal(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data, std::uint8_t* tag) {
    int n = 0;
    std::uint8_t final_block[kAesBlock];
    return ok_ && encrypt_ && EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_EncryptUpdate(ctx_.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
           EVP_EncryptUpdate(ctx_.get(), data.data(), &n, data.data(), static_cast<int>(data.size())) == 1 &&
           EVP_EncryptFinal_ex(ctx_.get(), final_block, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAesBlock), tag) == 1;
  }
  // In place; false when the tag does not verify.
  bool open(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data, std::uint8_t* tag) {
    int n = 0;
    std::uint8_t final_block[kAesBlock];
    return ok_ && !encrypt_ && EVP_DecryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_DecryptUpdate(ctx_.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
           EVP_DecryptUpdate(ctx_.get(), data.data(), &n, data.data(), static_cast<int>(data.size())) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAesBlock), tag) == 1 &&
           EVP_DecryptFinal_ex(ctx_.get(), final_block, &n) == 1;
  }

 private:
  CipherCtxPtr ctx_;
  bool encrypt_;
  bool ok_ = false;
};

class Ctr {
 public:
  explicit Ctr(ByteView key) : ctx_(EVP_CIPHER_CTX_new()) {
    ok_ = ctx_ && key.size() == kAesBlock &&
          EVP_EncryptInit_ex(ctx_.get(), EVP_aes_128_ctr(), nullptr, key.data(), nullptr) == 1;
  }
  bool apply(const std::uint8_t* counter_block, std::span<std::uint8_t> data) {
    int n = 0;
    return ok_ && EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, counter_block) == 1 &&
           EVP_EncryptUpdate(ctx_.get(), data.data(), &n, data.data(), static_cast<int>(data.size())) == 1;
  }

 private:
  CipherCtxPtr ctx_;
  bool ok_ = false;
};

// AES-128-CMAC through EVP_MAC "CMAC": keyed once; EVP_MAC_init without a key restarts it with the same subkeys.
class Cmac {
 public:
  explicit Cmac(ByteView key) : mac_(EVP_MAC_fetch(nullptr, "CMAC", nullptr)) {
    ctx_.reset(mac_ ? EVP_MAC_CTX_new(mac_.get()) : nullptr);
    char cipher[] = "AES-128-CBC";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                                 OSSL_PARAM_construct_end()};
    ok_ = ctx_ && key.size() == kAesBlock && EVP_MAC_init(ctx_.get(), key.data(), key.size(), params) == 1;
  }
  // The whole 16-octet tag of the concatenation of `pieces`.
  bool compute(std::initializer_list<ByteView> pieces, std::span<std::uint8_t, kAesBlock> tag) {
    if (!ok_ || EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) return false;
    for (ByteView p : pieces) {
      if (EVP_MAC_update(ctx_.get(), p.data(), p.size()) != 1) return false;
    }
    std::size_t size = 0;
    return EVP_MAC_final(ctx_.get(), tag.data(), &size, tag.size()) == 1 && size == tag.size();
  }

 private:
  MacPtr mac_;
  MacCtxPtr ctx_;
  bool ok_ = false;
};

// ---- X.509 ----

// The cold check: parse the DER, verify the chain against the CA (time not checked, as the project checks it
// separately), and read what the identity binding needs: the CN, the extended key usage, the public key.
class ChainChecker {
 public:
  explicit ChainChecker(ByteView ca_der) : store_(X509_STORE_new()) {
    X509Ptr ca = parse_certificate(ca_der);
    ok_ = store_ && ca && X509_STORE_add_cert(store_.get(), ca.get()) == 1;
  }
  bool check(ByteView der) {
    if (!ok_) return false;
    X509Ptr leaf = parse_certificate(der);
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!leaf || !ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), nullptr) != 1) return false;
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx.get()) != 1) return false;
    char cn[256];
    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(leaf.get(), NID_ext_key_usage, nullptr, nullptr));
    const bool has_role = eku != nullptr && sk_ASN1_OBJECT_num(eku) > 0;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return has_role &&
           X509_NAME_get_text_by_NID(X509_get_subject_name(leaf.get()), NID_commonName, cn, sizeof cn) > 0 &&
           X509_get0_pubkey(leaf.get()) != nullptr;
  }

 private:
  StorePtr store_;
  bool ok_ = false;
};

// The warm check: a certificate whose chain verified before, found by the SHA-256 of its DER, and its key handed out.
class ChainCache {
 public:
  bool add(ByteView der) {
    Sha256 digest{};
    X509Ptr x = parse_certificate(der);
    if (!x || !sha256(der, digest)) return false;
    cache_[digest] = std::move(x);
    return true;
  }
  bool check(ByteView der) const {
    Sha256 digest{};
    if (!sha256(der, digest)) return false;
    const auto it = cache_.find(digest);
    if (it == cache_.end()) return false;
    EVP_PKEY* key = X509_get0_pubkey(it->second.get());
    if (key == nullptr || EVP_PKEY_up_ref(key) != 1) return false;
    EVP_PKEY_free(key);
    return true;
  }

 private:
  std::map<Sha256, X509Ptr> cache_;
};

}  // namespace u2u::bench::raw
