// The code against tests/vectors/protocol-v1.json: the same inputs must give the same bytes, keys and IDs.
#include <gtest/gtest.h>

#include <fstream>

#include "protocol/constants.hpp"
#include "vectors/protocol_vectors.hpp"

namespace u2u::test {
namespace {

class ProtocolVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(U2U_VECTORS_DIR) + "/protocol-v1.json");
    ASSERT_TRUE(in) << "missing " << U2U_VECTORS_DIR << "/protocol-v1.json";
    const auto j = vectors::Json::parse(in);
    inputs = vectors::inputs_from_json(j);
    expected = vectors::outputs_from_json(j);
    actual = vectors::run(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
      return vectors::replaying_signer(expected.signatures, role);
    });
  }
  vectors::Inputs inputs;
  vectors::Outputs expected;
  vectors::Outputs actual;
};

TEST_F(ProtocolVectors, TheProcedureCompletesWithTheRecordedSignatures) {
  EXPECT_TRUE(actual.source_established);
  EXPECT_TRUE(actual.target_established);
  EXPECT_TRUE(actual.keys_equal);
}

TEST_F(ProtocolVectors, EveryDatagramOfSteps1357And9IsByteExact) {
  ASSERT_EQ(actual.datagrams.size(), 8u);
  ASSERT_EQ(expected.datagrams.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(to_hex(actual.datagrams[i]), to_hex(expected.datagrams[i])) << "datagram " << i;
    EXPECT_LE(actual.datagrams[i].size(), wire::kMaxDatagramSize);
  }
}

TEST_F(ProtocolVectors, EachSignatureCoversItsStepLabelAndVerifies) {
  const protocol::StepSignature steps[] = {protocol::kSignSource, protocol::kSign1Relay, protocol::kSignTarget,
                                           protocol::kSign2Relay};
  const char* signers[] = {"source-ue", "relay-ue", "target-ue", "relay-ue"};
  ASSERT_EQ(expected.signatures.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& s = expected.signatures[i];
    EXPECT_EQ(s.signer, signers[i]);
    Bytes prefix(steps[i].label.begin(), steps[i].label.end());
    prefix.push_back(0x00);
    ASSERT_GE(s.signed_input.size(), prefix.size());
    EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), s.signed_input.begin())) << steps[i].name;
    const auto& party = *std::find_if(inputs.parties.begin(), inputs.parties.end(),
                                      [&](const auto& p) { return p.role == s.signer; });
    auto key = crypto::PrivateKey::from_pem(party.private_key_pem);
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(key->public_key().verify(s.signed_input, s.signature).ok()) << steps[i].name;
  }
}

TEST_F(ProtocolVectors, DigestEcdhKdKdSessAndTheirIdsMatch) {
  EXPECT_EQ(to_hex(actual.request_digest), to_hex(expected.request_digest));
  EXPECT_EQ(actual.session, expected.session);
  EXPECT_EQ(to_hex(actual.ecdh_secret), to_hex(expected.ecdh_secret));
  EXPECT_EQ(to_hex(actual.kd_input), to_hex(expected.kd_input));
  EXPECT_EQ(to_hex(actual.kd), to_hex(expected.kd));
  EXPECT_EQ(to_hex(actual.kd_sess_input), to_hex(expected.kd_sess_input));
  EXPECT_EQ(to_hex(actual.kd_sess), to_hex(expected.kd_sess));
  EXPECT_EQ(to_hex(actual.k_int_input), to_hex(expected.k_int_input));
  EXPECT_EQ(to_hex(actual.k_int), to_hex(expected.k_int));
  EXPECT_EQ(to_hex(actual.fs_kd_sess_input), to_hex(expected.fs_kd_sess_input));
  EXPECT_EQ(to_hex(actual.fs_kd_sess), to_hex(expected.fs_kd_sess));
  EXPECT_EQ(actual.kd_id, expected.kd_id);
  EXPECT_EQ(actual.kd_sess_id, expected.kd_sess_id);
  EXPECT_EQ(to_hex(actual.reject_datagram), to_hex(expected.reject_datagram));
}

}  // namespace
}  // namespace u2u::test
