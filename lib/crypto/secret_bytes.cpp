#include "crypto/secret_bytes.hpp"

#include <openssl/crypto.h>

namespace u2u::crypto {

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecretBytes::wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

SecretBytes SecretBytes::last(std::size_t n) const {
  if (n >= bytes_.size()) return clone();
  return SecretBytes(reveal().last(n));
}

bool operator==(const SecretBytes& a, const SecretBytes& b) { return constant_time_equal(a.reveal(), b.reveal()); }

void secure_wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace u2u::crypto
