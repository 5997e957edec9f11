#include "crypto/certificate.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "crypto/constants.hpp"
#include "crypto/openssl_ptr.hpp"

namespace u2u::crypto {

namespace {

using detail::openssl_error;

Error cert_error(std::string check, std::string reason) {
  return make_error(Cause::kAuthenticationFailure, std::move(check), std::move(reason));
}

// A validity time may name any year from 0 to 9999 (RFC 5280 4.1.2.5: notAfter 99991231235959Z means "no
// well-defined expiration date"), WallTime only about 1678 to 2261 (64-bit nanoseconds around 1970): a time beyond
// saturates, so that a far notAfter never passes and a far notBefore is never reached, without an overflow.
std::optional<WallTime> to_wall(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  using std::chrono::seconds;
  const auto since_epoch = static_cast<std::int64_t>(timegm(&tm));
  const auto latest = std::chrono::duration_cast<seconds>(WallTime::duration::max()).count();
  const auto earliest = std::chrono::duration_cast<seconds>(WallTime::duration::min()).count();
  if (since_epoch > latest) return WallTime::max();
  if (since_epoch < earliest) return WallTime::min();
  return WallTime(std::chrono::duration_cast<WallTime::duration>(seconds(since_epoch)));
}

std::string utc_text(WallTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return openssl_error(Cause::kNone, "certificate", std::string("cannot build extension ") + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return openssl_error(Cause::kNone, "certificate", "cannot add extension");
  return {};
}

Status set_common_fields(X509* cert, std::string_view subject_cn, const X509_NAME* issuer, WallTime not_before,
                         WallTime not_after, EVP_PKEY* subject_key) {
  std::array<std::uint8_t, 16> serial{};
  random_bytes(serial);
  serial[0] &= 0x7F;  // positive
  serial[0] |= 0x40;  // and exactly 16 octets
  detail::BnPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  detail::X509NamePtr subject(X509_NAME_new());
  const std::string cn(subject_cn);
  if (!serial_bn || !subject || X509_set_version(cert, X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert)) == nullptr ||
      X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                 -1, -1, 0) != 1 ||
      X509_set_subject_name(cert, subject.get()) != 1 ||
      X509_set_issuer_name(cert, issuer != nullptr ? issuer : subject.get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(not_after)) == nullptr ||
      X509_set_pubkey(cert, subject_key) != 1) {
    return openssl_error(Cause::kNone, "certificate", "cannot fill certificate fields");
  }
  return {};
}

}  // namespace

std::string_view role_name(Role role) { return role == Role::kUe ? "ue" : "relay"; }

std::optional<std::string> normalize_serial(std::string_view text) {
  if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) text.remove_prefix(2);
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (out.empty() && c == '0') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (out.empty()) return text.empty() ? std::nullopt : std::optional<std::string>("0");
  return out;
}

Result<Certificate> Certificate::from_x509(std::shared_ptr<X509> x509) {
  Certificate c;
  unsigned char* der = nullptr;
  const int der_size = i2d_X509(x509.get(), &der);
  if (der_size <= 0)
    return openssl_error(Cause::kAuthenticationFailure, "certificate_format", "cannot encode certificate");
  c.der_.assign(der, der + der_size);
  OPENSSL_free(der);

  const X509_NAME* subject = X509_get_subject_name(x509.get());
  const int cn_index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn_index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, cn_index) >= 0) {
    return cert_error("certificate_format", "certificate subject must hold exactly one CN");
  }
  unsigned char* utf8 = nullptr;
  const int utf8_size = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index)));
  if (utf8_size < 0) return cert_error("certificate_format", "certificate CN is not a string");
  c.subject_cn_.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(utf8_size));
  OPENSSL_free(utf8);

  detail::BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509.get()), nullptr));
  char* serial_hex = serial ? BN_bn2hex(serial.get()) : nullptr;
  if (serial_hex == nullptr) return openssl_error(Cause::kAuthenticationFailure, "certificate_format", "bad serial");
  c.serial_hex_ = serial_hex;
  OPENSSL_free(serial_hex);
  c.serial_hex_ = normalize_serial(c.serial_hex_).value_or(c.serial_hex_);

  const auto not_before = to_wall(X509_get0_notBefore(x509.get()));
  const auto not_after = to_wall(X509_get0_notAfter(x509.get()));
  if (!not_before || !not_after) return cert_error("certificate_format", "unreadable validity period");
  c.not_before_ = *not_before;
  c.not_after_ = *not_after;

  int critical = 0;
  detail::EkuPtr eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x509.get(), NID_ext_key_usage, &critical, nullptr)));
  if (!eku && critical == -2) return cert_error("certificate_format", "more than one extendedKeyUsage extension");
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    char oid[128] = {};
    if (OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku.get(), i), 1) <= 0) continue;
    c.role_ue_ = c.role_ue_ || kOidRoleUe == oid;
    c.role_relay_ = c.role_relay_ || kOidRoleRelay == oid;
  }
  c.is_ca_ = X509_check_ca(x509.get()) != 0;
  c.x509_ = std::move(x509);
  return c;
}

