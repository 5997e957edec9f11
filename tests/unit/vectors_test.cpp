// The code against tests/vectors/protocol-v1.json: the same inputs must give the same bytes, keys and IDs.
#include <gtest/gtest.h>

#include <fstream>

#include "dataplane/data_link.hpp"
#include "protocol/constants.hpp"
#include "vectors/protocol_vectors.hpp"
#include "wire/discovery.hpp"

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
    expected_data = vectors::data_from_json(j);
    actual = vectors::run(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
      return vectors::replaying_signer(expected.signatures, role);
    });
  }
  vectors::Inputs inputs;
  vectors::Outputs expected;
  vectors::Outputs actual;
  std::vector<vectors::DataSuiteVector> expected_data;
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

// Section 11: the keys of each suite and a data PDU each way, byte-exact from the handshake's KD-sess.
TEST_F(ProtocolVectors, EverySuitesKeysAndDataPdusAreByteExact) {
  const auto actual_data = vectors::run_data(inputs, actual);
  ASSERT_EQ(actual_data.size(), 3u);
  ASSERT_EQ(expected_data.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(expected_data[i].suite);
    EXPECT_EQ(actual_data[i].suite, expected_data[i].suite);
    EXPECT_EQ(actual_data[i].id, expected_data[i].id);
    EXPECT_EQ(to_hex(actual_data[i].nrpek), to_hex(expected_data[i].nrpek));
    EXPECT_EQ(to_hex(actual_data[i].nrpik), to_hex(expected_data[i].nrpik));
    ASSERT_EQ(actual_data[i].pdus.size(), 2u);
    for (std::size_t p = 0; p < 2; ++p) {
      EXPECT_EQ(to_hex(actual_data[i].pdus[p].datagram), to_hex(expected_data[i].pdus[p].datagram));
      EXPECT_EQ(actual_data[i].pdus[p].count, expected_data[i].pdus[p].count);
      EXPECT_EQ(actual_data[i].pdus[p].bearer, expected_data[i].pdus[p].bearer);
    }
  }
}

// The recorded data PDUs are accepted by the other end's DataLink and give back the recorded payloads.
TEST_F(ProtocolVectors, EachRecordedDataPduIsUnprotectedByTheOtherEnd) {
  const crypto::SecretBytes kd_sess(expected.kd_sess);
  for (const auto& v : expected_data) {
    SCOPED_TRACE(v.suite);
    const auto suite = dataplane::suite_from_wire(v.id);
    ASSERT_TRUE(suite.has_value());
    for (const auto& pdu : v.pdus) {
      const bool from_source = pdu.from == "source-ue";
      auto receiver =
          dataplane::DataLink::create(
              {*suite, dataplane::derive_nrp_keys(kd_sess, *suite),
               from_source ? dataplane::kDirectionFromTarget : dataplane::kDirectionFromSource,
               dataplane::link_label(expected.request_digest), dataplane::short_kd_sess_id(expected.kd_sess_id),
               from_source ? inputs.parties[2].layer2_id : inputs.parties[0].layer2_id, inputs.parties[1].layer2_id})
              .value();
      Bytes d = pdu.datagram;
      const auto r = receiver.unprotect(d);
      const auto* delivered = std::get_if<dataplane::Delivery>(&r);
      ASSERT_NE(delivered, nullptr) << pdu.from;
      EXPECT_EQ(Bytes(delivered->payload.begin(), delivered->payload.end()), pdu.payload);
      EXPECT_EQ(delivered->bearer, pdu.bearer);
      EXPECT_EQ(delivered->count, pdu.count);
    }
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
    const auto& party =
        *std::find_if(inputs.parties.begin(), inputs.parties.end(), [&](const auto& p) { return p.role == s.signer; });
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

class DiscoveryVectors : public ProtocolVectors {
 protected:
  void SetUp() override {
    ProtocolVectors::SetUp();
    std::ifstream in(std::string(U2U_VECTORS_DIR) + "/protocol-v1.json");
    expected_discovery = vectors::discovery_from_json(vectors::Json::parse(in));
    actual_discovery =
        vectors::run_discovery(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
          return vectors::replaying_signer(expected_discovery.signatures, role);
        });
  }
  vectors::DiscoveryOutputs expected_discovery;
  vectors::DiscoveryOutputs actual_discovery;
};

TEST_F(DiscoveryVectors, ModelAAndModelBSelectTheRelayWithTheRecordedSignatures) {
  EXPECT_TRUE(actual_discovery.selected_by_model_a);
  EXPECT_TRUE(actual_discovery.selected_by_model_b);
}

TEST_F(DiscoveryVectors, EveryDiscoveryDatagramIsByteExact) {
  const std::uint8_t types[] = {wire::kTargetAnnouncementType, wire::kRelayAnnouncementType, wire::kSolicitationType,
                                wire::kTargetSolicitationType, wire::kTargetResponseType,    wire::kResponseType};
  ASSERT_EQ(expected_discovery.datagrams.size(), std::size(types));
  ASSERT_EQ(actual_discovery.datagrams.size(), std::size(types));
  for (std::size_t i = 0; i < std::size(types); ++i) {
    EXPECT_EQ(to_hex(actual_discovery.datagrams[i]), to_hex(expected_discovery.datagrams[i])) << "datagram " << i;
    auto d = wire::decode_discovery_datagram(expected_discovery.datagrams[i]);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_EQ(d->message.message.type, types[i]);
  }
}

TEST_F(DiscoveryVectors, EachDiscoverySignatureCoversItsLabelAndVerifies) {
  ASSERT_EQ(expected_discovery.signatures.size(), 6u);
  for (const auto& bytes : expected_discovery.datagrams) {
    auto d = wire::decode_discovery_datagram(bytes);
    ASSERT_TRUE(d.ok());
    const auto& m = d->message;
    const auto& party = *std::find_if(inputs.parties.begin(), inputs.parties.end(),
                                      [&](const auto& p) { return p.user_info_id == m.message.sender_user_info_id; });
    const std::string label =
        std::string(protocol::kLabelDiscovery) + std::string(wire::discovery_name(m.message.type));
    Bytes input(label.begin(), label.end());
    input.push_back(0x00);
    const auto covered = m.covered_by_signature();
    input.insert(input.end(), covered.begin(), covered.end());
    auto key = crypto::PrivateKey::from_pem(party.private_key_pem);
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(key->public_key().verify(input, m.message.signature).ok()) << label;
  }
}

}  // namespace
}  // namespace u2u::test
