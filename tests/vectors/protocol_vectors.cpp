#include "vectors/protocol_vectors.hpp"

#include <stdexcept>

#include "crypto/kdf.hpp"
#include "dataplane/data_link.hpp"
#include "protocol/constants.hpp"
#include "protocol/discovery.hpp"
#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::vectors {

namespace {

class ReplayingSigner final : public crypto::Signer {
 public:
  ReplayingSigner(std::vector<SignatureRecord> records, std::string role)
      : records_(std::move(records)), role_(std::move(role)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    for (const auto& r : records_) {
      if (r.signer == role_ && ByteView(r.signed_input).size() == message.size() &&
          std::equal(message.begin(), message.end(), r.signed_input.begin())) {
        return r.signature;
      }
    }
    return make_error(Cause::kNone, "vector", role_ + " was asked to sign an input the vectors do not hold");
  }

 private:
  std::vector<SignatureRecord> records_;
  std::string role_;
};

class RecordingSigner final : public crypto::Signer {
 public:
  RecordingSigner(std::shared_ptr<const crypto::PrivateKey> key, std::string role,
                  std::shared_ptr<std::vector<SignatureRecord>> log)
      : key_(std::move(key)), role_(std::move(role)), log_(std::move(log)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    auto s = key_->sign(message);
    if (s) log_->push_back({role_, Bytes(message.begin(), message.end()), *s});
    return s;
  }

