#pragma once
// The generic key derivation function of TS 33.220 Annex B.2.0:
//   derived key = HMAC-SHA-256(Key, S),  S = FC || P0 || L0 || P1 || L1 || ... || Pn || Ln,
// with each Li the length of Pi in octets as two octets, big-endian.
#include <initializer_list>

#include "common/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace u2u::crypto {

// S itself (not secret: it holds only the parameters), exposed for tests and the test-vector file.
Bytes kdf_input(std::uint8_t fc, std::initializer_list<ByteView> parameters);
SecretBytes kdf(const SecretBytes& key, std::uint8_t fc, std::initializer_list<ByteView> parameters);

}  // namespace u2u::crypto
