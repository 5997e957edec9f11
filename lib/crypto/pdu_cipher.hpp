#pragma once
// PC5 user-plane protection primitives, per PDU: TS 33.536 uses the algorithms of TS 33.501, whose Annex D makes
// 128-NEA2 / 128-NIA2 identical to 128-EEA2 / 128-EIA2 of TS 33.401 Annex B (B.1.3 and B.2.3), plus AES-128-GCM
// with a nonce built from the same per-PDU inputs.
//
// Speed: each object initialises its OpenSSL context(s) with the key once, at create(); per PDU only the IV or nonce
// is set, and nothing is allocated on the success path.
//
// Threads: an object is NOT thread-safe. Its per-PDU methods drive an OpenSSL context that holds per-call state
// (counter, CBC chain, GHASH), so they are non-const: the type system stops two threads from sharing one object
// through a const reference. Use one object per thread (create() is cheap enough to run once per thread and key).
//
// Objects are movable, not copyable. A moved-from object refuses every call with an error (check "pdu_cipher").
//
// Errors: a bad key length is check "pdu_key"; BEARER >= 32 or DIRECTION >= 2 is "pdu_input"; a bit length beyond
// the buffer, or (NEA2, GCM) a buffer longer than OpenSSL takes in one call (INT_MAX octets), is "pdu_length";
// these are local programming errors (Cause::kNone). A MAC-I that does not verify is cause #7 (integrity failure) check
// "pdu_mac", a GCM tag that does not verify cause #7 check "pdu_tag". An OpenSSL failure is Cause::kNone, check
// "pdu_cipher".
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "crypto/secret_bytes.hpp"

struct evp_cipher_ctx_st;  // EVP_CIPHER_CTX; OpenSSL stays inside lib/crypto/*.cpp

namespace u2u::crypto {

inline constexpr std::size_t kPduKeySize = 16;    // NRPEK / NRPIK: 128 bits (TS 33.536)
inline constexpr std::size_t kNia2MacSize = 4;    // MAC-I: 32 bits (TS 33.401 B.2.3)
inline constexpr std::size_t kGcmTagSize = 16;    // the full 128-bit GCM tag
inline constexpr std::size_t kGcmNonceSize = 12;  // 96 bits (NIST SP 800-38D 5.2.1.1)
inline constexpr std::size_t kAesBlockSize = 16;
inline constexpr std::size_t kCmacSize = kAesBlockSize;  // the untruncated AES-CMAC (NIST SP 800-38B)

using Nia2Mac = std::array<std::uint8_t, kNia2MacSize>;
using CmacTag = std::array<std::uint8_t, kCmacSize>;

// COUNT, BEARER and DIRECTION: the per-PDU inputs of TS 33.401 B.1.3 / B.2.3. BEARER is 5 bits (< 32) and DIRECTION
// 1 bit (< 2); larger values are refused with check "pdu_input", never truncated.
struct PduInput {
  std::uint32_t count = 0;
  std::uint8_t bearer = 0;     // 5 bits
  std::uint8_t direction = 0;  // 1 bit
};

namespace detail {
struct CipherCtxFree {
  void operator()(evp_cipher_ctx_st* ctx) const noexcept;  // EVP_CIPHER_CTX_free
};
using CipherCtxPtr = std::unique_ptr<evp_cipher_ctx_st, CipherCtxFree>;

// ---- Internals exposed for the unit tests (tests/unit/pdu_cipher_test.cpp); not for protocol code ----

// The full 16-octet AES-128-CMAC of the first `bits` bits of `message`, by the same code as Nia2 (without its
// COUNT || BEARER || DIRECTION header). Checked against RFC 4493.
Result<CmacTag> aes_cmac(const SecretBytes& key, ByteView message, std::size_t bits);
// TEST HOOK: OpenSSL's own CMAC (EVP_MAC "CMAC", AES-128-CBC) of whole octets, an independent reference for
// aes_cmac; nothing but the tests calls it.
Result<CmacTag> openssl_reference_cmac_for_tests(const SecretBytes& key, ByteView message);
// AES-128-GCM with a raw 12-octet nonce, by the same code as Aes128Gcm: for the published GCM test vectors, whose
// nonces are not of the PDU form.
Status aes_128_gcm_seal(const SecretBytes& key, ByteView nonce, ByteView aad, std::span<std::uint8_t> data,
                        std::span<std::uint8_t, kGcmTagSize> tag);
Status aes_128_gcm_open(const SecretBytes& key, ByteView nonce, ByteView aad, std::span<std::uint8_t> data,
                        ByteView tag);
}  // namespace detail

// 128-NEA2 (TS 33.401 B.1.3): AES-128-CTR with the initial counter block
//   COUNT (32 bits, big-endian) || BEARER (5) || DIRECTION (1) || 0^26 || 0^64.
class Nea2 {
 public:
  // `key` (NRPEK) must be 16 octets, else check "pdu_key".
  static Result<Nea2> create(const SecretBytes& key);

  // XORs the keystream into `data` in place: encryption and decryption are the same call.
  Status apply(const PduInput& in, std::span<std::uint8_t> data);
  // Bit-length form (TS 33.401 Annex C): only the first `bits` bits of `data` are the message. The first
  // ceil(bits / 8) octets are processed and the unused low bits of the last of them are set to zero; octets after
  // those are left untouched. `bits` > data.size() * 8 is refused (check "pdu_length").
  Status apply(const PduInput& in, std::span<std::uint8_t> data, std::size_t bits);

  Nea2(Nea2&&) noexcept = default;
  Nea2& operator=(Nea2&&) noexcept = default;
  Nea2(const Nea2&) = delete;
  Nea2& operator=(const Nea2&) = delete;
  ~Nea2() = default;