 private:
  std::shared_ptr<const crypto::PrivateKey> key_;
  std::string role_;
  std::shared_ptr<std::vector<SignatureRecord>> log_;
};

Bytes hex_bytes(const Json& j) {
  Bytes out;
  if (!from_hex(j.get<std::string>(), out)) throw std::runtime_error("bad hex in vectors: " + j.dump());
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(const Json& j) {
  const Bytes b = hex_bytes(j);
  if (b.size() != N) throw std::runtime_error("wrong length in vectors: " + j.dump());
  std::array<std::uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

std::string utc(WallTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

WallTime parse_utc(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) throw std::runtime_error("bad time " + s);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::shared_ptr<const crypto::Signer> replaying_signer(std::vector<SignatureRecord> records, std::string role) {
  return std::make_shared<ReplayingSigner>(std::move(records), std::move(role));
}

std::shared_ptr<const crypto::Signer> recording_signer(std::shared_ptr<const crypto::PrivateKey> key, std::string role,
                                                       std::shared_ptr<std::vector<SignatureRecord>> log) {
  return std::make_shared<RecordingSigner>(std::move(key), std::move(role), std::move(log));
}

namespace {

struct Parties {
  std::vector<protocol::LocalParty> parties;  // source, relay, target
  std::vector<std::shared_ptr<const crypto::PrivateKey>> keys;
};

Parties make_parties(const Inputs& in, const SignerFactory& signer_for) {
  auto ca = crypto::Certificate::from_pem(in.ca_certificate_pem);
  if (!ca) throw std::runtime_error("vector CA: " + ca.error().reason);
  auto trust_store = crypto::TrustStore::from_ca(*ca);
  if (!trust_store) throw std::runtime_error("vector CA: " + trust_store.error().reason);
  auto trust = std::make_shared<const crypto::TrustStore>(std::move(trust_store).value());
  std::vector<protocol::LocalParty> parties;
  std::vector<std::shared_ptr<const crypto::PrivateKey>> keys;
  for (const auto& p : in.parties) {
    auto key = crypto::PrivateKey::from_pem(p.private_key_pem);
    auto cert = crypto::Certificate::from_der(p.certificate_der);
    if (!key || !cert) throw std::runtime_error("vector party " + p.role + " has a bad key or certificate");
    auto shared = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
    keys.push_back(shared);
    parties.push_back(
        {p.user_info_id, p.layer2_id, std::move(cert).value(), shared, signer_for(p.role, shared), trust});
  }
  return {std::move(parties), std::move(keys)};
}

protocol::RandomSource fixed(const wire::Nonce& n) {
  return [n](std::span<std::uint8_t> out) { std::copy(n.begin(), n.begin() + out.size(), out.begin()); };
}

}  // namespace

Outputs run(const Inputs& in, const SignerFactory& signer_for) {
  auto [parties, keys] = make_parties(in, signer_for);
  auto source_config = test::source_config(parties[0]);
  source_config.relay_user_info_id = in.parties[1].user_info_id;
  source_config.relay_layer2_id = in.parties[1].layer2_id;
  source_config.target_user_info_id = in.parties[2].user_info_id;
  source_config.target_layer2_id = in.parties[2].layer2_id;
  auto relay_config = test::relay_config(parties[1]);
  relay_config.targets = {{in.parties[2].user_info_id, in.parties[2].layer2_id, test::kTargetEndpoint}};
  protocol::SourceUe source(std::move(source_config), fixed(in.nonce_1));
  protocol::RelayUe relay(std::move(relay_config));
  protocol::TargetUe target(test::target_config(parties[2]), fixed(in.nonce_2));
  test::InMemoryNetwork net;
  net.attach(test::kSourceEndpoint, "source-ue", source);
  net.attach(test::kRelayEndpoint, "relay-ue", relay);
  net.attach(test::kTargetEndpoint, "target-ue", target);
  const Now now{std::chrono::steady_clock::now(), in.time};
  net.deliver(test::kSourceEndpoint, "source-ue", source.start(now), now);

  Outputs out;
  for (const auto& f : net.wire_log) out.datagrams.push_back(f.datagram);
  out.source_established = source.state() == protocol::SourceUe::State::kEstablished;
  const auto* target_keys = target.keys_for(in.parties[0].user_info_id);
  out.target_established = target_keys != nullptr;
  if (out.datagrams.empty()) return out;
  auto request = wire::decode_datagram(out.datagrams[0]);
  if (!request) throw std::runtime_error("step 1 datagram does not decode: " + request.error().reason);
  out.request_digest = protocol::request_digest(request->message);
  out.session = protocol::session_id(out.request_digest);
  out.reject_datagram = wire::encode_datagram(
      in.parties[1].layer2_id, in.parties[0].layer2_id,
      wire::encode_reject({out.request_digest, Cause::kAuthenticationFailure, wire::RejectedBy::kRelay}));
  auto z = keys[0]->ecdh(keys[2]->public_key());
  if (!z) throw std::runtime_error("vector ECDH failed");
  out.ecdh_secret.assign(z->reveal().begin(), z->reveal().end());
  out.kd_input =
      crypto::kdf_input(protocol::kFcKd, {as_bytes(in.parties[0].user_info_id), as_bytes(in.parties[2].user_info_id)});
  const auto kd = protocol::derive_kd(*z, in.parties[0].user_info_id, in.parties[2].user_info_id);
  out.kd.assign(kd.reveal().begin(), kd.reveal().end());
  out.kd_sess_input = crypto::kdf_input(protocol::kFcKdSess, {in.nonce_1, in.nonce_2});
  const auto kd_sess = protocol::derive_kd_sess(kd, in.nonce_1, in.nonce_2);
  out.kd_sess.assign(kd_sess.reveal().begin(), kd_sess.reveal().end());
  const std::uint8_t k_int_params[] = {protocol::kAlgorithmTypeIntegrity, protocol::kAlgorithmIdHmacSha256};
  out.k_int_input = crypto::kdf_input(protocol::kFcNrpKeys, {ByteView(k_int_params, 1), ByteView(k_int_params + 1, 1)});
  const auto k_int = protocol::derive_k_int(kd_sess);
  out.k_int.assign(k_int.reveal().begin(), k_int.reveal().end());
  crypto::SecretBytes fs_secret(32);
  for (std::size_t i = 0; i < 32; ++i) fs_secret.writable()[i] = static_cast<std::uint8_t>(0xa0 + i);
  out.fs_ephemeral_secret.assign(fs_secret.reveal().begin(), fs_secret.reveal().end());
  out.fs_kd_sess_input = crypto::kdf_input(protocol::kFcKdSess, {in.nonce_1, in.nonce_2, fs_secret.reveal()});
  const auto fs_kd_sess = protocol::derive_kd_sess(kd, in.nonce_1, in.nonce_2, &fs_secret);
  out.fs_kd_sess.assign(fs_kd_sess.reveal().begin(), fs_kd_sess.reveal().end());
  out.kd_id = protocol::key_id(kd, protocol::kFcKdId);
  out.kd_sess_id = protocol::key_id(kd_sess, protocol::kFcKdSessId);
  out.keys_equal = source.keys() != nullptr && target_keys != nullptr && source.keys()->kd == kd &&
                   target_keys->kd == kd && source.keys()->kd_sess == kd_sess && target_keys->kd_sess == kd_sess &&
                   source.keys()->k_int == k_int && target_keys->k_int == k_int;
  return out;
}

DiscoveryOutputs run_discovery(const Inputs& in, const SignerFactory& signer_for) {
  auto [parties, keys] = make_parties(in, signer_for);
  const Endpoint link[] = {test::kSourceEndpoint, test::kRelayEndpoint, test::kTargetEndpoint};
  Endpoint disc[3];
  for (int i = 0; i < 3; ++i) {
    disc[i] = link[i];
    disc[i].port = static_cast<std::uint16_t>(link[i].port + kDiscoveryPortOffset);
  }
  const auto config = [&](int self, int to, bool announce) {
    protocol::DiscoveryConfig c;
    c.destinations = {disc[to]};
    c.signalling_port = link[self].port;
    c.announce = announce;
    return c;
  };
  const Now now{std::chrono::steady_clock::now(), in.time};
  DiscoveryOutputs out;
  const auto take = [&](protocol::Output o) {
    if (o.send.size() != 1) throw std::runtime_error("discovery vector: expected one datagram");
    out.datagrams.push_back(o.send[0].datagram);
    return o.send[0].datagram;
  };
  const std::string& target_id = in.parties[2].user_info_id;
  protocol::TargetDiscovery target(parties[2], config(2, 1, true));
  // Model A: the target announces itself to the relay; the relay announces that it reaches the target.
  protocol::RelayDiscovery relay_a(parties[1], config(1, 0, true), {});
  relay_a.on_datagram(disc[2], take(target.on_timer(now)), now);
  const Bytes relay_announcement = take(relay_a.on_timer(now));
  protocol::SourceDiscovery source_a(parties[0], config(0, 1, true), target_id, protocol::DiscoveryModel::kModelA,
                                     protocol::SelectionPolicy::kFirst, {});
  source_a.on_datagram(disc[1], relay_announcement, now);
  out.selected_by_model_a = source_a.selected() && source_a.selected()->target_layer2_id == in.parties[2].layer2_id;
  // Model B: the source solicits; the relay, which does not know the target, asks it, and answers.
  protocol::SourceDiscovery source_b(parties[0], config(0, 1, true), target_id, protocol::DiscoveryModel::kModelB,
                                     protocol::SelectionPolicy::kFirst, {}, fixed(in.nonce_1));
  protocol::RelayDiscovery relay_b(parties[1], config(1, 2, false), {}, fixed(in.nonce_2));
  const Bytes solicitation = take(source_b.on_timer(now));
  const Bytes target_solicitation = take(relay_b.on_datagram(disc[0], solicitation, now));
  const Bytes target_response = take(target.on_datagram(disc[1], target_solicitation, now));
  source_b.on_datagram(disc[1], take(relay_b.on_datagram(disc[2], target_response, now)), now);
  out.selected_by_model_b = source_b.selected() && source_b.selected()->target_layer2_id == in.parties[2].layer2_id;
  return out;
}

std::vector<DataSuiteVector> run_data(const Inputs& in, const Outputs& out) {
  const crypto::SecretBytes kd_sess(out.kd_sess);
  const auto label = dataplane::link_label(out.request_digest);
  const std::uint16_t kd_sess_id = dataplane::short_kd_sess_id(out.kd_sess_id);
  std::vector<DataSuiteVector> vectors;
  for (dataplane::Suite suite :
       {dataplane::Suite::kAes128Gcm, dataplane::Suite::kNea2Nia2, dataplane::Suite::kNullNia2}) {
    DataSuiteVector v;
    v.suite = std::string(dataplane::suite_name(suite));
    v.id = static_cast<std::uint8_t>(suite);
    const auto keys = dataplane::derive_nrp_keys(kd_sess, suite);
    v.nrpek.assign(keys.nrpek.reveal().begin(), keys.nrpek.reveal().end());
    v.nrpik.assign(keys.nrpik.reveal().begin(), keys.nrpik.reveal().end());
    const auto end = [&](std::uint8_t direction, wire::Layer2Id own) {
      return dataplane::DataLink::create({suite, dataplane::derive_nrp_keys(kd_sess, suite), direction, label,
                                          kd_sess_id, own, in.parties[1].layer2_id})
          .value();
    };
    auto source = end(dataplane::kDirectionFromSource, in.parties[0].layer2_id);
    auto target = end(dataplane::kDirectionFromTarget, in.parties[2].layer2_id);
    target.set_next_count(5);
    const std::string ping = "an IP packet from the source's TUN interface";
    const std::string answer = "\x00\x01a UDP datagram of flow 1 from the target's forward";
    for (auto* pdu : {&source, &target}) {
      DataPdu d;
      d.from = pdu == &source ? "source-ue" : "target-ue";
      d.bearer = pdu == &source ? dataplane::kTunBearer : 1;
      d.count = static_cast<std::uint32_t>(pdu->next_count());
      const std::string& text = pdu == &source ? ping : answer;
      d.payload.assign(text.begin(), text.end());
      d.datagram.resize(wire::kMaxDatagramSize);
      d.datagram.resize(pdu->protect(d.bearer, d.payload, d.datagram).value());
      v.pdus.push_back(std::move(d));
    }
    vectors.push_back(std::move(v));
  }
  return vectors;
}

std::vector<DataSuiteVector> data_from_json(const Json& j) {
  std::vector<DataSuiteVector> vectors;
  for (const auto& s : j.at("data").at("suites")) {
    DataSuiteVector v;
    v.suite = s.at("suite").get<std::string>();
    v.id = s.at("id").get<std::uint8_t>();
    v.nrpek = hex_bytes(s.at("nrpek"));
    v.nrpik = hex_bytes(s.at("nrpik"));
    for (const auto& p : s.at("pdus")) {
      v.pdus.push_back({p.at("from").get<std::string>(), p.at("bearer").get<std::uint8_t>(),
                        p.at("count").get<std::uint32_t>(), hex_bytes(p.at("payload")), hex_bytes(p.at("hex"))});
    }
    vectors.push_back(std::move(v));
  }
  return vectors;
}

Json to_json(const Inputs& in, const Outputs& out, const DiscoveryOutputs& discovery,
             const std::vector<DataSuiteVector>& data) {
  Json j;
  j["description"] =
      "Test vectors of the U2U relay authentication protocol, version 1 (docs/protocol.md). Keys are test keys. "
      "ECDSA signatures are randomized: an implementation reproduces every byte given these signatures for these "
      "signing inputs, and must verify each. Generated by u2u-make-vectors.";
  j["protocol_version"] = wire::kProtocolVersion;
  j["time"] = utc(in.time);
  j["ca_certificate_pem"] = in.ca_certificate_pem;
  for (const auto& p : in.parties) {
    auto key = crypto::PrivateKey::from_pem(p.private_key_pem);
    j["parties"].push_back({{"role", p.role},
                            {"user_info_id", p.user_info_id},
                            {"layer2_id", p.layer2_id},
                            {"private_key_pem", p.private_key_pem},
                            {"public_key", to_hex(key->public_key().uncompressed_point())},
                            {"certificate_der", to_hex(p.certificate_der)}});
  }
  j["nonce_1"] = to_hex(in.nonce_1);
  j["nonce_2"] = to_hex(in.nonce_2);
  const char* names[] = {"SIGN-Source UE (step 1)", "SIGN1-relay (step 2)", "SIGN-Target UE (step 5)",
                         "SIGN2-relay (step 6)"};
  for (std::size_t i = 0; i < out.signatures.size(); ++i) {
    const auto& s = out.signatures[i];
    j["signatures"].push_back({{"name", i < 4 ? names[i] : "?"},
                               {"signer", s.signer},
                               {"signed_input", to_hex(s.signed_input)},
                               {"signature", to_hex(s.signature)}});
  }
  const char* steps[][3] = {{"1", "source-ue", "relay-ue"}, {"3", "relay-ue", "target-ue"},
                            {"5", "target-ue", "relay-ue"}, {"7", "relay-ue", "source-ue"},
                            {"9", "source-ue", "relay-ue"}, {"9", "relay-ue", "target-ue"},
                            {"9", "target-ue", "relay-ue"}, {"9", "relay-ue", "source-ue"}};
  for (std::size_t i = 0; i < out.datagrams.size() && i < std::size(steps); ++i) {
    j["datagrams"].push_back({{"step", std::stoi(steps[i][0])},
                              {"from", steps[i][1]},
                              {"to", steps[i][2]},
                              {"size", out.datagrams[i].size()},
                              {"hex", to_hex(out.datagrams[i])}});
  }
  j["request_digest"] = to_hex(out.request_digest);
  j["session"] = out.session;
  j["reject_datagram"] = to_hex(out.reject_datagram);
  j["ecdh_secret"] = to_hex(out.ecdh_secret);
  j["kd_kdf_input_s"] = to_hex(out.kd_input);
  j["kd"] = to_hex(out.kd);
  j["kd_sess_kdf_input_s"] = to_hex(out.kd_sess_input);
  j["kd_sess"] = to_hex(out.kd_sess);
  j["k_int_kdf_input_s"] = to_hex(out.k_int_input);
  j["k_int"] = to_hex(out.k_int);
  j["kd_id"] = out.kd_id;
  j["kd_sess_id"] = out.kd_sess_id;
  j["forward_secrecy"] = {{"ephemeral_secret", to_hex(out.fs_ephemeral_secret)},
                          {"kd_sess_kdf_input_s", to_hex(out.fs_kd_sess_input)},
                          {"kd_sess", to_hex(out.fs_kd_sess)}};
  const char* flow[][2] = {{"target-ue", "relay-ue"}, {"relay-ue", "source-ue"}, {"source-ue", "relay-ue"},
                           {"relay-ue", "target-ue"}, {"target-ue", "relay-ue"}, {"relay-ue", "source-ue"}};
  Json& d = j["discovery"];
  d["discovery_port_offset"] = kDiscoveryPortOffset;
  for (std::size_t i = 0; i < discovery.datagrams.size() && i < std::size(flow); ++i) {
    const auto& bytes = discovery.datagrams[i];
    d["datagrams"].push_back({{"message", std::string(wire::discovery_name(bytes.size() > 7 ? bytes[7] : 0))},
                              {"from", flow[i][0]},
                              {"to", flow[i][1]},
                              {"size", bytes.size()},
                              {"hex", to_hex(bytes)}});
  }
  for (const auto& s : discovery.signatures) {
    d["signatures"].push_back(
        {{"signer", s.signer}, {"signed_input", to_hex(s.signed_input)}, {"signature", to_hex(s.signature)}});
  }
  Json& dp = j["data"];
  dp["link_label"] = to_hex(dataplane::link_label(out.request_digest));
  dp["kd_sess_id_16"] = dataplane::short_kd_sess_id(out.kd_sess_id);
  for (const auto& v : data) {
    Json suite{{"suite", v.suite}, {"id", v.id}, {"nrpek", to_hex(v.nrpek)}, {"nrpik", to_hex(v.nrpik)}};
    for (const auto& p : v.pdus) {
      suite["pdus"].push_back({{"from", p.from},
                               {"bearer", p.bearer},
                               {"count", p.count},
                               {"payload", to_hex(p.payload)},
                               {"size", p.datagram.size()},
                               {"hex", to_hex(p.datagram)}});
    }
    dp["suites"].push_back(std::move(suite));
  }
  return j;
}

Inputs inputs_from_json(const Json& j) {
  Inputs in;
  in.time = parse_utc(j.at("time").get<std::string>());
  in.ca_certificate_pem = j.at("ca_certificate_pem").get<std::string>();
  for (const auto& p : j.at("parties")) {
    in.parties.push_back({p.at("role").get<std::string>(), p.at("user_info_id").get<std::string>(),
                          p.at("layer2_id").get<wire::Layer2Id>(), p.at("private_key_pem").get<std::string>(),
                          hex_bytes(p.at("certificate_der"))});
  }
  in.nonce_1 = hex_array<wire::kNonceSize>(j.at("nonce_1"));
  in.nonce_2 = hex_array<wire::kNonceSize>(j.at("nonce_2"));
  return in;
}

DiscoveryOutputs discovery_from_json(const Json& j) {
  DiscoveryOutputs out;
  const Json& d = j.at("discovery");
  for (const auto& s : d.at("signatures")) {
    out.signatures.push_back({s.at("signer").get<std::string>(), hex_bytes(s.at("signed_input")),
                              hex_array<wire::kSignatureSize>(s.at("signature"))});
  }
  for (const auto& g : d.at("datagrams")) out.datagrams.push_back(hex_bytes(g.at("hex")));
  return out;
}

Outputs outputs_from_json(const Json& j) {
  Outputs out;
  for (const auto& s : j.at("signatures")) {
    out.signatures.push_back({s.at("signer").get<std::string>(), hex_bytes(s.at("signed_input")),
                              hex_array<wire::kSignatureSize>(s.at("signature"))});
  }
  for (const auto& d : j.at("datagrams")) out.datagrams.push_back(hex_bytes(d.at("hex")));
  out.request_digest = hex_array<wire::kDigestSize>(j.at("request_digest"));
  out.session = j.at("session").get<std::string>();
  out.reject_datagram = hex_bytes(j.at("reject_datagram"));
  out.ecdh_secret = hex_bytes(j.at("ecdh_secret"));
  out.kd_input = hex_bytes(j.at("kd_kdf_input_s"));
  out.kd = hex_bytes(j.at("kd"));
  out.kd_sess_input = hex_bytes(j.at("kd_sess_kdf_input_s"));
  out.kd_sess = hex_bytes(j.at("kd_sess"));
  out.k_int_input = hex_bytes(j.at("k_int_kdf_input_s"));
  out.k_int = hex_bytes(j.at("k_int"));
  out.kd_id = j.at("kd_id").get<std::string>();
  out.kd_sess_id = j.at("kd_sess_id").get<std::string>();
  out.fs_ephemeral_secret = hex_bytes(j.at("forward_secrecy").at("ephemeral_secret"));
  out.fs_kd_sess_input = hex_bytes(j.at("forward_secrecy").at("kd_sess_kdf_input_s"));
  out.fs_kd_sess = hex_bytes(j.at("forward_secrecy").at("kd_sess"));
  return out;
}

}  // namespace u2u::vectors
