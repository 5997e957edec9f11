#pragma once
// X.509 credentials of seed step 0: a certificate from the provisioning CA binds a User Info ID (the subject
// CN) and a role (an extended key usage, constants.hpp) to a P-256 public key.
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/time.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"

struct x509_st;
struct x509_store_st;

namespace u2u::crypto {

enum class Role { kUe, kRelay };

// A certificate serial number as hex, normalised: lower case, no "0x", colons or leading zeros. nullopt when
// the text is not hex.
std::optional<std::string> normalize_serial(std::string_view text);
std::string_view role_name(Role role);

class Certificate {
 public:
  static Result<Certificate> from_der(ByteView der);
  static Result<Certificate> from_pem(std::string_view pem);

  const Bytes& der() const { return der_; }
  std::string pem() const;
  const std::string& subject_cn() const { return subject_cn_; }
  const std::string& serial_hex() const { return serial_hex_; }
  WallTime not_before() const { return not_before_; }
  WallTime not_after() const { return not_after_; }
  bool has_role(Role role) const { return role == Role::kUe ? role_ue_ : role_relay_; }
  bool is_ca() const { return is_ca_; }
  // The subject public key, when it is a P-256 key (anything else is refused here).
  Result<PublicKey> public_key() const;
  bool operator==(const Certificate& other) const { return der_ == other.der_; }

 private:
  friend class TrustStore;
  friend class CertificateAuthority;
  Certificate() = default;
  static Result<Certificate> from_x509(std::shared_ptr<x509_st> cert);
  std::shared_ptr<x509_st> x509_;
  Bytes der_;
  std::string subject_cn_;
  std::string serial_hex_;
  WallTime not_before_{};
  WallTime not_after_{};
  bool role_ue_ = false;
  bool role_relay_ = false;
  bool is_ca_ = false;
};

// A peer whose certificate passed every check: the only way the protocol obtains a peer's public key.
struct VerifiedPeer {
  std::string user_info_id;
  PublicKey public_key;
  std::string serial_hex;
  WallTime not_after{};  // the earlier notAfter of the leaf and the CA: a link resting on it ends by then
};

// The trust anchor (the provisioning CA) plus a revocation deny list. verify() is the identity binding of
// seed step 0: chain to the CA, validity at `now`, CN equal to the claimed User Info ID, the role's EKU, a
// P-256 key, not revoked. A certificate whose chain verified is cached, parsed and with its public key ready, by
// the SHA-256 of its DER (bounded, oldest out first; a failure is never cached): a known certificate then costs a
// hash and a lookup. Validity, revocation, identity and role are checked every time, against the cached fields.
// Safe to use from several threads.
class TrustStore {
 public:
  static Result<TrustStore> from_ca(const Certificate& ca);
  TrustStore(const TrustStore& other);
  TrustStore& operator=(const TrustStore&) = delete;
  void set_revoked_serials(std::set<std::string> serials_hex) { revoked_ = std::move(serials_hex); }
  struct CacheStats {
    std::size_t size = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;  // parsed and chain-checked (whether it then verified or not)
  };
  CacheStats cache_stats() const;

  Result<VerifiedPeer> verify(ByteView certificate_der, std::string_view claimed_user_info_id, Role role,
                              WallTime now) const;
  // Checks of one's own certificate at startup: chain and validity, without an identity claim.
  Status verify_chain(const Certificate& certificate, WallTime now) const;
  const Certificate& ca() const { return ca_; }

 private:
  struct Chained {
    Certificate certificate;
    PublicKey key;
  };
  TrustStore() = default;
  Result<std::shared_ptr<const Chained>> chained(ByteView certificate_der) const;
  Status check_validity_and_revocation(const Certificate& certificate, WallTime now) const;

  Certificate ca_;
  std::shared_ptr<x509_store_st> store_;
  std::set<std::string> revoked_;
  // Certificates whose chain verified, by SHA-256 of their DER; FIFO-bounded.
  mutable std::mutex cache_mutex_;
  mutable std::map<Sha256Digest, std::shared_ptr<const Chained>> cache_;
  mutable std::deque<Sha256Digest> cache_order_;
  mutable CacheStats stats_;
};

struct IssueRequest {
  std::string user_info_id;
  Role role = Role::kUe;
  WallTime not_before{};
  WallTime not_after{};
};

// The provisioning CA (u2u-provision): a self-signed P-256 CA that issues role certificates.
class CertificateAuthority {
 public:
  static Result<CertificateAuthority> create(std::string_view name, WallTime not_before, WallTime not_after);
  static Result<CertificateAuthority> load(Certificate certificate, PrivateKey key);

  Result<Certificate> issue(const IssueRequest& request, const PublicKey& subject_key) const;
  const Certificate& certificate() const { return certificate_; }
  const PrivateKey& key() const { return key_; }

 private:
  CertificateAuthority(Certificate certificate, PrivateKey key)
      : certificate_(std::move(certificate)), key_(std::move(key)) {}
  Certificate certificate_;
  PrivateKey key_;
};

}  // namespace u2u::crypto
