#include "crypto/pdu_cipher.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

#include "crypto/openssl_ptr.hpp"

namespace u2u::crypto {

namespace detail {
void CipherCtxFree::operator()(evp_cipher_ctx_st* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
}  // namespace detail

namespace {

using detail::CipherCtxPtr;
using EvpMacPtr = std::unique_ptr<EVP_MAC, detail::Deleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, detail::Deleter<EVP_MAC_CTX_free>>;

// COUNT (4 octets) || BEARER, DIRECTION and 2 zero bits (1 octet) || 3 zero octets.
constexpr std::size_t kPduPrefixSize = 8;
constexpr std::size_t kAesBlockBits = kAesBlockSize * 8;
// The most octets one EVP_*Update call takes (its length is an int).
constexpr std::size_t kMaxUpdateSize = INT_MAX;
// The CBC-MAC runs over the message in chunks of this size through a stack buffer that takes the (unused) CBC
// output, so that no call allocates.
constexpr std::size_t kCmacChunkSize = 512;
constexpr std::array<std::uint8_t, kAesBlockSize> kZeroBlock{};

Error key_error(std::size_t size) {
  return make_error(Cause::kNone, "pdu_key",
                    "a PDU key is " + std::to_string(kPduKeySize) + " octets, not " + std::to_string(size));
}

Error moved_from_error() { return make_error(Cause::kNone, "pdu_cipher", "the object was moved from"); }

Error cipher_error(std::string what) { return detail::openssl_error(Cause::kNone, "pdu_cipher", std::move(what)); }

Error length_error(std::string reason) { return make_error(Cause::kNone, "pdu_length", std::move(reason)); }

Error too_long_error(std::size_t size) {
  return length_error(std::to_string(size) + " octets is more than OpenSSL takes in one call");
}

// The number of octets that hold `bits` bits.
constexpr std::size_t octets_for(std::size_t bits) { return bits / 8 + (bits % 8 != 0 ? 1 : 0); }

Status check_input(const PduInput& in) {
  if (in.bearer >= 32) {
    return make_error(Cause::kNone, "pdu_input", "BEARER " + std::to_string(in.bearer) + " does not fit in 5 bits");
  }
  if (in.direction >= 2) {
    return make_error(Cause::kNone, "pdu_input",
                      "DIRECTION " + std::to_string(in.direction) + " does not fit in 1 bit");
  }
  return {};
}

// COUNT (32 bits, big-endian) || BEARER (5) || DIRECTION (1) || 0^26: the first 64 bits of the 128-NEA2 counter
// block (TS 33.401 B.1.3), of the 128-NIA2 CMAC input (B.2.3) and of the GCM nonce. `in` is checked.
std::array<std::uint8_t, kPduPrefixSize> pdu_prefix(const PduInput& in) {
  return {static_cast<std::uint8_t>(in.count >> 24),
          static_cast<std::uint8_t>(in.count >> 16),
          static_cast<std::uint8_t>(in.count >> 8),
          static_cast<std::uint8_t>(in.count),
          static_cast<std::uint8_t>((in.bearer << 3) | (in.direction << 2)),
          0,
          0,
          0};
}

// A context for `cipher` keyed with `key` (16 octets) for encryption or decryption; the IV is set per PDU.
Result<CipherCtxPtr> keyed_context(const EVP_CIPHER* cipher, const SecretBytes& key, bool encrypt) {
  if (key.size() != kPduKeySize) return key_error(key.size());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return cipher_error("cannot allocate a cipher context");
  const int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.reveal().data(), nullptr)
                         : EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.reveal().data(), nullptr);
  if (ok != 1) return cipher_error(std::string("cannot key ") + EVP_CIPHER_get0_name(cipher));
  return ctx;
}

// NIST SP 800-38B 6.1: dbl(X) = X << 1, XORed with R128 = 0^120 || 10000111 when the msb of X is 1 (constant time).
SecretBytes dbl(const SecretBytes& block) {
  ByteView x = block.reveal();
  SecretBytes out(kAesBlockSize);
  std::span<std::uint8_t> y = out.writable();
  const auto r128 = static_cast<std::uint8_t>(0x87 & (0 - (x[0] >> 7)));
  for (std::size_t i = 0; i + 1 < kAesBlockSize; ++i) y[i] = static_cast<std::uint8_t>((x[i] << 1) | (x[i + 1] >> 7));
  y[kAesBlockSize - 1] = static_cast<std::uint8_t>((x[kAesBlockSize - 1] << 1) ^ r128);
  return out;
}

// Copies out.size() octets starting at `offset` of the concatenation of `pieces`, which holds them.
void copy_from_concatenation(std::span<const ByteView> pieces, std::size_t offset, std::span<std::uint8_t> out) {
  std::size_t written = 0;
  for (ByteView piece : pieces) {
    if (written == out.size()) break;
    if (offset >= piece.size()) {
      offset -= piece.size();
      continue;
    }
    const std::size_t n = std::min(piece.size() - offset, out.size() - written);
    std::memcpy(out.data() + written, piece.data() + offset, n);
    written += n;
    offset = 0;
  }
}

}  // namespace

