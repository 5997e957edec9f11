// The code against tests/vectors/protocol-v1.json: the same inputs must give the same bytes, keys and IDs.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "crypto/kdf.hpp"
#include "dataplane/data_link.hpp"
#include "protocol/constants.hpp"
#include "protocol/transcript.hpp"
#include "vectors/protocol_vectors.hpp"
#include "wire/discovery.hpp"

namespace u2u::test {
namespace {

class ProtocolVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(U2U_VECTORS_DIR) + "/protocol-v1.json");
    ASSERT_TRUE(in) << "missing " << U2U_VECTORS_DIR << "/protocol-v1.json";
    json = vectors::Json::parse(in);
    const auto& j = json;
    inputs = vectors::inputs_from_json(j);
    expected = vectors::outputs_from_json(j);
    expected_data = vectors::data_from_json(j);
    expected_fs = vectors::forward_secrecy_from_json(j);
    expected_target_reject = vectors::target_reject_from_json(j);
    actual = vectors::run(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
      return vectors::replaying_signer(expected.signatures, role);
    });
  }
  // A party's long-term public key, by role.
  crypto::PublicKey public_key_of(std::string_view role) const {
    const auto& party =
        *std::find_if(inputs.parties.begin(), inputs.parties.end(), [&](const auto& p) { return p.role == role; });
    return crypto::PrivateKey::from_pem(party.private_key_pem).value().public_key();
  }
  wire::Layer2Id layer2_of(std::string_view role) const {
    for (const auto& p : inputs.parties) {
      if (p.role == role) return p.layer2_id;
    }
    ADD_FAILURE() << "no party " << role;
    return 0;
  }

  vectors::Json json;
  vectors::Inputs inputs;
  vectors::Outputs expected;
  vectors::Outputs actual;
  std::vector<vectors::DataSuiteVector> expected_data;
  vectors::ForwardSecrecyOutputs expected_fs;
  vectors::TargetRejectOutputs expected_target_reject;
};

// Every link-procedure datagram of the file (handshake, relay's reject, link maintenance, forward secrecy handshake,
// target's reject) decodes, and encoding what was decoded gives back the same octets.
TEST_F(ProtocolVectors, EveryRecordedDatagramDecodesAndReencodesToTheSameBytes) {
  std::vector<std::pair<std::string, Bytes>> all;
  for (const auto& d : expected.datagrams) all.emplace_back("handshake", d);
  all.emplace_back("relay reject", expected.reject_datagram);
  for (const auto& d : expected.link_datagrams) all.emplace_back("link maintenance", d);
  for (const auto& d : expected_fs.datagrams) all.emplace_back("forward secrecy handshake", d);
  for (const auto& d : expected_target_reject.datagrams) all.emplace_back("target reject", d);
  EXPECT_EQ(all.size(), 8u + 1u + 8u + 8u + 4u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& [block, bytes] = all[i];
    auto d = wire::decode_datagram(bytes);
    ASSERT_TRUE(d.ok()) << block << " datagram " << i << ": " << d.error().reason;
    EXPECT_EQ(to_hex(wire::encode_datagram(d->source, d->destination, wire::encode(d->message.body))), to_hex(bytes))
        << block << " datagram " << i;
    EXPECT_LE(bytes.size(), wire::kMaxDatagramSize);
  }
}

// Keep-alive and release of the handshake's link: the state machines send the same octets again.
TEST_F(ProtocolVectors, KeepaliveAndReleaseOfTheLinkAreByteExact) {
  ASSERT_EQ(expected.link_datagrams.size(), 8u);
  ASSERT_EQ(actual.link_datagrams.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(to_hex(actual.link_datagrams[i]), to_hex(expected.link_datagrams[i])) << "link datagram " << i;
  }
}