Result<Certificate> Certificate::from_der(ByteView der) {
  const unsigned char* p = der.data();
  X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x509 == nullptr) {
    return openssl_error(Cause::kAuthenticationFailure, "certificate_format", "not a DER X.509 certificate");
  }
  std::shared_ptr<X509> shared(x509, X509_free);
  if (p != der.data() + der.size()) return cert_error("certificate_format", "bytes after the DER certificate");
  return from_x509(std::move(shared));
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  detail::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* x509 = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (x509 == nullptr) return openssl_error(Cause::kNone, "certificate_format", "not a PEM X.509 certificate");
  return from_x509(std::shared_ptr<X509>(x509, X509_free));
}

std::string Certificate::pem() const {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x509_.get()) != 1) std::abort();
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<PublicKey> Certificate::public_key() const {
  // The SubjectPublicKeyInfo as the certificate holds it (no re-encoding): id-ecPublicKey with the named curve
  // prime256v1 and an uncompressed point (docs/protocol.md 5), nothing else.
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* point = nullptr;
  int point_size = 0;
  X509_ALGOR* parameters = nullptr;
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(x509_.get());
  if (spki == nullptr || X509_PUBKEY_get0_param(&algorithm, &point, &point_size, &parameters, spki) != 1) {
    return cert_error("certificate_key", "certificate has no usable public key");
  }
  int parameter_type = 0;
  const void* parameter = nullptr;
  X509_ALGOR_get0(nullptr, &parameter_type, &parameter, parameters);
  if (OBJ_obj2nid(algorithm) != NID_X9_62_id_ecPublicKey || parameter_type != V_ASN1_OBJECT ||
      OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(parameter)) != NID_X9_62_prime256v1) {
    return cert_error("certificate_key", "certificate key is not a P-256 key by named curve");
  }
  auto key = PublicKey::from_uncompressed_point(ByteView(point, static_cast<std::size_t>(std::max(point_size, 0))));
  if (!key) return cert_error("certificate_key", "certificate key is not a P-256 key: " + key.error().reason);
  return key;
}

Result<TrustStore> TrustStore::from_ca(const Certificate& ca) {
  if (!ca.is_ca()) return make_error(Cause::kNone, "ca", "the CA certificate is not a CA (basicConstraints)");
  if (auto key = ca.public_key(); !key) return make_error(Cause::kNone, "ca", "the CA key is not a P-256 key");
  TrustStore t;
  t.ca_ = ca;
  t.store_ = std::shared_ptr<X509_STORE>(X509_STORE_new(), X509_STORE_free);
  if (!t.store_ || X509_STORE_add_cert(t.store_.get(), ca.x509_.get()) != 1) {
    return openssl_error(Cause::kNone, "ca", "cannot build the trust store");
  }
  return t;
}

TrustStore::TrustStore(const TrustStore& other) : ca_(other.ca_), store_(other.store_), revoked_(other.revoked_) {
  std::lock_guard lock(other.cache_mutex_);
  cache_ = other.cache_;
  cache_order_ = other.cache_order_;
}

TrustStore::CacheStats TrustStore::cache_stats() const {
  std::lock_guard lock(cache_mutex_);
  CacheStats s = stats_;
  s.size = cache_.size();
  return s;
}

Result<std::shared_ptr<const TrustStore::Chained>> TrustStore::chained(ByteView certificate_der) const {
  const Sha256Digest digest = sha256(certificate_der);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(digest); it != cache_.end()) {
      ++stats_.hits;
      return it->second;
    }
    ++stats_.misses;
  }
  auto cert = Certificate::from_der(certificate_der);
  if (!cert) return cert.error();
  detail::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), cert->x509_.get(), nullptr) != 1) {
    return openssl_error(Cause::kAuthenticationFailure, "certificate_chain", "cannot start chain verification");
  }
  // Time is checked separately against the caller's clock; the chain check is then cacheable.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    detail::openssl_error_text();
    return cert_error("certificate_chain",
                      std::string("certificate of \"") + cert->subject_cn() +
                          "\" does not chain to the configured CA: " + X509_verify_cert_error_string(err));
  }
  auto key = cert->public_key();
  if (!key) return key.error();
  auto entry = std::make_shared<const Chained>(Chained{std::move(cert).value(), std::move(key).value()});
  std::lock_guard lock(cache_mutex_);
  if (cache_.emplace(digest, entry).second) {
    cache_order_.push_back(digest);
    if (cache_.size() > kCertificateCacheSize) {
      cache_.erase(cache_order_.front());
      cache_order_.pop_front();
    }
  }
  return entry;
}