// ---- 128-NEA2 ----

Result<Nea2> Nea2::create(const SecretBytes& key) {
  auto ctx = keyed_context(EVP_aes_128_ctr(), key, true);
  if (!ctx) return ctx.error();
  return Nea2(std::move(ctx).value());
}

Status Nea2::apply(const PduInput& in, std::span<std::uint8_t> data) { return apply(in, data, data.size() * 8); }

Status Nea2::apply(const PduInput& in, std::span<std::uint8_t> data, std::size_t bits) {
  if (!ctx_) return moved_from_error();
  if (auto input = check_input(in); !input) return input;
  const std::size_t octets = octets_for(bits);
  if (octets > data.size()) {
    return length_error(std::to_string(bits) + " bits do not fit in " + std::to_string(data.size()) + " octets");
  }
  if (octets > kMaxUpdateSize) return too_long_error(octets);
  if (octets == 0) return {};

  // TS 33.401 B.1.3: the initial counter block T1 = COUNT || BEARER || DIRECTION || 0^26 || 0^64.
  std::array<std::uint8_t, kAesBlockSize> counter_block{};
  const auto prefix = pdu_prefix(in);
  std::copy(prefix.begin(), prefix.end(), counter_block.begin());
  int out_len = 0;
  if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, counter_block.data()) != 1) {
    return cipher_error("cannot set the NEA2 counter block");
  }
  if (EVP_EncryptUpdate(ctx_.get(), data.data(), &out_len, data.data(), static_cast<int>(octets)) != 1 ||
      out_len != static_cast<int>(octets)) {
    return cipher_error("NEA2 keystream failed");
  }
  // The bits after the last message bit carry no data: zero, as the test sets of TS 33.401 Annex C show them.
  if (bits % 8 != 0) data[octets - 1] &= static_cast<std::uint8_t>(0xFF << (8 - bits % 8));
  return {};
}

// ---- 128-NIA2 ----

Result<Nia2> Nia2::create(const SecretBytes& key) {
  auto ctx = keyed_context(EVP_aes_128_cbc(), key, true);
  if (!ctx) return ctx.error();
  // CBC padding stays at OpenSSL's default (on): it acts only in EVP_EncryptFinal_ex, which the CMAC never calls
  // (it pads the last block itself), and each EVP_EncryptUpdate outputs every complete block either way. Turning it
  // off would cost OpenSSL 3.0 a parameter call on every per-message IV reset (about 40 ns).

  // NIST SP 800-38B 6.1: L = CIPH_K(0^128), K1 = dbl(L), K2 = dbl(K1).
  SecretBytes l(kAesBlockSize);
  int out_len = 0;
  if (EVP_EncryptInit_ex(ctx->get(), nullptr, nullptr, nullptr, kZeroBlock.data()) != 1 ||
      EVP_EncryptUpdate(ctx->get(), l.writable().data(), &out_len, kZeroBlock.data(),
                        static_cast<int>(kZeroBlock.size())) != 1 ||
      out_len != static_cast<int>(kAesBlockSize)) {
    return cipher_error("cannot compute the CMAC subkeys");
  }
  // The CBC chain now holds L: put it back to zero rather than leave it in the context until the first message.
  if (EVP_EncryptInit_ex(ctx->get(), nullptr, nullptr, nullptr, kZeroBlock.data()) != 1) {
    return cipher_error("cannot reset the CMAC chain");
  }
  SecretBytes k1 = dbl(l);
  SecretBytes k2 = dbl(k1);
  return Nia2(std::move(ctx).value(), std::move(k1), std::move(k2));
}