// Each keep-alive and release message: the link's request digest, its counter or cause, a MAC under the vectors'
// K_int with its message's label; the relay forwards it unchanged but for the Layer-2 IDs.
TEST_F(ProtocolVectors, EachKeepaliveAndReleaseMacVerifiesUnderKInt) {
  const struct {
    wire::MessageType type;
    std::string_view label;
    const char* from;
    const char* to;
  } hops[] = {{wire::MessageType::kKeepaliveRequest, protocol::kLabelKeepaliveRequest, "source-ue", "target-ue"},
              {wire::MessageType::kKeepaliveResponse, protocol::kLabelKeepaliveResponse, "target-ue", "source-ue"},
              {wire::MessageType::kReleaseRequest, protocol::kLabelReleaseRequest, "source-ue", "target-ue"},
              {wire::MessageType::kReleaseAccept, protocol::kLabelReleaseAccept, "target-ue", "source-ue"}};
  ASSERT_EQ(expected.link_datagrams.size(), 2 * std::size(hops));
  const crypto::SecretBytes k_int(expected.k_int);
  for (std::size_t i = 0; i < expected.link_datagrams.size(); ++i) {
    const auto& hop = hops[i / 2];
    SCOPED_TRACE(std::string(wire::message_name(hop.type)) + (i % 2 == 0 ? ", first hop" : ", second hop"));
    auto d = wire::decode_datagram(expected.link_datagrams[i]);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_EQ(d->source, i % 2 == 0 ? layer2_of(hop.from) : layer2_of("relay-ue"));
    EXPECT_EQ(d->destination, i % 2 == 0 ? layer2_of("relay-ue") : layer2_of(hop.to));
    ASSERT_EQ(d->message.type(), hop.type);
    const auto& m = std::get<wire::LinkMessage>(d->message.body);
    EXPECT_EQ(to_hex(m.request_digest), to_hex(expected.request_digest));
    const bool keepalive =
        hop.type == wire::MessageType::kKeepaliveRequest || hop.type == wire::MessageType::kKeepaliveResponse;
    EXPECT_EQ(m.keepalive_counter, keepalive ? std::optional<std::uint32_t>(1) : std::nullopt);
    EXPECT_EQ(m.cause,
              hop.type == wire::MessageType::kReleaseRequest ? std::optional(Cause::kNoLongerNeeded) : std::nullopt);
    EXPECT_TRUE(protocol::mac_equal(m.mac, protocol::link_mac(k_int, hop.label, d->message.covered_by_mac())));
    if (i % 2 == 1) {  // the relay's copy: the same message
      EXPECT_EQ(to_hex(d->message.bytes), to_hex(wire::decode_datagram(expected.link_datagrams[i - 1])->message.bytes));
    }
  }
}

// The target's REJECT: the same request (steps 1 and 3 as in the handshake vectors) to a target that requires the
// forward secrecy option. The state machines send the same octets; the source ends with the reject's cause.
TEST_F(ProtocolVectors, TheTargetsRejectIsByteExactAndForwardedUnchanged) {
  const auto actual_reject =
      vectors::run_target_reject(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
        return vectors::replaying_signer(expected.signatures, role);
      });
  ASSERT_EQ(expected_target_reject.datagrams.size(), 4u);
  ASSERT_EQ(actual_reject.datagrams.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(to_hex(actual_reject.datagrams[i]), to_hex(expected_target_reject.datagrams[i])) << "datagram " << i;
  }
  EXPECT_EQ(to_hex(expected_target_reject.datagrams[0]), to_hex(expected.datagrams[0])) << "step 1";
  EXPECT_EQ(to_hex(expected_target_reject.datagrams[1]), to_hex(expected.datagrams[1])) << "step 3";
  EXPECT_EQ(expected_target_reject.cause, Cause::kAuthenticationFailure);
  EXPECT_EQ(actual_reject.cause, expected_target_reject.cause);
  EXPECT_TRUE(actual_reject.source_failed_with_cause);
  const std::pair<const char*, const char*> hops[] = {{"target-ue", "relay-ue"}, {"relay-ue", "source-ue"}};
  for (std::size_t i = 0; i < 2; ++i) {
    auto d = wire::decode_datagram(expected_target_reject.datagrams[2 + i]);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    EXPECT_EQ(d->source, layer2_of(hops[i].first));
    EXPECT_EQ(d->destination, layer2_of(hops[i].second));
    ASSERT_EQ(d->message.type(), wire::MessageType::kDirectCommunicationReject);
    const auto& r = std::get<wire::DirectCommunicationReject>(d->message.body);
    EXPECT_EQ(to_hex(r.request_digest), to_hex(expected.request_digest));
    EXPECT_EQ(r.cause, expected_target_reject.cause);
    EXPECT_EQ(r.rejected_by, wire::RejectedBy::kTarget);
  }
  EXPECT_EQ(to_hex(wire::decode_datagram(expected_target_reject.datagrams[2])->message.bytes),
            to_hex(wire::decode_datagram(expected_target_reject.datagrams[3])->message.bytes));
}

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

