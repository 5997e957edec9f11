// docs/protocol.md states the vectors' values and the size bounds: if the wire or the key schedule changes
// without the document, these fail.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
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
  // Section 9.1: the forward secrecy handshake's values, every datagram's size, steps 1 and 5 in full.
  const auto& fs = j.at("forward_secrecy_handshake");
  for (const char* key : {"source_ephemeral_scalar", "source_ephemeral_public_key", "target_ephemeral_scalar",
                          "target_ephemeral_public_key", "request_digest", "session", "ephemeral_secret",
                          "kd_sess_kdf_input_s", "kd_sess", "k_int", "kd_sess_id"}) {
    EXPECT_NE(doc.find(fs.at(key).get<std::string>()), std::string::npos)
        << "forward_secrecy_handshake." << key << " is not in docs/protocol.md";
  }
  std::set<int> fs_shown;
  for (const auto& d : fs.at("datagrams")) {
    EXPECT_NE(doc.find("| " + std::to_string(d.at("size").get<int>()) + " |"), std::string::npos);
    const int step = d.at("step").get<int>();
    if ((step == 1 || step == 5) && fs_shown.insert(step).second) {
      EXPECT_NE(doc_hex.find(d.at("hex").get<std::string>()), std::string::npos)
          << "forward secrecy step " << step << " in docs/protocol.md is not current";
    }
  }
  EXPECT_EQ(fs_shown, (std::set<int>{1, 5}));
  // Sections 9.2 and 9.3: every keep-alive and release datagram, and the target's two rejects.
  for (const auto& d : j.at("link_maintenance").at("datagrams")) {
    EXPECT_NE(doc_hex.find(d.at("hex").get<std::string>()), std::string::npos)
        << d.at("message").get<std::string>() << " in docs/protocol.md is not current";
  }
  std::size_t rejects = 0;
  for (const auto& d : j.at("target_reject").at("datagrams")) {
    if (d.at("message") != "DIRECT COMMUNICATION REJECT") continue;
    ++rejects;
    EXPECT_NE(doc_hex.find(d.at("hex").get<std::string>()), std::string::npos)
        << "the target's reject in docs/protocol.md is not current";
  }
  EXPECT_EQ(rejects, 2u);
  // Section 12.7: the rekeying's values and every one of its datagrams.
  const auto& rk = j.at("rekeying");
  for (const char* key : {"source_nonce", "target_nonce", "kd_sess_kdf_input_s", "kd_sess", "k_int", "kd_sess_id"}) {
    EXPECT_NE(doc.find(rk.at(key).get<std::string>()), std::string::npos) << "rekeying." << key;
  }
  for (const char* key : {"ecdh_secret", "kd_kdf_input_s", "kd", "kd_id", "kd_sess", "k_int", "kd_sess_id"}) {
    EXPECT_NE(doc.find(rk.at("forward_secrecy").at(key).get<std::string>()), std::string::npos)
        << "rekeying.forward_secrecy." << key;
  }
  for (const auto& d : rk.at("datagrams")) {
    EXPECT_NE(doc_hex.find(d.at("hex").get<std::string>()), std::string::npos)
        << d.at("message").get<std::string>() << " in docs/protocol.md is not current";
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