// NIST SP 800-38B 6.2 over the bit string made of the first `bits` bits of p0 || p1 || p2 (which hold them):
// n = max(1, ceil(bits / 128)) blocks; the first n - 1 go through CBC (zero IV) as they are; the last, M_n*, is
// XORed with K1 when complete, else padded with 1 || 0^j right after the last message bit and XORed with K2; the
// CBC output of that last block is the tag.
Result<CmacTag> Nia2::cmac(ByteView p0, ByteView p1, ByteView p2, std::size_t bits) {
  if (!ctx_) return moved_from_error();
  const std::array<ByteView, 3> pieces{p0, p1, p2};
  const std::size_t blocks = bits == 0 ? 1 : (bits + kAesBlockBits - 1) / kAesBlockBits;
  const std::size_t leading_octets = (blocks - 1) * kAesBlockSize;
  const std::size_t last_bits = bits - (blocks - 1) * kAesBlockBits;  // 0..128

  if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, kZeroBlock.data()) != 1) {
    return cipher_error("cannot reset the CMAC chain");
  }
  // M_1 .. M_n-1. The EVP context carries partial blocks across calls, so the pieces need not be block-aligned.
  std::array<std::uint8_t, kCmacChunkSize + kAesBlockSize> cbc_output;
  std::size_t remaining = leading_octets;
  for (ByteView piece : pieces) {
    piece = piece.first(std::min(piece.size(), remaining));
    remaining -= piece.size();
    while (!piece.empty()) {
      const std::size_t chunk = std::min(piece.size(), kCmacChunkSize);
      int out_len = 0;
      if (EVP_EncryptUpdate(ctx_.get(), cbc_output.data(), &out_len, piece.data(), static_cast<int>(chunk)) != 1) {
        return cipher_error("CMAC chain failed");
      }
      piece = piece.subspan(chunk);
    }
  }

  // M_n: the last bits, then K1 or the padding and K2.
  std::array<std::uint8_t, kAesBlockSize> last{};
  copy_from_concatenation(pieces, leading_octets, std::span(last).first(octets_for(last_bits)));
  ByteView subkey;
  if (last_bits == kAesBlockBits) {
    subkey = k1_.reveal();
  } else {
    const std::size_t whole = last_bits / 8;
    const std::size_t extra = last_bits % 8;  // message bits in octet `whole`; the padding '1' follows them
    const auto keep = static_cast<std::uint8_t>(0xFF << (8 - extra));
    last[whole] = static_cast<std::uint8_t>((last[whole] & keep) | (0x80 >> extra));
    subkey = k2_.reveal();
  }
  for (std::size_t i = 0; i < kAesBlockSize; ++i) last[i] ^= subkey[i];

  CmacTag tag{};
  int out_len = 0;
  const int ok = EVP_EncryptUpdate(ctx_.get(), tag.data(), &out_len, last.data(), static_cast<int>(last.size()));
  OPENSSL_cleanse(last.data(), last.size());  // it holds a subkey XOR known bits
  if (ok != 1 || out_len != static_cast<int>(kAesBlockSize)) return cipher_error("CMAC final block failed");
  return tag;
}

Result<Nia2Mac> Nia2::mac_i(const PduInput& in, ByteView first, ByteView second, std::size_t bits) {
  if (!ctx_) return moved_from_error();
  if (auto input = check_input(in); !input) return input.error();
  if (octets_for(bits) > first.size() + second.size()) {
    return length_error(std::to_string(bits) + " bits do not fit in " + std::to_string(first.size() + second.size()) +
                        " octets");
  }
  // TS 33.401 B.2.3: M = COUNT || BEARER || DIRECTION || 0^26 || MESSAGE, BLENGTH = 64 + LENGTH.
  const auto prefix = pdu_prefix(in);
  auto tag = cmac(prefix, first, second, prefix.size() * 8 + bits);
  if (!tag) return tag.error();
  Nia2Mac mac_i{};
  std::copy_n(tag->begin(), mac_i.size(), mac_i.begin());  // MAC-I = T[0..31]
  return mac_i;
}

Result<Nia2Mac> Nia2::mac(const PduInput& in, ByteView message) { return mac_i(in, message, {}, message.size() * 8); }

Result<Nia2Mac> Nia2::mac(const PduInput& in, ByteView message, std::size_t bits) {
  return mac_i(in, message, {}, bits);
}

