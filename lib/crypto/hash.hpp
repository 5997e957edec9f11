#pragma once
#include <array>

#include "common/bytes.hpp"
#include "crypto/constants.hpp"
#include "crypto/secret_bytes.hpp"

namespace u2u::crypto {

using Sha256Digest = std::array<std::uint8_t, kSha256Size>;

Sha256Digest sha256(ByteView data);
// Several pieces hashed as one concatenation, without building it.
Sha256Digest sha256(std::initializer_list<ByteView> pieces);
SecretBytes hmac_sha256(ByteView key, ByteView data);

// Fills `out` from OpenSSL's CSPRNG; aborts only if the CSPRNG itself fails (it cannot be seeded).
void random_bytes(std::span<std::uint8_t> out);

}  // namespace u2u::crypto
