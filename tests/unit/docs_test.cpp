// docs/protocol.md states the vectors' values and the size bounds: if the wire or the key schedule changes
// without the document, these fail.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "vectors/protocol_vectors.hpp"
#include "wire/constants.hpp"
#include "wire/discovery.hpp"

namespace u2u::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DocsMatchVectors, ProtocolDocumentQuotesTheCurrentVectorValues) {
  const std::string doc = slurp(std::string(U2U_SOURCE_DIR) + "/docs/protocol.md");
  ASSERT_FALSE(doc.empty());
  const auto j = vectors::Json::parse(slurp(std::string(U2U_VECTORS_DIR) + "/protocol-v1.json"));
  for (const char* key : {"request_digest", "session", "ecdh_secret", "kd_kdf_input_s", "kd", "kd_sess_kdf_input_s",
                          "kd_sess", "kd_id", "kd_sess_id", "reject_datagram", "nonce_1", "nonce_2"}) {
    EXPECT_NE(doc.find(j.at(key).get<std::string>()), std::string::npos) << key << " is not in docs/protocol.md";
  }
  std::string step1;
  for (const auto& d : j.at("datagrams")) {
    EXPECT_NE(doc.find(std::to_string(d.at("size").get<int>())), std::string::npos);
    if (d.at("step") == 1) step1 = d.at("hex").get<std::string>();
  }
  std::string doc_hex;  // the step 1 datagram is printed wrapped over several lines
  for (char c : doc) {
    if (std::isxdigit(static_cast<unsigned char>(c))) doc_hex.push_back(c);
  }
  EXPECT_NE(doc_hex.find(step1), std::string::npos) << "the step 1 datagram in docs/protocol.md is not current";
  for (const auto& suite : j.at("data").at("suites")) {
    for (const char* key : {"nrpek", "nrpik"}) {
      EXPECT_NE(doc.find(suite.at(key).get<std::string>()), std::string::npos) << key;
    }
    for (const auto& pdu : suite.at("pdus")) {
      EXPECT_NE(doc_hex.find(pdu.at("hex").get<std::string>()), std::string::npos)
          << suite.at("suite").get<std::string>() << " PDU in docs/protocol.md is not current";
    }
  }
  for (const auto& d : j.at("discovery").at("datagrams")) {
    EXPECT_NE(doc_hex.find(d.at("hex").get<std::string>()), std::string::npos)
        << d.at("message").get<std::string>() << " in docs/protocol.md is not current";
  }
}

TEST(DocsMatchVectors, ProtocolDocumentStatesTheSizeBounds) {
  const std::string doc = slurp(std::string(U2U_SOURCE_DIR) + "/docs/protocol.md");
  for (std::size_t n : {wire::kMaxDatagramSize, wire::kLargestRequest, wire::kLargestAccept, wire::kCertificateMaxSize,
                        wire::kUserInfoIdMaxSize, wire::kLargestRelayAnnouncement}) {
    EXPECT_NE(doc.find(std::to_string(n)), std::string::npos) << n;
  }
}

}  // namespace
}  // namespace u2u::test