// Section 12.7: the rekeying's messages on both hops and its keys, byte-exact from the handshake's keys and the
// recorded nonces, through the state machine.
TEST_F(ProtocolVectors, TheRekeyingIsByteExact) {
  const auto expected_rekeying = vectors::rekeying_from_json(json);
  const auto r = vectors::run_rekeying(inputs, actual);
  EXPECT_TRUE(r.switched);
  ASSERT_EQ(r.datagrams.size(), 6u);
  ASSERT_EQ(expected_rekeying.datagrams.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(to_hex(r.datagrams[i]), to_hex(expected_rekeying.datagrams[i])) << i;
  EXPECT_EQ(to_hex(r.kd_sess), to_hex(expected_rekeying.kd_sess));
  EXPECT_EQ(to_hex(r.k_int), to_hex(expected_rekeying.k_int));
  EXPECT_EQ(r.kd_sess_id, expected_rekeying.kd_sess_id);
  EXPECT_EQ(r.data_kd_sess_id, expected_rekeying.data_kd_sess_id);
  EXPECT_EQ(to_hex(r.fs_kd), to_hex(expected_rekeying.fs_kd));
  EXPECT_EQ(to_hex(r.fs_kd_sess), to_hex(expected_rekeying.fs_kd_sess));
  EXPECT_EQ(r.fs_kd_id, expected_rekeying.fs_kd_id);
  EXPECT_EQ(r.fs_kd_sess_id, expected_rekeying.fs_kd_sess_id);
}

// The same from the recorded values alone, as another implementation would check them: the KDF of section 6 over
// them, and each message's MAC (section 12.2) under its K_int.
TEST_F(ProtocolVectors, TheRekeyingsKeysAndMacsFollowFromTheRecordedValuesAlone) {
  const auto r = vectors::rekeying_from_json(json);
  const crypto::SecretBytes kd(expected.kd);
  EXPECT_EQ(to_hex(crypto::kdf_input(protocol::kFcKdSess, {r.source_nonce, r.target_nonce})), to_hex(r.kd_sess_input));
  const auto kd_sess = crypto::kdf(kd, protocol::kFcKdSess, {r.source_nonce, r.target_nonce});
  EXPECT_EQ(to_hex(kd_sess.reveal()), to_hex(r.kd_sess));
  EXPECT_EQ(to_hex(protocol::derive_k_int(kd_sess).reveal()), to_hex(r.k_int));
  EXPECT_EQ(protocol::key_id(kd_sess, protocol::kFcKdSessId), r.kd_sess_id);
  const crypto::SecretBytes old_k_int(expected.k_int), new_k_int(r.k_int);
  const std::pair<const crypto::SecretBytes*, std::string_view> mac_of[] = {
      {&old_k_int, protocol::kLabelRekeyingRequest},
      {&new_k_int, protocol::kLabelRekeyingResponse},
      {&new_k_int, protocol::kLabelRekeyingConfirm}};
  ASSERT_EQ(r.datagrams.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    auto d = wire::decode_datagram(r.datagrams[i]);
    ASSERT_TRUE(d.ok()) << i;
    const auto& m = std::get<wire::LinkMessage>(d->message.body);
    EXPECT_EQ(m.request_digest, expected.request_digest);
    EXPECT_EQ(m.rekeying_generation, 1u);
    const auto& [key, label] = mac_of[i / 2];
    EXPECT_TRUE(protocol::mac_equal(m.mac, protocol::link_mac(*key, label, d->message.covered_by_mac()))) << i;
    if (i % 2 == 1) {  // the relay's copy: the same message, readdressed
      EXPECT_EQ(to_hex(ByteView(r.datagrams[i]).subspan(7)), to_hex(ByteView(r.datagrams[i - 1]).subspan(7)));
    }
  }
  // Forward secrecy: KD' from KD and Z_r, then KD-sess' from KD' and the same nonces.
  const crypto::SecretBytes z(r.fs_secret);
  EXPECT_EQ(to_hex(crypto::kdf_input(protocol::kFcRekeyedKd, {r.fs_secret})), to_hex(r.fs_kd_input));
  const auto fs_kd = crypto::kdf(kd, protocol::kFcRekeyedKd, {z.reveal()});
  EXPECT_EQ(to_hex(fs_kd.reveal()), to_hex(r.fs_kd));
  EXPECT_EQ(protocol::key_id(fs_kd, protocol::kFcKdId), r.fs_kd_id);
  const auto fs_kd_sess = crypto::kdf(fs_kd, protocol::kFcKdSess, {r.source_nonce, r.target_nonce});
  EXPECT_EQ(to_hex(fs_kd_sess.reveal()), to_hex(r.fs_kd_sess));
  EXPECT_EQ(to_hex(protocol::derive_k_int(fs_kd_sess).reveal()), to_hex(r.fs_k_int));
  EXPECT_EQ(protocol::key_id(fs_kd_sess, protocol::kFcKdSessId), r.fs_kd_sess_id);
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

// The handshake with the forward secrecy option (docs/protocol.md 9): the ephemeral keys fixed by the recorded
// scalars, the signatures recorded.
class ForwardSecrecyVectors : public ProtocolVectors {
 protected:
  void SetUp() override {
    ProtocolVectors::SetUp();
    actual_fs =
        vectors::run_forward_secrecy(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
          return vectors::replaying_signer(expected_fs.signatures, role);
        });
  }
  vectors::ForwardSecrecyOutputs actual_fs;
};

TEST_F(ForwardSecrecyVectors, TheHandshakeIsByteExactUnderTheRecordedEphemeralKeys) {
  EXPECT_TRUE(actual_fs.source_established);
  EXPECT_TRUE(actual_fs.target_established);
  EXPECT_TRUE(actual_fs.keys_equal);
  ASSERT_EQ(expected_fs.datagrams.size(), 8u);
  ASSERT_EQ(actual_fs.datagrams.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(to_hex(actual_fs.datagrams[i]), to_hex(expected_fs.datagrams[i])) << "datagram " << i;
  }
  EXPECT_EQ(to_hex(actual_fs.request_digest), to_hex(expected_fs.request_digest));
  EXPECT_EQ(actual_fs.session, expected_fs.session);
  EXPECT_EQ(to_hex(actual_fs.source_ephemeral_public_key), to_hex(expected_fs.source_ephemeral_public_key));
  EXPECT_EQ(to_hex(actual_fs.target_ephemeral_public_key), to_hex(expected_fs.target_ephemeral_public_key));
  EXPECT_EQ(to_hex(actual_fs.ephemeral_secret), to_hex(expected_fs.ephemeral_secret));
  EXPECT_EQ(to_hex(actual_fs.kd_sess_input), to_hex(expected_fs.kd_sess_input));
  EXPECT_EQ(to_hex(actual_fs.kd_sess), to_hex(expected_fs.kd_sess));
  EXPECT_EQ(to_hex(actual_fs.k_int), to_hex(expected_fs.k_int));
  EXPECT_EQ(actual_fs.kd_sess_id, expected_fs.kd_sess_id);
}

// What an implementation that cannot fix its ephemeral keys checks, from the recorded values alone: the ephemeral
// key IEs are the recorded keys', Z_e and KD-sess follow from them, every signature and MAC verifies.
TEST_F(ForwardSecrecyVectors, TheRecordedValuesAloneGiveZeKdSessAndVerify) {
  ASSERT_EQ(expected_fs.datagrams.size(), 8u);
  std::vector<wire::Message> m;
  for (const auto& bytes : expected_fs.datagrams) {
    auto d = wire::decode_datagram(bytes);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    m.push_back(d->message);
  }
  const auto& step1 = std::get<wire::DirectCommunicationRequest>(m[0].body);
  const auto& step3 = std::get<wire::DirectCommunicationRequest>(m[1].body);
  const auto& step5 = std::get<wire::DirectCommunicationAccept>(m[2].body);
  const auto& step7 = std::get<wire::DirectCommunicationAccept>(m[3].body);
  ASSERT_TRUE(step1.source_ephemeral_key && step3.source_ephemeral_key);
  ASSERT_TRUE(step5.target_ephemeral_key && step7.target_ephemeral_key);
  EXPECT_EQ(to_hex(*step1.source_ephemeral_key), to_hex(expected_fs.source_ephemeral_public_key));
  EXPECT_EQ(to_hex(*step3.source_ephemeral_key), to_hex(expected_fs.source_ephemeral_public_key));
  EXPECT_EQ(to_hex(*step5.target_ephemeral_key), to_hex(expected_fs.target_ephemeral_public_key));
  EXPECT_EQ(to_hex(*step7.target_ephemeral_key), to_hex(expected_fs.target_ephemeral_public_key));
  EXPECT_EQ(to_hex(step1.nonce_1), to_hex(inputs.nonce_1));
  EXPECT_EQ(to_hex(step5.nonce_2), to_hex(inputs.nonce_2));

  // The recorded ephemeral private keys: their public keys are the IEs', and ECDH either way gives Z_e.
  auto source_e = crypto::PrivateKey::from_pem(expected_fs.source_ephemeral_private_key_pem);
  auto target_e = crypto::PrivateKey::from_pem(expected_fs.target_ephemeral_private_key_pem);
  ASSERT_TRUE(source_e.ok() && target_e.ok());
  EXPECT_EQ(to_hex(source_e->public_key().uncompressed_point()), to_hex(expected_fs.source_ephemeral_public_key));
  EXPECT_EQ(to_hex(target_e->public_key().uncompressed_point()), to_hex(expected_fs.target_ephemeral_public_key));
  const auto z_source = source_e->ecdh(crypto::PublicKey::from_uncompressed_point(*step5.target_ephemeral_key).value());
  const auto z_target = target_e->ecdh(crypto::PublicKey::from_uncompressed_point(*step1.source_ephemeral_key).value());
  ASSERT_TRUE(z_source.ok() && z_target.ok());
  const Bytes z_e(z_source->reveal().begin(), z_source->reveal().end());
  EXPECT_EQ(to_hex(z_e), to_hex(expected_fs.ephemeral_secret));
  EXPECT_EQ(to_hex(Bytes(z_target->reveal().begin(), z_target->reveal().end())), to_hex(expected_fs.ephemeral_secret));

  // The key schedule: KD as without the option (section 9's), KD-sess with P2 = Z_e, then K_int and the ID.
  EXPECT_EQ(to_hex(protocol::request_digest(m[0])), to_hex(expected_fs.request_digest));
  EXPECT_EQ(protocol::session_id(expected_fs.request_digest), expected_fs.session);
  EXPECT_EQ(to_hex(crypto::kdf_input(protocol::kFcKdSess, {inputs.nonce_1, inputs.nonce_2, z_e})),
            to_hex(expected_fs.kd_sess_input));
  const crypto::SecretBytes kd(expected.kd);
  const auto kd_sess = protocol::derive_kd_sess(kd, step1.nonce_1, step5.nonce_2, &*z_source);
  EXPECT_EQ(to_hex(Bytes(kd_sess.reveal().begin(), kd_sess.reveal().end())), to_hex(expected_fs.kd_sess));
  EXPECT_NE(to_hex(expected_fs.kd_sess), to_hex(expected.kd_sess));
  const auto k_int = protocol::derive_k_int(kd_sess);
  EXPECT_EQ(to_hex(Bytes(k_int.reveal().begin(), k_int.reveal().end())), to_hex(expected_fs.k_int));
  EXPECT_EQ(protocol::key_id(kd_sess, protocol::kFcKdSessId), expected_fs.kd_sess_id);

  // Step 5's key confirmation, step 9's LINK CONFIRM (both hops) and LINK CONFIRM ACK (both hops) under that K_int.
  EXPECT_EQ(to_hex(step5.request_digest), to_hex(expected_fs.request_digest));
  EXPECT_TRUE(protocol::mac_equal(step5.key_confirmation_mac, protocol::accept_mac(k_int, m[2].covered_by_mac())));
  for (std::size_t i : {4u, 5u}) {
    ASSERT_EQ(m[i].type(), wire::MessageType::kLinkConfirm);
    EXPECT_TRUE(protocol::mac_equal(std::get<wire::LinkMessage>(m[i].body).mac,
                                    protocol::link_confirm_mac(k_int, m[2].bytes, m[i].covered_by_mac())));
  }
  for (std::size_t i : {6u, 7u}) {
    ASSERT_EQ(m[i].type(), wire::MessageType::kLinkConfirmAck);
    EXPECT_TRUE(protocol::mac_equal(std::get<wire::LinkMessage>(m[i].body).mac,
                                    protocol::link_mac(k_int, protocol::kLabelLinkConfirmAck, m[i].covered_by_mac())));
  }

  // The four signatures over their step labels, with the parties' long-term keys, and as recorded.
  const auto verifies = [&](std::string_view role, const protocol::StepSignature& step, ByteView covered,
                            const wire::Signature& signature) {
    const Bytes input = protocol::signing_input(step.label, covered);
    EXPECT_TRUE(std::any_of(expected_fs.signatures.begin(), expected_fs.signatures.end(),
                            [&](const auto& r) { return r.signer == role && r.signed_input == input; }))
        << step.name << " is not recorded";
    return public_key_of(role).verify(input, signature).ok();
  };
  EXPECT_TRUE(verifies("source-ue", protocol::kSignSource, m[0].covered_by_first_signature(), step1.sign_source));
  EXPECT_TRUE(verifies("relay-ue", protocol::kSign1Relay, m[1].covered_by_relay_signature(), step3.relay->signature));
  EXPECT_TRUE(verifies("target-ue", protocol::kSignTarget, m[2].covered_by_first_signature(), step5.sign_target));
  EXPECT_TRUE(verifies("relay-ue", protocol::kSign2Relay, m[3].covered_by_relay_signature(), step7.relay->signature));
  EXPECT_EQ(expected_fs.signatures.size(), 4u);
}

// The recorded scalars are what fixes the keys: under FixedRandom, a key generated is the recorded one.
TEST_F(ForwardSecrecyVectors, FixedRandomMakesTheRecordedEphemeralKeys) {
  {
    vectors::FixedRandom random(inputs.source_ephemeral_scalar);
    EXPECT_EQ(to_hex(crypto::PrivateKey::generate()->public_key().uncompressed_point()),
              to_hex(expected_fs.source_ephemeral_public_key));
    random.set(inputs.target_ephemeral_scalar);
    EXPECT_EQ(to_hex(crypto::PrivateKey::generate()->public_key().uncompressed_point()),
              to_hex(expected_fs.target_ephemeral_public_key));
  }
  // And OpenSSL's own generator is back afterwards.
  EXPECT_NE(to_hex(crypto::PrivateKey::generate()->public_key().uncompressed_point()),
            to_hex(crypto::PrivateKey::generate()->public_key().uncompressed_point()));
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

// All six discovery types have a vector; each decodes, and encoding what was decoded gives back the same octets.
TEST_F(DiscoveryVectors, EveryDiscoveryDatagramReencodesToTheSameBytes) {
  std::set<std::uint8_t> types;
  for (const auto& bytes : expected_discovery.datagrams) {
    auto d = wire::decode_discovery_datagram(bytes);
    ASSERT_TRUE(d.ok()) << d.error().reason;
    types.insert(d->message.message.type);
    Bytes message = wire::encode_discovery_unsigned(d->message.message);
    wire::append_discovery_signature(message, d->message.message.signature);
    EXPECT_EQ(to_hex(wire::encode_datagram(d->source, d->destination, message)), to_hex(bytes))
        << wire::discovery_name(d->message.message.type);
  }
  EXPECT_EQ(types, (std::set<std::uint8_t>{wire::kRelayAnnouncementType, wire::kTargetAnnouncementType,
                                           wire::kSolicitationType, wire::kResponseType, wire::kTargetSolicitationType,
                                           wire::kTargetResponseType}));
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
