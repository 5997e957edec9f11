#include "unit/pki.hpp"

#include <cstdlib>

namespace u2u::test {

Now test_now() {
  static const Now now = Now::read();
  return now;
}

namespace {
crypto::CertificateAuthority make_ca(const std::string& name) {
  auto ca = crypto::CertificateAuthority::create(name, test_now().wall - 24h, test_now().wall + 24h * 365);
  if (!ca) std::abort();
  return std::move(ca).value();
}
}  // namespace

TestPki::TestPki(std::string ca_name) : ca(make_ca(ca_name)) {
  auto store = crypto::TrustStore::from_ca(ca.certificate());
  if (!store) std::abort();
  trust = std::make_shared<const crypto::TrustStore>(std::move(store).value());
}

protocol::LocalParty TestPki::party(const std::string& id, crypto::Role role, wire::Layer2Id layer2_id) const {
  return party(id, role, layer2_id, test_now().wall - 1h, test_now().wall + 24h * 30);
}

protocol::LocalParty TestPki::party(const std::string& id, crypto::Role role, wire::Layer2Id layer2_id,
                                    WallTime not_before, WallTime not_after, const std::string& cn) const {
  auto key = crypto::PrivateKey::generate();
  if (!key) std::abort();
  auto cert = ca.issue({cn.empty() ? id : cn, role, not_before, not_after}, key->public_key());
  if (!cert) std::abort();
  auto shared_key = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
  return protocol::LocalParty{id, layer2_id, std::move(cert).value(), shared_key, shared_key, trust};
}

}  // namespace u2u::test
