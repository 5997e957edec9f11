#pragma once
// An in-memory provisioning CA and parties for unit tests (seed step 0 without files).
#include <chrono>
#include <memory>
#include <string>

#include "crypto/certificate.hpp"
#include "protocol/node.hpp"

namespace u2u::test {

using namespace std::chrono_literals;

// A fixed "now" inside every test certificate's validity.
Now test_now();

struct TestPki {
  explicit TestPki(std::string ca_name = "test-ca");

  crypto::CertificateAuthority ca;
  std::shared_ptr<const crypto::TrustStore> trust;

  // A party with a fresh key and a certificate for `id` in `role`, valid around test_now() unless told otherwise.
  protocol::LocalParty party(const std::string& id, crypto::Role role, wire::Layer2Id layer2_id) const;
  protocol::LocalParty party(const std::string& id, crypto::Role role, wire::Layer2Id layer2_id, WallTime not_before,
                             WallTime not_after, const std::string& cn = "") const;
};

// Signs with `inner` and counts the signatures: a test asserts that a path made no signature work.
class CountingSigner final : public crypto::Signer {
 public:
  explicit CountingSigner(std::shared_ptr<const crypto::Signer> inner) : inner_(std::move(inner)) {}
  Result<crypto::EcdsaSignature> sign(ByteView m) const override {
    ++count;
    return inner_->sign(m);
  }
  mutable int count = 0;

 private:
  std::shared_ptr<const crypto::Signer> inner_;
};

}  // namespace u2u::test
