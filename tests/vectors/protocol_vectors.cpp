#include "vectors/protocol_vectors.hpp"

// FixedRandom uses OpenSSL's RAND_METHOD hook, deprecated in OpenSSL 3.0 but the one way to make the generation of a
// key inside the library deterministic without changing the library.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "crypto/kdf.hpp"
#include "dataplane/data_link.hpp"
#include "protocol/constants.hpp"
#include "protocol/discovery.hpp"
#include "protocol/rekeying.hpp"
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

// FixedRandom's state: the octets it returns, and how many signatures are being made with real randomness.
struct FixedRandomState {
  std::mutex mutex;
  Bytes octets;
  bool active = false;
  int real_randomness = 0;
};
FixedRandomState& fixed_random_state() {
  static FixedRandomState state;
  return state;
}

int fixed_random_bytes(unsigned char* out, int n) {
  auto& state = fixed_random_state();
  std::unique_lock lock(state.mutex);
  if (state.real_randomness > 0 || state.octets.empty()) {
    lock.unlock();
    return RAND_OpenSSL()->bytes(out, n);
  }
  for (int i = 0; i < n; ++i) out[i] = state.octets[static_cast<std::size_t>(i) % state.octets.size()];
  return 1;
}
int fixed_random_status() { return 1; }
const RAND_METHOD kFixedRandomMethod = {nullptr, fixed_random_bytes, nullptr,
                                        nullptr, fixed_random_bytes, fixed_random_status};

// Real randomness for a signature while it lives, even under FixedRandom.
struct RealRandomness {
  RealRandomness() {
    std::lock_guard lock(fixed_random_state().mutex);
    ++fixed_random_state().real_randomness;
  }
  ~RealRandomness() {
    std::lock_guard lock(fixed_random_state().mutex);
    --fixed_random_state().real_randomness;
  }
  RealRandomness(const RealRandomness&) = delete;
  RealRandomness& operator=(const RealRandomness&) = delete;
};

class RecordingSigner final : public crypto::Signer {
 public:
  RecordingSigner(std::shared_ptr<const crypto::PrivateKey> key, std::string role,
                  std::shared_ptr<std::vector<SignatureRecord>> log, std::vector<SignatureRecord> known)
      : key_(std::move(key)), role_(std::move(role)), log_(std::move(log)), known_(std::move(known)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    for (const auto& r : known_) {
      if (r.signer == role_ && Bytes(message.begin(), message.end()) == r.signed_input &&
          key_->public_key().verify(message, r.signature).ok()) {
        log_->push_back(r);
        return r.signature;
      }
    }
    const RealRandomness real;
    auto s = key_->sign(message);
    if (s) log_->push_back({role_, Bytes(message.begin(), message.end()), *s});
    return s;
  }

 private:
  std::shared_ptr<const crypto::PrivateKey> key_;
  std::string role_;
  std::shared_ptr<std::vector<SignatureRecord>> log_;
  std::vector<SignatureRecord> known_;
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
                                                       std::shared_ptr<std::vector<SignatureRecord>> log,
                                                       std::vector<SignatureRecord> known) {
  return std::make_shared<RecordingSigner>(std::move(key), std::move(role), std::move(log), std::move(known));
}

FixedRandom::FixedRandom(Bytes octets) {
  auto& state = fixed_random_state();
  {
    std::lock_guard lock(state.mutex);
    if (state.active) throw std::logic_error("FixedRandom: one at a time");
    state.active = true;
    state.octets = std::move(octets);
  }
  if (RAND_set_rand_method(&kFixedRandomMethod) != 1) throw std::runtime_error("FixedRandom: RAND_set_rand_method");
}

FixedRandom::~FixedRandom() {
  RAND_set_rand_method(nullptr);
  auto& state = fixed_random_state();
  std::lock_guard lock(state.mutex);
  state.octets.clear();
  state.active = false;
}

