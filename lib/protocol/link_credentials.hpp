#pragma once
// What an established link rests on (docs/protocol.md 7.3): the certificates of the parties it was authenticated
// with. A link ends when the earliest of them expires or its maximum lifetime passes, and is checked again when the
// trust store changes (SIGHUP: a new CA certificate or deny list), so that no link outlives a revocation.
#include <string>
#include <vector>

#include "common/time.hpp"
#include "crypto/certificate.hpp"

namespace u2u::protocol {

class LinkCredentials {
 public:
  // One party the link was authenticated with: `who` ("source", "target", "relay") names it in check names.
  void add(std::string who, std::string user_info_id, ByteView certificate_der, crypto::Role role, WallTime not_after);
  // The check of section 5 again, for every party, with `trust` at `now`: the first failure, its check named
  // "<who>_certificate_<check>" as at the handshake.
  Status recheck(const crypto::TrustStore& trust, WallTime now) const;
  // When the link must end: `max_lifetime` after `established`, or the earliest certificate expiry.
  MonoTime end_of_life(const Now& established, Millis max_lifetime) const;
  // Why it ends then, for the log.
  std::string end_of_life_reason(const Now& established, Millis max_lifetime) const;

 private:
  struct Party {
    std::string who;
    std::string user_info_id;
    Bytes certificate;
    crypto::Role role = crypto::Role::kUe;
    WallTime not_after{};
  };
  std::vector<Party> parties_;
};

// After a step's job checked `credentials` with the trust store `used`: when the node's is now another (SIGHUP
// while the job ran), they are checked again against `current`.
Status recheck_if_reloaded(const LinkCredentials& credentials, const crypto::TrustStore& used,
                           const crypto::TrustStore& current, WallTime now);

}  // namespace u2u::protocol