Result<Nia2Mac> Nia2::mac(const PduInput& in, ByteView first, ByteView second) {
  return mac_i(in, first, second, (first.size() + second.size()) * 8);
}

Status Nia2::verify(const PduInput& in, ByteView first, ByteView second, ByteView mac_i) {
  if (mac_i.size() != kNia2MacSize) {
    return make_error(Cause::kIntegrityFailure, "pdu_mac",
                      "MAC-I of " + std::to_string(mac_i.size()) + " octets, not " + std::to_string(kNia2MacSize));
  }
  auto expected = mac(in, first, second);
  if (!expected) return expected.error();
  if (!constant_time_equal(*expected, mac_i)) {
    return make_error(Cause::kIntegrityFailure, "pdu_mac", "MAC-I does not verify");
  }
  return {};
}

// ---- AES-128-GCM ----

namespace {

// Octets 0-3 COUNT, octet 4 BEARER << 3 | DIRECTION << 2, octets 5-11 zero. `in` is checked.
std::array<std::uint8_t, kGcmNonceSize> gcm_nonce(const PduInput& in) {
  std::array<std::uint8_t, kGcmNonceSize> nonce{};
  const auto prefix = pdu_prefix(in);
  std::copy(prefix.begin(), prefix.end(), nonce.begin());
  return nonce;
}

Error tag_error(std::string reason) { return make_error(Cause::kIntegrityFailure, "pdu_tag", std::move(reason)); }

}  // namespace

Result<Aes128Gcm> Aes128Gcm::create(const SecretBytes& key) {
  auto seal_ctx = keyed_context(EVP_aes_128_gcm(), key, true);
  if (!seal_ctx) return seal_ctx.error();
  auto open_ctx = keyed_context(EVP_aes_128_gcm(), key, false);
  if (!open_ctx) return open_ctx.error();
  // The default GCM IV length is the 96 bits of kGcmNonceSize; make sure.
  if (EVP_CIPHER_CTX_get_iv_length(seal_ctx->get()) != static_cast<int>(kGcmNonceSize) ||
      EVP_CIPHER_CTX_get_iv_length(open_ctx->get()) != static_cast<int>(kGcmNonceSize)) {
    return cipher_error("GCM nonce is not 96 bits");
  }
  return Aes128Gcm(std::move(seal_ctx).value(), std::move(open_ctx).value());
}

Status Aes128Gcm::seal(const PduInput& in, ByteView aad, std::span<std::uint8_t> data,
                       std::span<std::uint8_t, kGcmTagSize> tag) {
  if (auto input = check_input(in); !input) return input;
  const auto nonce = gcm_nonce(in);
  return seal_with_nonce(nonce.data(), aad, data, tag);
}

Status Aes128Gcm::open(const PduInput& in, ByteView aad, std::span<std::uint8_t> data, ByteView tag) {
  if (auto input = check_input(in); !input) {
    std::fill(data.begin(), data.end(), std::uint8_t{0});
    return input;
  }
  const auto nonce = gcm_nonce(in);
  return open_with_nonce(nonce.data(), aad, data, tag);
}

Status Aes128Gcm::seal_with_nonce(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data,
                                  std::span<std::uint8_t, kGcmTagSize> tag) {
  if (!seal_ctx_) return moved_from_error();
  if (aad.size() > kMaxUpdateSize) return too_long_error(aad.size());
  if (data.size() > kMaxUpdateSize) return too_long_error(data.size());
  EVP_CIPHER_CTX* ctx = seal_ctx_.get();
  int out_len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return cipher_error("cannot set the GCM nonce");
  if (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &out_len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return cipher_error("GCM AAD failed");
  }
  if (!data.empty() &&
      (EVP_EncryptUpdate(ctx, data.data(), &out_len, data.data(), static_cast<int>(data.size())) != 1 ||
       out_len != static_cast<int>(data.size()))) {
    return cipher_error("GCM encryption failed");
  }
  std::array<std::uint8_t, kAesBlockSize> final_output;  // GCM writes nothing here
  if (EVP_EncryptFinal_ex(ctx, final_output.data(), &out_len) != 1 || out_len != 0) {
    return cipher_error("GCM final failed");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()), tag.data()) != 1) {
    return cipher_error("cannot read the GCM tag");
  }
  return {};
}