void FixedRandom::set(Bytes octets) {
  auto& state = fixed_random_state();
  std::lock_guard lock(state.mutex);
  state.octets = std::move(octets);
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

namespace {

// The three state machines of the vectors, wired in memory: Nonce_1 at the source, Nonce_2 at the target.
struct ThreeParties {
  ThreeParties(const Inputs& in, const std::vector<protocol::LocalParty>& parties, bool source_forward_secrecy,
               bool target_requires_forward_secrecy)
      : source(source_config(in, parties[0], source_forward_secrecy), fixed(in.nonce_1)),
        relay(relay_config(in, parties[1])),
        target(target_config(parties[2], target_requires_forward_secrecy), fixed(in.nonce_2)) {
    net.attach(test::kSourceEndpoint, "source-ue", source);
    net.attach(test::kRelayEndpoint, "relay-ue", relay);
    net.attach(test::kTargetEndpoint, "target-ue", target);
  }
  ThreeParties(const ThreeParties&) = delete;
  ThreeParties& operator=(const ThreeParties&) = delete;

  static protocol::SourceConfig source_config(const Inputs& in, const protocol::LocalParty& self,
                                              bool forward_secrecy) {
    auto c = test::source_config(self);
    c.relay_user_info_id = in.parties[1].user_info_id;
    c.relay_layer2_id = in.parties[1].layer2_id;
    c.target_user_info_id = in.parties[2].user_info_id;
    c.target_layer2_id = in.parties[2].layer2_id;
    c.forward_secrecy = forward_secrecy;
    return c;
  }
  static protocol::RelayConfig relay_config(const Inputs& in, const protocol::LocalParty& self) {
    auto c = test::relay_config(self);
    c.targets = {{in.parties[2].user_info_id, in.parties[2].layer2_id, test::kTargetEndpoint}};
    return c;
  }
  static protocol::TargetConfig target_config(const protocol::LocalParty& self, bool require_forward_secrecy) {
    auto c = test::target_config(self);
    c.require_forward_secrecy = require_forward_secrecy;
    return c;
  }

  void start(const Now& now) { net.deliver(test::kSourceEndpoint, "source-ue", source.start(now), now); }

  protocol::SourceUe source;
  protocol::RelayUe relay;
  protocol::TargetUe target;
  test::InMemoryNetwork net;
};

Now vector_now(const Inputs& in) { return Now{std::chrono::steady_clock::now(), in.time}; }

}  // namespace

Outputs run(const Inputs& in, const SignerFactory& signer_for) {
  auto [parties, keys] = make_parties(in, signer_for);
  ThreeParties three(in, parties, false, false);
  auto& source = three.source;
  auto& target = three.target;
  auto& net = three.net;
  const Now now = vector_now(in);
  three.start(now);

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
  // Link maintenance: the first keep-alive when T5084 expires, then the source releases the link.
  if (source.state() == protocol::SourceUe::State::kEstablished && source.confirmed() && source.next_deadline()) {
    const std::size_t before = net.wire_log.size();
    const Now keepalive_due = test::later(now, std::chrono::ceil<Millis>(*source.next_deadline() - now.mono));
    net.deliver(test::kSourceEndpoint, "source-ue", source.on_timer(keepalive_due), keepalive_due);
    net.deliver(test::kSourceEndpoint, "source-ue", source.release(keepalive_due), keepalive_due);
    for (std::size_t i = before; i < net.wire_log.size(); ++i) out.link_datagrams.push_back(net.wire_log[i].datagram);
  }
  return out;
}

ForwardSecrecyOutputs run_forward_secrecy(const Inputs& in, const SignerFactory& signer_for) {
  auto [parties, keys] = make_parties(in, signer_for);
  ThreeParties three(in, parties, true, false);
  ForwardSecrecyOutputs out;
  const Now now = vector_now(in);
  std::optional<crypto::PrivateKey> source_ephemeral, target_ephemeral;
  {
    // The source draws its ephemeral key in step 1, the target in step 5 (after the request reached it).
    FixedRandom random(in.source_ephemeral_scalar);
    three.net.on_flight = [&](test::InFlight& f) {
      if (f.to == test::kTargetEndpoint) random.set(in.target_ephemeral_scalar);
      return true;
    };
    three.start(now);
    three.net.on_flight = nullptr;
    // The same keys, by the same means, to record.
    random.set(in.source_ephemeral_scalar);
    source_ephemeral = crypto::PrivateKey::generate().value();
    random.set(in.target_ephemeral_scalar);
    target_ephemeral = crypto::PrivateKey::generate().value();
  }
  for (const auto& f : three.net.wire_log) out.datagrams.push_back(f.datagram);
  out.source_established = three.source.state() == protocol::SourceUe::State::kEstablished;
  const auto* target_keys = three.target.keys_for(in.parties[0].user_info_id);
  out.target_established = target_keys != nullptr;
  const auto pem = [](const crypto::PrivateKey& k) {
    const auto p = k.to_pem();
    return std::string(p.reveal().begin(), p.reveal().end());
  };
  out.source_ephemeral_private_key_pem = pem(*source_ephemeral);
  out.target_ephemeral_private_key_pem = pem(*target_ephemeral);
  out.source_ephemeral_public_key = source_ephemeral->public_key().uncompressed_point();
  out.target_ephemeral_public_key = target_ephemeral->public_key().uncompressed_point();
  if (out.datagrams.empty()) return out;
  auto request = wire::decode_datagram(out.datagrams[0]);
  if (!request) throw std::runtime_error("forward secrecy step 1 does not decode: " + request.error().reason);
  out.request_digest = protocol::request_digest(request->message);
  out.session = protocol::session_id(out.request_digest);
  auto z_e = source_ephemeral->ecdh(target_ephemeral->public_key());
  auto z = keys[0]->ecdh(keys[2]->public_key());
  if (!z_e || !z) throw std::runtime_error("forward secrecy vector ECDH failed");
  out.ephemeral_secret.assign(z_e->reveal().begin(), z_e->reveal().end());
  out.kd_sess_input = crypto::kdf_input(protocol::kFcKdSess, {in.nonce_1, in.nonce_2, z_e->reveal()});
  const auto kd = protocol::derive_kd(*z, in.parties[0].user_info_id, in.parties[2].user_info_id);
  const auto kd_sess = protocol::derive_kd_sess(kd, in.nonce_1, in.nonce_2, &*z_e);
  out.kd_sess.assign(kd_sess.reveal().begin(), kd_sess.reveal().end());
  const auto k_int = protocol::derive_k_int(kd_sess);
  out.k_int.assign(k_int.reveal().begin(), k_int.reveal().end());
  out.kd_sess_id = protocol::key_id(kd_sess, protocol::kFcKdSessId);
  const auto* source_keys = three.source.keys();
  out.keys_equal = source_keys != nullptr && target_keys != nullptr && source_keys->kd == kd && target_keys->kd == kd &&
                   source_keys->kd_sess == kd_sess && target_keys->kd_sess == kd_sess && source_keys->k_int == k_int &&
                   target_keys->k_int == k_int && source_keys->kd_sess_id == out.kd_sess_id &&
                   target_keys->kd_sess_id == out.kd_sess_id;
  return out;
}

TargetRejectOutputs run_target_reject(const Inputs& in, const SignerFactory& signer_for) {
  auto [parties, keys] = make_parties(in, signer_for);
  ThreeParties three(in, parties, false, true);
  three.start(vector_now(in));
  TargetRejectOutputs out;
  for (const auto& f : three.net.wire_log) out.datagrams.push_back(f.datagram);
  if (out.datagrams.empty()) return out;
  auto reject = wire::decode_datagram(out.datagrams.back());
  if (reject && std::holds_alternative<wire::DirectCommunicationReject>(reject->message.body)) {
    out.cause = std::get<wire::DirectCommunicationReject>(reject->message.body).cause;
  }
  // The reject is a hint (issue 13): the source fails with its cause once T5080 runs out (what it sends meanwhile is
  // not delivered).
  for (Now t = vector_now(in); three.source.state() == protocol::SourceUe::State::kAwaitingAccept;) {
    const auto next = three.source.next_deadline();
    if (!next) break;
    t = Now{*next, t.wall + (*next - t.mono)};
    three.source.on_timer(t);
  }
  out.source_failed_with_cause = three.source.state() == protocol::SourceUe::State::kFailed && three.source.failure() &&
                                 three.source.failure()->cause == out.cause;
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

namespace {

wire::Nonce counting_nonce(std::uint8_t first) {
  wire::Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(first + i);
  return n;
}

}  // namespace

RekeyingOutputs run_rekeying(const Inputs& in, const Outputs& out) {
  RekeyingOutputs r;
  r.source_nonce = counting_nonce(0x30);
  r.target_nonce = counting_nonce(0x40);
  const auto keys = [&] {
    protocol::SessionKeys k;
    k.kd = crypto::SecretBytes(out.kd);
    k.kd_sess = crypto::SecretBytes(out.kd_sess);
    k.k_int = crypto::SecretBytes(out.k_int);
    k.kd_id = out.kd_id;
    k.kd_sess_id = out.kd_sess_id;
    k.data_kd_sess_id = dataplane::short_kd_sess_id(out.kd_sess_id);
    k.previous_data_kd_sess_id = k.data_kd_sess_id;
    return k;
  };
  protocol::SessionKeys at_source = keys();
  protocol::SessionKeys at_target = keys();
  const PartyInputs& source = in.parties[0];
  const PartyInputs& relay = in.parties[1];
  const PartyInputs& target = in.parties[2];
  const auto address = [&](const PartyInputs& self, const PartyInputs& peer) {
    return protocol::LinkAddress{test::kRelayEndpoint, self.layer2_id,    relay.layer2_id,  out.request_digest,
                                 out.session,          self.user_info_id, peer.user_info_id};
  };
  const Now now = Now{std::chrono::steady_clock::now(), in.time};
  protocol::Rekeying at_s(protocol::LinkEnd::kSource, {}, address(source, target), now.mono);
  protocol::Rekeying at_t(protocol::LinkEnd::kTarget, {}, address(target, source), now.mono);
  // One message on its two hops: as sent to the relay, then as the relay forwards it to `to`.
  const auto hop = [&](const protocol::Output& o, const PartyInputs& to) -> std::optional<wire::Message> {
    if (o.send.size() != 1) return std::nullopt;
    const Bytes& sent = o.send[0].datagram;
    r.datagrams.push_back(sent);
    r.datagrams.push_back(
        wire::encode_datagram(relay.layer2_id, to.layer2_id, ByteView(sent).subspan(wire::kHeaderSize)));
    auto d = wire::decode_datagram(r.datagrams.back());
    if (!d) return std::nullopt;
    return std::move(d->message);
  };
  const auto request = hop(at_s.start(at_source, "signal", fixed(r.source_nonce), now), target);
  if (!request) return r;
  const auto response = hop(at_t.on_message(*request, at_target, fixed(r.target_nonce), now), source);
  if (!response) return r;
  const auto confirm = hop(at_s.on_message(*response, at_source, fixed(r.source_nonce), now), target);
  if (!confirm) return r;
  at_t.on_message(*confirm, at_target, fixed(r.target_nonce), now);
  r.switched = at_source.generation == 1 && at_target.generation == 1 && at_source.kd_sess == at_target.kd_sess &&
               at_source.k_int == at_target.k_int;
  r.kd_sess_input = crypto::kdf_input(protocol::kFcKdSess, {r.source_nonce, r.target_nonce});
  r.kd_sess.assign(at_source.kd_sess.reveal().begin(), at_source.kd_sess.reveal().end());
  r.k_int.assign(at_source.k_int.reveal().begin(), at_source.k_int.reveal().end());
  r.kd_sess_id = at_source.kd_sess_id;
  r.data_kd_sess_id = at_source.data_kd_sess_id;
  // The forward secrecy variant, for a fixed rekeying ECDH secret.
  r.fs_secret.resize(32);
  for (std::size_t i = 0; i < r.fs_secret.size(); ++i) r.fs_secret[i] = static_cast<std::uint8_t>(0xC0 + i);
  const crypto::SecretBytes z(r.fs_secret);
  auto current = keys();
  current.forward_secrecy = true;
  const auto fs = protocol::derive_rekeyed_keys(current, r.source_nonce, r.target_nonce, &z);
  r.fs_kd_input = crypto::kdf_input(protocol::kFcRekeyedKd, {r.fs_secret});
  r.fs_kd.assign(fs.kd.reveal().begin(), fs.kd.reveal().end());
  r.fs_kd_sess.assign(fs.kd_sess.reveal().begin(), fs.kd_sess.reveal().end());
  r.fs_k_int.assign(fs.k_int.reveal().begin(), fs.k_int.reveal().end());
  r.fs_kd_id = fs.kd_id;
  r.fs_kd_sess_id = fs.kd_sess_id;
  return r;
}

RekeyingOutputs rekeying_from_json(const Json& j) {
  RekeyingOutputs r;
  const auto& k = j.at("rekeying");
  r.source_nonce = hex_array<wire::kNonceSize>(k.at("source_nonce"));
  r.target_nonce = hex_array<wire::kNonceSize>(k.at("target_nonce"));
  for (const auto& d : k.at("datagrams")) r.datagrams.push_back(hex_bytes(d.at("hex")));
  r.kd_sess_input = hex_bytes(k.at("kd_sess_kdf_input_s"));
  r.kd_sess = hex_bytes(k.at("kd_sess"));
  r.k_int = hex_bytes(k.at("k_int"));
  r.kd_sess_id = k.at("kd_sess_id").get<std::string>();
  r.data_kd_sess_id = k.at("data_kd_sess_id").get<std::uint16_t>();
  const auto& f = k.at("forward_secrecy");
  r.fs_secret = hex_bytes(f.at("ecdh_secret"));
  r.fs_kd_input = hex_bytes(f.at("kd_kdf_input_s"));
  r.fs_kd = hex_bytes(f.at("kd"));
  r.fs_kd_sess = hex_bytes(f.at("kd_sess"));
  r.fs_k_int = hex_bytes(f.at("k_int"));
  r.fs_kd_id = f.at("kd_id").get<std::string>();
  r.fs_kd_sess_id = f.at("kd_sess_id").get<std::string>();
  r.switched = true;
  return r;
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

namespace {

// A datagram of the link procedure as the vectors list it: its message, its hop, its size and its octets.
Json datagram_json(const Bytes& datagram, const char* from, const char* to) {
  const auto type = static_cast<wire::MessageType>(datagram.size() > 7 ? datagram[7] : 0);
  return {{"message", std::string(wire::message_name(type))},
          {"from", from},
          {"to", to},
          {"size", datagram.size()},
          {"hex", to_hex(datagram)}};
}

Json signatures_json(const std::vector<SignatureRecord>& signatures) {
  Json j = Json::array();
  for (const auto& s : signatures) {
    j.push_back({{"signer", s.signer}, {"signed_input", to_hex(s.signed_input)}, {"signature", to_hex(s.signature)}});
  }
  return j;
}

std::vector<SignatureRecord> signatures_from_json(const Json& j) {
  std::vector<SignatureRecord> out;
  for (const auto& s : j) {
    out.push_back({s.at("signer").get<std::string>(), hex_bytes(s.at("signed_input")),
                   hex_array<wire::kSignatureSize>(s.at("signature"))});
  }
  return out;
}

// The hops of Outputs::datagrams (and ForwardSecrecyOutputs::datagrams), in order.
constexpr const char* kHandshakeHops[][3] = {{"1", "source-ue", "relay-ue"}, {"3", "relay-ue", "target-ue"},
                                             {"5", "target-ue", "relay-ue"}, {"7", "relay-ue", "source-ue"},
                                             {"9", "source-ue", "relay-ue"}, {"9", "relay-ue", "target-ue"},
                                             {"9", "target-ue", "relay-ue"}, {"9", "relay-ue", "source-ue"}};
// Requests go from the source to the target through the relay, answers back: two hops each.
constexpr const char* kRequestAnswerHops[][2] = {
    {"source-ue", "relay-ue"}, {"relay-ue", "target-ue"}, {"target-ue", "relay-ue"}, {"relay-ue", "source-ue"}};

// Default ephemeral scalars of the forward secrecy handshake: octets first, first + 1, ... (well below the order).
Bytes default_scalar(std::uint8_t first) {
  Bytes b(32);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(first + i);
  return b;
}

}  // namespace

Json to_json(const Inputs& in, const Outputs& out, const DiscoveryOutputs& discovery,
             const std::vector<DataSuiteVector>& data, const ForwardSecrecyOutputs& fs,
             const TargetRejectOutputs& target_reject, const RekeyingOutputs& rekeying) {
  Json j;
  j["description"] =
      "Test vectors of the U2U relay authentication protocol, version 1 (docs/protocol.md). Keys are test keys. "
      "ECDSA signatures are randomized: an implementation reproduces every byte given these signatures for these "
      "signing inputs, and must verify each. The forward secrecy handshake's ephemeral keys are given by their private "
      "scalars (and as PEM). Generated by u2u-make-vectors.";
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
  const auto& steps = kHandshakeHops;
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
  Json& f = j["forward_secrecy_handshake"];
  f["source_ephemeral_scalar"] = to_hex(in.source_ephemeral_scalar);
  f["target_ephemeral_scalar"] = to_hex(in.target_ephemeral_scalar);
  f["source_ephemeral_private_key_pem"] = fs.source_ephemeral_private_key_pem;
  f["target_ephemeral_private_key_pem"] = fs.target_ephemeral_private_key_pem;
  f["source_ephemeral_public_key"] = to_hex(fs.source_ephemeral_public_key);
  f["target_ephemeral_public_key"] = to_hex(fs.target_ephemeral_public_key);
  f["signatures"] = signatures_json(fs.signatures);
  for (std::size_t i = 0; i < fs.datagrams.size() && i < std::size(steps); ++i) {
    Json d = datagram_json(fs.datagrams[i], steps[i][1], steps[i][2]);
    d["step"] = std::stoi(steps[i][0]);
    f["datagrams"].push_back(std::move(d));
  }
  f["request_digest"] = to_hex(fs.request_digest);
  f["session"] = fs.session;
  f["ephemeral_secret"] = to_hex(fs.ephemeral_secret);
  f["kd_sess_kdf_input_s"] = to_hex(fs.kd_sess_input);
  f["kd_sess"] = to_hex(fs.kd_sess);
  f["k_int"] = to_hex(fs.k_int);
  f["kd_sess_id"] = fs.kd_sess_id;
  Json& m = j["link_maintenance"];
  for (std::size_t i = 0; i < out.link_datagrams.size(); ++i) {
    const auto& hop = kRequestAnswerHops[i % std::size(kRequestAnswerHops)];
    m["datagrams"].push_back(datagram_json(out.link_datagrams[i], hop[0], hop[1]));
  }
  Json& r = j["target_reject"];
  r["cause"] = static_cast<int>(target_reject.cause);
  r["cause_name"] = std::string(cause_name(target_reject.cause));
  for (std::size_t i = 0; i < target_reject.datagrams.size() && i < std::size(kRequestAnswerHops); ++i) {
    const auto& hop = kRequestAnswerHops[i];
    Json d = datagram_json(target_reject.datagrams[i], hop[0], hop[1]);
    if (i < 2) d["step"] = i == 0 ? 1 : 3;
    r["datagrams"].push_back(std::move(d));
  }
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
  Json& rk = j["rekeying"];
  rk["source_nonce"] = to_hex(rekeying.source_nonce);
  rk["target_nonce"] = to_hex(rekeying.target_nonce);
  constexpr const char* kRekeyingHops[][2] = {{"source-ue", "relay-ue"}, {"relay-ue", "target-ue"},
                                              {"target-ue", "relay-ue"}, {"relay-ue", "source-ue"},
                                              {"source-ue", "relay-ue"}, {"relay-ue", "target-ue"}};
  for (std::size_t i = 0; i < rekeying.datagrams.size() && i < std::size(kRekeyingHops); ++i) {
    rk["datagrams"].push_back(datagram_json(rekeying.datagrams[i], kRekeyingHops[i][0], kRekeyingHops[i][1]));
  }
  rk["generation"] = 1;
  rk["kd_sess_kdf_input_s"] = to_hex(rekeying.kd_sess_input);
  rk["kd_sess"] = to_hex(rekeying.kd_sess);
  rk["k_int"] = to_hex(rekeying.k_int);
  rk["kd_sess_id"] = rekeying.kd_sess_id;
  rk["data_kd_sess_id"] = rekeying.data_kd_sess_id;
  rk["forward_secrecy"] = {{"ecdh_secret", to_hex(rekeying.fs_secret)},
                           {"kd_kdf_input_s", to_hex(rekeying.fs_kd_input)},
                           {"kd", to_hex(rekeying.fs_kd)},
                           {"kd_id", rekeying.fs_kd_id},
                           {"kd_sess", to_hex(rekeying.fs_kd_sess)},
                           {"k_int", to_hex(rekeying.fs_k_int)},
                           {"kd_sess_id", rekeying.fs_kd_sess_id}};
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
  // Files from before the forward secrecy handshake vectors have no ephemeral scalars: the defaults.
  const Json* fs = j.contains("forward_secrecy_handshake") ? &j.at("forward_secrecy_handshake") : nullptr;
  in.source_ephemeral_scalar = fs ? hex_bytes(fs->at("source_ephemeral_scalar")) : default_scalar(0x50);
  in.target_ephemeral_scalar = fs ? hex_bytes(fs->at("target_ephemeral_scalar")) : default_scalar(0x70);
  return in;
}

Inputs with_default_ephemeral_scalars(Inputs in) {
  in.source_ephemeral_scalar = default_scalar(0x50);
  in.target_ephemeral_scalar = default_scalar(0x70);
  return in;
}

ForwardSecrecyOutputs forward_secrecy_from_json(const Json& j) {
  ForwardSecrecyOutputs out;
  const Json& f = j.at("forward_secrecy_handshake");
  out.signatures = signatures_from_json(f.at("signatures"));
  for (const auto& d : f.at("datagrams")) out.datagrams.push_back(hex_bytes(d.at("hex")));
  out.source_ephemeral_private_key_pem = f.at("source_ephemeral_private_key_pem").get<std::string>();
  out.target_ephemeral_private_key_pem = f.at("target_ephemeral_private_key_pem").get<std::string>();
  out.source_ephemeral_public_key = hex_bytes(f.at("source_ephemeral_public_key"));
  out.target_ephemeral_public_key = hex_bytes(f.at("target_ephemeral_public_key"));
  out.request_digest = hex_array<wire::kDigestSize>(f.at("request_digest"));
  out.session = f.at("session").get<std::string>();
  out.ephemeral_secret = hex_bytes(f.at("ephemeral_secret"));
  out.kd_sess_input = hex_bytes(f.at("kd_sess_kdf_input_s"));
  out.kd_sess = hex_bytes(f.at("kd_sess"));
  out.k_int = hex_bytes(f.at("k_int"));
  out.kd_sess_id = f.at("kd_sess_id").get<std::string>();
  return out;
}

TargetRejectOutputs target_reject_from_json(const Json& j) {
  TargetRejectOutputs out;
  const Json& r = j.at("target_reject");
  out.cause = cause_from_wire(r.at("cause").get<std::uint8_t>());
  for (const auto& d : r.at("datagrams")) out.datagrams.push_back(hex_bytes(d.at("hex")));
  return out;
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
  if (j.contains("link_maintenance")) {
    for (const auto& d : j.at("link_maintenance").at("datagrams")) out.link_datagrams.push_back(hex_bytes(d.at("hex")));
  }
  return out;
}

}  // namespace u2u::vectors
