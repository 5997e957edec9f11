#include "crypto/hash.hpp"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "crypto/openssl_ptr.hpp"

namespace u2u::crypto {

Sha256Digest sha256(ByteView data) { return sha256({data}); }

Sha256Digest sha256(std::initializer_list<ByteView> pieces) {
  Sha256Digest out{};
  detail::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned int size = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (ByteView piece : pieces) ok = ok && EVP_DigestUpdate(ctx.get(), piece.data(), piece.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1;
  if (!ok || size != out.size()) std::abort();  // only on allocation failure inside OpenSSL
  return out;
}

SecretBytes hmac_sha256(ByteView key, ByteView data) {
  SecretBytes out(kSha256Size);
  unsigned int size = 0;
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), data.data(), data.size(), out.writable().data(),
           &size) == nullptr ||
      size != kSha256Size) {
    std::abort();
  }
  return out;
}

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

}  // namespace u2u::crypto