Status Aes128Gcm::open_with_nonce(const std::uint8_t* nonce, ByteView aad, std::span<std::uint8_t> data, ByteView tag) {
  // GCM decrypts before it can check the tag: whatever fails, the caller gets zeros, never unauthenticated plaintext.
  auto fail = [&data](Error error) -> Status {
    std::fill(data.begin(), data.end(), std::uint8_t{0});
    return error;
  };
  if (!open_ctx_) return fail(moved_from_error());
  if (tag.size() != kGcmTagSize) {
    return fail(tag_error("GCM tag of " + std::to_string(tag.size()) + " octets, not " + std::to_string(kGcmTagSize)));
  }
  if (aad.size() > kMaxUpdateSize) return fail(too_long_error(aad.size()));
  if (data.size() > kMaxUpdateSize) return fail(too_long_error(data.size()));
  EVP_CIPHER_CTX* ctx = open_ctx_.get();
  int out_len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) {
    return fail(cipher_error("cannot set the GCM nonce"));
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &out_len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return fail(cipher_error("GCM AAD failed"));
  }
  if (!data.empty() &&
      (EVP_DecryptUpdate(ctx, data.data(), &out_len, data.data(), static_cast<int>(data.size())) != 1 ||
       out_len != static_cast<int>(data.size()))) {
    return fail(cipher_error("GCM decryption failed"));
  }
  // OpenSSL takes the expected tag through a non-const pointer; it only reads it.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()),
                          const_cast<std::uint8_t*>(tag.data())) != 1) {
    return fail(cipher_error("cannot set the GCM tag"));
  }
  std::array<std::uint8_t, kAesBlockSize> final_output;  // GCM writes nothing here
  if (EVP_DecryptFinal_ex(ctx, final_output.data(), &out_len) != 1) {
    detail::openssl_error_text();  // a tag mismatch may leave entries in the queue; they say nothing more
    return fail(tag_error("GCM tag does not verify"));
  }
  return {};
}

// ---- Internals for the tests ----

namespace detail {

Result<CmacTag> aes_cmac(const SecretBytes& key, ByteView message, std::size_t bits) {
  auto nia2 = Nia2::create(key);
  if (!nia2) return nia2.error();
  if (octets_for(bits) > message.size()) {
    return length_error(std::to_string(bits) + " bits do not fit in " + std::to_string(message.size()) + " octets");
  }
  return nia2->cmac(message, {}, {}, bits);
}

Result<CmacTag> openssl_reference_cmac_for_tests(const SecretBytes& key, ByteView message) {
  if (key.size() != kPduKeySize) return key_error(key.size());
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
  if (!mac) return cipher_error("no CMAC in this OpenSSL");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return cipher_error("cannot allocate a CMAC context");
  char cipher_name[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
                               OSSL_PARAM_construct_end()};
  CmacTag tag{};
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), key.reveal().data(), key.size(), params) != 1 ||
      (!message.empty() && EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1) ||
      EVP_MAC_final(ctx.get(), tag.data(), &out_len, tag.size()) != 1 || out_len != tag.size()) {
    return cipher_error("OpenSSL CMAC failed");
  }
  return tag;
}

Status aes_128_gcm_seal(const SecretBytes& key, ByteView nonce, ByteView aad, std::span<std::uint8_t> data,
                        std::span<std::uint8_t, kGcmTagSize> tag) {
  if (nonce.size() != kGcmNonceSize) return length_error("a GCM nonce is 12 octets");
  auto gcm = Aes128Gcm::create(key);
  if (!gcm) return gcm.error();
  return gcm->seal_with_nonce(nonce.data(), aad, data, tag);
}

Status aes_128_gcm_open(const SecretBytes& key, ByteView nonce, ByteView aad, std::span<std::uint8_t> data,
                        ByteView tag) {
  if (nonce.size() != kGcmNonceSize || key.size() != kPduKeySize) {
    std::fill(data.begin(), data.end(), std::uint8_t{0});
    if (key.size() != kPduKeySize) return key_error(key.size());
    return length_error("a GCM nonce is 12 octets");
  }
  auto gcm = Aes128Gcm::create(key);
  if (!gcm) {
    std::fill(data.begin(), data.end(), std::uint8_t{0});
    return gcm.error();
  }
  return gcm->open_with_nonce(nonce.data(), aad, data, tag);
}

}  // namespace detail

}  // namespace u2u::crypto