Status TrustStore::check_validity_and_revocation(const Certificate& cert, WallTime now) const {
  for (const Certificate* c : std::initializer_list<const Certificate*>{&cert, &ca_}) {
    if (now < c->not_before()) {
      return cert_error("certificate_validity",
                        "certificate of \"" + c->subject_cn() + "\" is not valid before " + utc_text(c->not_before()));
    }
    if (now > c->not_after()) {
      return cert_error("certificate_validity",
                        "certificate of \"" + c->subject_cn() + "\" expired at " + utc_text(c->not_after()));
    }
  }
  if (revoked_.count(cert.serial_hex()) != 0) {
    return cert_error("certificate_revoked",
                      "certificate of \"" + cert.subject_cn() + "\" (serial " + cert.serial_hex() + ") is revoked");
  }
  return {};
}

Status TrustStore::verify_chain(const Certificate& certificate, WallTime now) const {
  auto entry = chained(certificate.der());
  if (!entry) return entry.error();
  return check_validity_and_revocation((*entry)->certificate, now);
}

Result<VerifiedPeer> TrustStore::verify(ByteView certificate_der, std::string_view claimed_user_info_id, Role role,
                                        WallTime now) const {
  auto entry = chained(certificate_der);
  if (!entry) return entry.error();
  const Certificate& cert = (*entry)->certificate;
  if (auto s = check_validity_and_revocation(cert, now); !s) return s.error();
  if (cert.subject_cn() != claimed_user_info_id) {
    return cert_error("certificate_identity", "certificate CN \"" + cert.subject_cn() +
                                                  "\" differs from the claimed User Info ID \"" +
                                                  std::string(claimed_user_info_id) + "\"");
  }
  if (cert.is_ca()) return cert_error("certificate_role", "a CA certificate cannot act as a UE or relay");
  if (!cert.has_role(role)) {
    return cert_error("certificate_role", "certificate of \"" + cert.subject_cn() + "\" lacks the " +
                                              std::string(role_name(role)) + " role (extended key usage " +
                                              std::string(role == Role::kUe ? kOidRoleUe : kOidRoleRelay) + ")");
  }
  return VerifiedPeer{cert.subject_cn(), (*entry)->key, cert.serial_hex(), std::min(cert.not_after(), ca_.not_after())};
}

Result<CertificateAuthority> CertificateAuthority::create(std::string_view name, WallTime not_before,
                                                          WallTime not_after) {
  auto key = PrivateKey::generate();
  if (!key) return key.error();
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  if (!cert) return openssl_error(Cause::kNone, "certificate", "out of memory");
  if (auto s = set_common_fields(cert.get(), name, nullptr, not_before, not_after, key->key_.get()); !s) {
    return s.error();
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
    if (auto s = add_extension(cert.get(), cert.get(), nid, value); !s) return s.error();
  }
  if (X509_sign(cert.get(), key->key_.get(), EVP_sha256()) <= 0) {
    return openssl_error(Cause::kNone, "certificate", "cannot sign the CA certificate");
  }
  auto c = Certificate::from_x509(std::move(cert));
  if (!c) return c.error();
  return CertificateAuthority(std::move(c).value(), std::move(key).value());
}

Result<CertificateAuthority> CertificateAuthority::load(Certificate certificate, PrivateKey key) {
  auto cert_key = certificate.public_key();
  if (!certificate.is_ca()) return make_error(Cause::kNone, "ca", "the certificate is not a CA certificate");
  if (!cert_key || !(*cert_key == key.public_key())) {
    return make_error(Cause::kNone, "ca", "the CA key does not match the CA certificate");
  }
  return CertificateAuthority(std::move(certificate), std::move(key));
}

Result<Certificate> CertificateAuthority::issue(const IssueRequest& request, const PublicKey& subject_key) const {
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  if (!cert) return openssl_error(Cause::kNone, "certificate", "out of memory");
  if (auto s = set_common_fields(cert.get(), request.user_info_id, X509_get_subject_name(certificate_.x509_.get()),
                                 request.not_before, request.not_after, subject_key.key_.get());
      !s) {
    return s.error();
  }
  const std::string eku(request.role == Role::kUe ? kOidRoleUe : kOidRoleRelay);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature,keyAgreement")},
                            std::pair{NID_ext_key_usage, eku}}) {
    if (auto s = add_extension(cert.get(), certificate_.x509_.get(), nid, value.c_str()); !s) return s.error();
  }
  if (X509_sign(cert.get(), key_.key_.get(), EVP_sha256()) <= 0) {
    return openssl_error(Cause::kNone, "certificate", "cannot sign the certificate");
  }
  return Certificate::from_x509(std::move(cert));
}

}  // namespace u2u::crypto
