#include "crypto/kdf.hpp"

#include <cstdlib>

#include "crypto/hash.hpp"

namespace u2u::crypto {

Bytes kdf_input(std::uint8_t fc, std::initializer_list<ByteView> parameters) {
  Bytes s{fc};
  for (ByteView p : parameters) {
    if (p.size() > 0xFFFF) std::abort();  // a parameter longer than Li can say is a programming error
    append(s, p);
    s.push_back(static_cast<std::uint8_t>(p.size() >> 8));
    s.push_back(static_cast<std::uint8_t>(p.size()));
  }
  return s;
}

SecretBytes kdf(const SecretBytes& key, std::uint8_t fc, std::initializer_list<ByteView> parameters) {
  return hmac_sha256(key.reveal(), kdf_input(fc, parameters));
}

}  // namespace u2u::crypto