 private:
  explicit Nea2(detail::CipherCtxPtr ctx) : ctx_(std::move(ctx)) {}
  detail::CipherCtxPtr ctx_;  // AES-128-CTR, keyed once
};

// 128-NIA2 (TS 33.401 B.2.3): AES-128-CMAC (NIST SP 800-38B) over
//   M = COUNT (32) || BEARER (5) || DIRECTION (1) || 0^26 || the message bits;
// MAC-I = the first 32 bits of the CMAC. The CMAC is computed here on top of AES-128-CBC (zero IV) with the subkeys
// K1, K2 derived once at create(), so that messages whose length is not a whole number of octets are MACed too.
class Nia2 {
 public:
  // `key` (NRPIK) must be 16 octets, else check "pdu_key".
  static Result<Nia2> create(const SecretBytes& key);

  Result<Nia2Mac> mac(const PduInput& in, ByteView message);
  // Only the first `bits` bits of `message` are MACed; the bits after them (in the last octet and beyond) are
  // ignored, whatever their value. `bits` > message.size() * 8 is refused (check "pdu_length").
  Result<Nia2Mac> mac(const PduInput& in, ByteView message, std::size_t bits);
  // The message given as two pieces (header || ciphertext, say), MACed as their concatenation without copying it.
  Result<Nia2Mac> mac(const PduInput& in, ByteView first, ByteView second);
  // Recomputes the MAC-I of first || second and compares it with `mac_i` in constant time. A mismatch, or a
  // `mac_i` that is not 4 octets, is cause #7 (integrity failure), check "pdu_mac".
  Status verify(const PduInput& in, ByteView first, ByteView second, ByteView mac_i);

  Nia2(Nia2&&) noexcept = default;
  Nia2& operator=(Nia2&&) noexcept = default;
  Nia2(const Nia2&) = delete;
  Nia2& operator=(const Nia2&) = delete;
  ~Nia2() = default;  // the subkeys are SecretBytes: wiped

 private:
  friend Result<CmacTag> detail::aes_cmac(const SecretBytes& key, ByteView message, std::size_t bits);
  Nia2(detail::CipherCtxPtr ctx, SecretBytes k1, SecretBytes k2)
      : ctx_(std::move(ctx)), k1_(std::move(k1)), k2_(std::move(k2)) {}
  // The CMAC of the first `bits` bits of p0 || p1 || p2.
  Result<CmacTag> cmac(ByteView p0, ByteView p1, ByteView p2, std::size_t bits);
  Result<Nia2Mac> mac_i(const PduInput& in, ByteView first, ByteView second, std::size_t bits);

  detail::CipherCtxPtr ctx_;  // AES-128-CBC, keyed once; the IV is reset to zero per message
  SecretBytes k1_;            // SP 800-38B subkeys: K1 = dbl(AES_K(0^128)), K2 = dbl(K1)
  SecretBytes k2_;
};

// AES-128-GCM, one pass, with the 96-bit nonce
//   COUNT (32, big-endian) || BEARER (5) || DIRECTION (1) || 0^2 || 0^56,
// i.e. octets 0-3 COUNT, octet 4 = BEARER << 3 | DIRECTION << 2, octets 5-11 zero. The key is fresh for every
// KD-sess and COUNT never repeats under one key for one (BEARER, DIRECTION), so a nonce never repeats: that is the
// caller's invariant, and GCM's security rests on it.
class Aes128Gcm {
 public:
  // 16 octets, else check "pdu_key".
  static Result<Aes128Gcm> create(const SecretBytes& key);

  // Encrypts `data` in place and writes the 16-octet tag over `aad` and the ciphertext.
  Status seal(const PduInput& in, ByteView aad, std::span<std::uint8_t> data, std::span<std::uint8_t, kGcmTagSize> tag);
  // Decrypts `data` in place and verifies `tag`. OpenSSL's GCM decrypts as it goes, before the tag can be checked:
  // on any error (a bad tag is cause #7, check "pdu_tag"; a tag that is not 16 octets too) `data` has been
  // overwritten with zeros, and the caller must drop the PDU.
  Status open(const PduInput& in, ByteView aad, std::span<std::uint8_t> data, ByteView tag);

  Aes128Gcm(Aes128Gcm&&) noexcept = default;
  Aes128Gcm& operator=(Aes128Gcm&&) noexcept = default;
  Aes128Gcm(const Aes128Gcm&) = delete;
  Aes128Gcm& operator=(const Aes128Gcm&) = delete;
  ~Aes128Gcm() = default;

 private:
  friend Status detail::aes_128_gcm_seal(const SecretBytes& key, ByteView nonce, ByteView aad,
                                         std::span<std::uint8_t> data, std::span<std::uint8_t, kGcmTagSize> tag);
  friend Status detail::aes_128_gcm_open(const SecretBytes& key, ByteView nonce, ByteView aad,
                                         std::span<std::uint8_t> data, ByteView tag);
  Aes128Gcm(detail::CipherCtxPtr seal_ctx, detail::CipherCtxPtr open_ctx)
      : seal_ctx_(std::move(seal_ctx)), open_ctx_(std::move(open_ctx)) {}
  Status seal_with_nonce(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data,
                         std::span<std::uint8_t, kGcmTagSize> tag);
  Status open_with_nonce(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data, ByteView tag);

  detail::CipherCtxPtr seal_ctx_;  // AES-128-GCM, keyed once for encryption
  detail::CipherCtxPtr open_ctx_;  // the same key, keyed once for decryption
};

}  // namespace u2u::crypto
