// docs/protocol.md section 5 in words (issue 12, point 7): "signed by the configured CA" requires the leaf's issuer
// name to equal the CA's subject as well as the CA's signature; "not a CA" means OpenSSL's X509_check_ca() finds no
// CA: basicConstraints absent or CA:FALSE, and keyUsage, if present, without keyCertSign. The certificates are made
// with the openssl command (u2u-provision never makes such ones) and checked with the project's TrustStore.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "crypto/certificate.hpp"
#include "integration/process.hpp"

namespace u2u::test {
namespace {

constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr const char* kUeRole = "2.25.77512872405339326791706027104185008850.1";

class CertificateRules : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kOpenssl, X_OK) != 0) GTEST_SKIP() << kOpenssl << " is not installed";
    std::string out;
    ASSERT_EQ(run({bin("u2u-provision"), "testbed", "--out", dir_.path() + "/tb"}, &out), 0) << out;
    ASSERT_EQ(openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("leaf.key")}),
              0);
    ASSERT_EQ(openssl({"req", "-new", "-key", path("leaf.key"), "-subj", "/CN=source-ue", "-out", path("leaf.csr")}),
              0);
    auto ca = crypto::Certificate::from_pem(read_file(ca_cert()));
    ASSERT_TRUE(ca.ok());
    auto trust = crypto::TrustStore::from_ca(*ca);
    ASSERT_TRUE(trust.ok());
    trust_.emplace(*trust);
  }

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string ca_cert() const { return dir_.path() + "/tb/ca/cert.pem"; }
  std::string ca_key() const { return dir_.path() + "/tb/ca/key.pem"; }

  int openssl(std::vector<std::string> args) const {
    args.insert(args.begin(), kOpenssl);
    std::string out;
    const int rc = run(args, &out);
    if (rc != 0) ADD_FAILURE() << out;
    return rc;
  }

  // The leaf (CN source-ue, role ue, P-256) with these extensions, signed with the CA's key under `issuer_cert`'s
  // name; the outcome of the project's check of it.
  Result<crypto::VerifiedPeer> leaf(const std::string& extensions, const std::string& issuer_cert) const {
    std::ofstream(path("leaf.ext"), std::ios::trunc) << extensions << "extendedKeyUsage=" << kUeRole << "\n";
    EXPECT_EQ(openssl({"x509", "-req", "-in", path("leaf.csr"), "-CA", issuer_cert, "-CAkey", ca_key(), "-set_serial",
                       "4242", "-days", "10", "-sha256", "-extfile", path("leaf.ext"), "-out", path("leaf.pem")}),
              0);
    auto certificate = crypto::Certificate::from_pem(read_file(path("leaf.pem")));
    if (!certificate) return certificate.error();
    return trust_->verify(certificate->der(), "source-ue", crypto::Role::kUe, Now::read().wall);
  }

  TempDir dir_;
  std::optional<crypto::TrustStore> trust_;
};

const char* kLeafExtensions = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n";

TEST_F(CertificateRules, ALeafMadeWithTheOpensslCommandAsU2uProvisionMakesThemVerifies) {
  const auto peer = leaf(kLeafExtensions, ca_cert());
  ASSERT_TRUE(peer.ok()) << peer.error().check << ": " << peer.error().reason;
  EXPECT_EQ(peer->user_info_id, "source-ue");
}

TEST_F(CertificateRules, ALeafSignedWithTheCasKeyUnderAnotherIssuerNameIsRefusedAsCertificateChain) {
  // A CA certificate of the same key under another name: the leaf's signature is the CA key's, its issuer is not
  // the configured CA's subject.
  ASSERT_EQ(openssl({"req", "-new", "-x509", "-key", ca_key(), "-subj", "/CN=not-the-configured-ca", "-days", "10",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out",
                     path("renamed-ca.pem")}),
            0);
  const auto peer = leaf(kLeafExtensions, path("renamed-ca.pem"));
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.error().check, "certificate_chain") << peer.error().reason;
}

TEST_F(CertificateRules, ALeafWithoutBasicConstraintsIsNotACaAndVerifies) {
  const auto peer = leaf("keyUsage=critical,digitalSignature,keyAgreement\n", ca_cert());
  ASSERT_TRUE(peer.ok()) << peer.error().check << ": " << peer.error().reason;
  EXPECT_EQ(peer->user_info_id, "source-ue");
}

TEST_F(CertificateRules, ALeafWithoutBasicConstraintsButWithKeyCertSignCountsAsACaAndIsRefusedAsCertificateRole) {
  const auto peer = leaf("keyUsage=critical,digitalSignature,keyCertSign\n", ca_cert());
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.error().check, "certificate_role") << peer.error().reason;
}

}  // namespace
}  // namespace u2u::test
