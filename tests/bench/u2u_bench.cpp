// u2u-bench: what each operation of the project costs, next to a raw OpenSSL reference of the same work measured by
// the same binary (Google Benchmark; the references are in bench_support.hpp). A benchmark, not a test: ctest runs
// it only as a smoke test (label bench).
//
// Names: <operation>[/<parameters>]/<implementation>, the implementation last: "project" is the project's code,
// "openssl" the raw OpenSSL reference of the same work, "openssl_<variant>" another reference worth seeing. A script
// pairs "X/project" with "X/openssl" (the codec has no reference). The references of the state machines
// (relay_request, relay_accept, target_request, source_accept) are each step's crypto floor: every signature check,
// signature, ECDH, HMAC and SHA-256 the step must compute, by raw EVP calls, and nothing else.
//
// Each operation that needs fresh input (a new Nonce_1, a pending route, an unused COUNT, a certificate not seen
// before) takes it from a pool of genuine inputs prepared outside the timed region, refilled with the timer paused
// every pool-size iterations. Every operation's outcome is checked: a refused request, a failed unprotect or a
// reference that disagrees with the project is counted ("refused") and makes the benchmark report an error.
//
// Usage: u2u-bench [Google Benchmark flags], e.g. --benchmark_min_time=0.001 (a smoke run of a few seconds),
// --benchmark_format=json, --benchmark_filter=protect, --benchmark_repetitions=5 --benchmark_report_aggregates_only.
// Exit 1 when any benchmark reported an error or none matched the filter.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bench/bench_support.hpp"
#include "crypto/hash.hpp"
#include "crypto/kdf.hpp"
#include "crypto/pdu_cipher.hpp"
#include "dataplane/data_link.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/transcript.hpp"
#include "transport/worker_pool.hpp"
#include "unit/harness.hpp"

namespace u2u::bench {
namespace {

using namespace std::chrono_literals;
using dataplane::Suite;
using protocol::Output;
using wire::MessageType;

// Inputs prepared per batch: handshakes and certificates (each costs signatures to make), data PDUs (cheap).
constexpr std::size_t kPool = 256;
constexpr std::size_t kDataPool = 1024;  // below the replay window (4,032): one receiver takes a whole batch
constexpr std::size_t kDataSizes[] = {64, 512, 1400};
constexpr Suite kSuites[] = {Suite::kAes128Gcm, Suite::kNea2Nia2, Suite::kNullNia2};

std::atomic<int> g_errors{0};

void fail(benchmark::State& state, const std::string& why) {
  ++g_errors;
  state.SkipWithError(why.c_str());
}

bool no_refill() { return true; }

// Runs op(i) once per iteration, i cycling over 0..pool-1 (pool 0: i just counts); refill() runs before the first
// iteration and, with the timer paused, after every `pool` iterations. op returns false when the operation was
// refused or failed: those are counted and make the benchmark an error. Reports octets/s when `octets` (per
// operation) is set, else operations/s.
template <class Refill, class Op>
void batched(benchmark::State& state, std::size_t pool, std::size_t octets, Refill&& refill, Op&& op) {
  if (!refill()) return fail(state, "could not prepare the first batch of inputs");
  std::uint64_t refused = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    if (pool != 0 && i == pool) {
      state.PauseTiming();
      const bool prepared = refill();
      state.ResumeTiming();
      if (!prepared) {
        fail(state, "could not prepare a batch of inputs");
        break;
      }
      i = 0;
    }
    if (!op(i++)) ++refused;
  }
  state.counters["refused"] = static_cast<double>(refused);
  if (octets != 0) {
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(octets));
  } else {
    state.SetItemsProcessed(state.iterations());
  }
  if (refused != 0 && !state.error_occurred()) {
    fail(state,
         std::to_string(refused) + " of " + std::to_string(state.iterations()) + " operations were refused or failed");
  }
}

template <class Op>
void repeated(benchmark::State& state, std::size_t octets, Op&& op) {
  batched(state, 0, octets, no_refill, [&](std::size_t) { return op(); });
}

// The one datagram `out` sends: to `to`, of message type `type`.
bool sent(const Output& out, const Endpoint& to, MessageType type) {
  return out.send.size() == 1 && out.send[0].to == to && out.send[0].datagram.size() > wire::kHeaderSize &&
         out.send[0].datagram[wire::kHeaderSize] == static_cast<std::uint8_t>(type);
}

// The events of `out` by name (and check, for a refusal), for the message of a fixture that could not be built.
std::string events_of(const Output& out) {
  std::string text;
  for (const auto& e : out.events) {
    text += " " + e.name;
    const auto* check = e.find("check");
    if (check != nullptr && std::holds_alternative<std::string>(*check))
      text += "(" + std::get<std::string>(*check) + ")";
  }
  return text;
}

// A RandomSource that gives the same octets in the same order each time one is made: a source made with it sends
// the same Nonce_1 every time.
protocol::RandomSource counting_random() {
  return [n = std::uint8_t{0}](std::span<std::uint8_t> out) mutable {
    for (auto& b : out) b = n++;
  };
}

// Signs each message once, then answers the same message with the same signature: a source with a deterministic
// RandomSource and this signer sends byte-identical requests, so that one genuine accept answers every copy.
class MemoSigner final : public crypto::Signer {
 public:
  explicit MemoSigner(std::shared_ptr<const crypto::PrivateKey> key) : key_(std::move(key)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    Bytes key(message.begin(), message.end());
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    auto signature = key_->sign(message);
    if (signature) memo_.emplace(std::move(key), *signature);
    return signature;
  }

 private:
  std::shared_ptr<const crypto::PrivateKey> key_;
  mutable std::map<Bytes, crypto::EcdsaSignature> memo_;
};

// A relay and a target with room for a whole pool: nothing is refused for quota, table size or rate.
constexpr std::size_t kRoomy = std::size_t{1} << 20;

protocol::RelayConfig roomy_relay_config(const protocol::LocalParty& relay) {
  auto c = test::relay_config(relay);
  c.max_pending = c.max_pending_per_source = c.max_pending_per_host = c.max_links = kRoomy;
  c.replay_cache_size = kRoomy;
  c.rate_limit_per_second = 1e9;
  c.rate_limit_burst = 1e9;
  return c;
}

protocol::TargetConfig roomy_target_config(const protocol::LocalParty& target) {
  auto c = test::target_config(target);
  c.max_sessions = c.max_sessions_per_source = c.max_sessions_per_relay = kRoomy;
  c.replay_cache_size = kRoomy;
  return c;
}

// A party's keys as raw OpenSSL objects: the private key, and the public key from its certificate.
struct RawParty {
  raw::PkeyPtr private_key;
  raw::PkeyPtr public_key;
};

RawParty raw_party(const protocol::LocalParty& party) {
  const crypto::SecretBytes pem = party.key->to_pem();
  return {raw::private_key_from_pem(pem.reveal()), raw::public_key_from_certificate(party.certificate.der())};
}

// A signature as a step checks it: the signing input (label || 0x00 || covered, docs/protocol.md 4.2), r || s and
// its DER form.
struct SignedInput {
  Bytes input;
  wire::Signature signature{};
  Bytes der;
};

SignedInput signed_input(std::string_view label, ByteView covered, const wire::Signature& signature) {
  return {protocol::signing_input(label, covered), signature, raw::der_signature(signature)};
}

// Everything the handshake benchmarks share, built once (key generation and signatures are the slow part).
struct World {
  World();
  void build();

  std::string error;  // why the fixtures could not be built: every benchmark that needs them fails with it
  test::TestPki pki;
  test::Parties parties;
  Now now;
  RawParty raw_source, raw_relay, raw_target;

  // One genuine handshake (from Testbed's wire log, as tests/unit/attacks_test.cpp takes it): each message kind.
  std::vector<std::pair<std::string, Bytes>> datagrams;
  wire::Message request, relayed_request, accept, relayed_accept, link_confirm;
  SignedInput sign_source, sign1_relay, sign_target, sign2_relay;
  Bytes accept_mac_input;    // kLabelAcceptMac || 0x00 || the accept before its MAC IE
  Bytes link_confirm_input;  // kLabelLinkConfirmMac || 0x00 || SHA-256(accept as sent) || LINK CONFIRM before its MAC
  std::size_t link_confirm_digest_offset = 0;
  crypto::SecretBytes ecdh_secret;  // Z of the source and the target

  // Pools: kPool step 1 requests (each with its own Nonce_1), the step 3 requests the relay made of them and the
  // step 5 accepts the target answered; a relay holding all of them pending.
  std::optional<protocol::RelayConfig> relay_config;
  std::optional<protocol::TargetConfig> target_config;
  std::vector<Bytes> requests, relayed_requests, accepts;
  std::optional<protocol::RelayUe> pending_relay;
  // Step 8: a source configuration that sends the same request every time, and the genuine step 7 accept of it.
  std::optional<protocol::SourceConfig> replay_source_config;
  Bytes replay_request, replay_relayed_accept;
  // Certificates of the source's key, each new to a fresh trust store.
  std::vector<crypto::Certificate> certificates;
};

World::World() : parties(pki), now(test::test_now()) {
  build();
  if (!error.empty()) std::fprintf(stderr, "u2u-bench: fixtures: %s\n", error.c_str());
}

void World::build() {
  raw_source = raw_party(parties.source);
  raw_relay = raw_party(parties.relay);
  raw_target = raw_party(parties.target);
  for (const RawParty* p : {&raw_source, &raw_relay, &raw_target}) {
    if (!p->private_key || !p->public_key) {
      error = "cannot load a party's keys into OpenSSL";
      return;
    }
  }

  // One genuine handshake, and each message kind from it.
  test::Testbed tb(parties.source, parties.relay, parties.target);
  tb.run(now);
  if (!tb.net.has("target-ue", "link_established") || !tb.net.has("source-ue", "link_established")) {
    error = "the genuine handshake did not establish a link";
    return;
  }
  struct Kind {
    const char* name;
    Endpoint to;
    MessageType type;
    wire::Message* keep;
  };
  const Kind kinds[] = {
      {"request", test::kRelayEndpoint, MessageType::kDirectCommunicationRequest, &request},
      {"relayed_request", test::kTargetEndpoint, MessageType::kDirectCommunicationRequest, &relayed_request},
      {"accept", test::kRelayEndpoint, MessageType::kDirectCommunicationAccept, &accept},
      {"relayed_accept", test::kSourceEndpoint, MessageType::kDirectCommunicationAccept, &relayed_accept},
      {"link_confirm", test::kRelayEndpoint, MessageType::kLinkConfirm, &link_confirm},
      {"link_confirm_ack", test::kRelayEndpoint, MessageType::kLinkConfirmAck, nullptr},
  };
  for (const Kind& k : kinds) {
    const test::InFlight* found = nullptr;
    for (const auto& f : tb.net.wire_log) {
      if (f.to == k.to && f.datagram.size() > wire::kHeaderSize &&
          f.datagram[wire::kHeaderSize] == static_cast<std::uint8_t>(k.type)) {
        found = &f;
        break;
      }
    }
    auto decoded = found != nullptr ? wire::decode_datagram(found->datagram) : Result<wire::Datagram>(Error{});
    if (!decoded) {
      error = std::string("no decodable ") + k.name + " in the handshake's wire log";
      return;
    }
    datagrams.emplace_back(k.name, found->datagram);
    if (k.keep != nullptr) *k.keep = std::move(decoded->message);
  }
  const auto& req = std::get<wire::DirectCommunicationRequest>(request.body);
  const auto& relayed_req = std::get<wire::DirectCommunicationRequest>(relayed_request.body);
  const auto& acc = std::get<wire::DirectCommunicationAccept>(accept.body);
  const auto& relayed_acc = std::get<wire::DirectCommunicationAccept>(relayed_accept.body);
  if (!relayed_req.relay || !relayed_acc.relay) {
    error = "a relayed message lacks the relay's Authentication_Info";
    return;
  }
  datagrams.emplace_back(
      "reject", wire::encode_datagram(test::kRelayL2, test::kSourceL2,
                                      wire::encode_reject({protocol::request_digest(request),
                                                           Cause::kAuthenticationFailure, wire::RejectedBy::kRelay})));
  sign_source = signed_input(protocol::kLabelSignSource, request.covered_by_first_signature(), req.sign_source);
  sign1_relay = signed_input(protocol::kLabelSign1Relay, relayed_request.covered_by_relay_signature(),
                             relayed_req.relay->signature);
  sign_target = signed_input(protocol::kLabelSignTarget, accept.covered_by_first_signature(), acc.sign_target);
  sign2_relay = signed_input(protocol::kLabelSign2Relay, relayed_accept.covered_by_relay_signature(),
                             relayed_acc.relay->signature);
  for (const SignedInput* s : {&sign_source, &sign1_relay, &sign_target, &sign2_relay}) {
    if (s->der.empty()) {
      error = "cannot encode a signature as DER";
      return;
    }
  }
  accept_mac_input = protocol::signing_input(protocol::kLabelAcceptMac, accept.covered_by_mac());
  link_confirm_input =
      protocol::signing_input(protocol::kLabelLinkConfirmMac, crypto::sha256(accept.originator_part()));
  link_confirm_digest_offset = protocol::kLabelLinkConfirmMac.size() + 1;
  append(link_confirm_input, link_confirm.covered_by_mac());
  auto z = parties.target.key->ecdh(parties.source.key->public_key());
  if (!z) {
    error = "ECDH of the target and the source failed: " + z.error().reason;
    return;
  }
  ecdh_secret = std::move(z).value();

  // The pools of requests, relayed requests and accepts.
  relay_config.emplace(roomy_relay_config(parties.relay));
  target_config.emplace(roomy_target_config(parties.target));
  {
    protocol::SourceUe source(test::source_config(parties.source));
    protocol::RelayUe relay(*relay_config);
    protocol::TargetUe target(*target_config);
    for (std::size_t i = 0; i < kPool; ++i) {
      Output step1 = source.start(now);
      if (!sent(step1, test::kRelayEndpoint, MessageType::kDirectCommunicationRequest)) {
        error = "the source sent no request:" + events_of(step1);
        return;
      }
      Output step3 = relay.on_datagram(test::kSourceEndpoint, step1.send[0].datagram, now);
      if (!sent(step3, test::kTargetEndpoint, MessageType::kDirectCommunicationRequest)) {
        error = "the relay refused a request of the pool:" + events_of(step3);
        return;
      }
      Output step5 = target.on_datagram(test::kRelayEndpoint, step3.send[0].datagram, now);
      if (!sent(step5, test::kRelayEndpoint, MessageType::kDirectCommunicationAccept)) {
        error = "the target refused a request of the pool:" + events_of(step5);
        return;
      }
      requests.push_back(std::move(step1.send[0].datagram));
      relayed_requests.push_back(std::move(step3.send[0].datagram));
      accepts.push_back(std::move(step5.send[0].datagram));
    }
    pending_relay.emplace(relay);  // a copy, with every request of the pool pending
  }

  // Step 8: a source that sends byte-identical requests, and the genuine step 7 accept of that request.
  {
    protocol::LocalParty self = parties.source;
    self.signer = std::make_shared<MemoSigner>(parties.source.key);
    replay_source_config.emplace(test::source_config(self));
    protocol::SourceUe source(*replay_source_config, counting_random());
    protocol::RelayUe relay(*relay_config);
    protocol::TargetUe target(*target_config);
    Output step1 = source.start(now);
    if (!sent(step1, test::kRelayEndpoint, MessageType::kDirectCommunicationRequest)) {
      error = "the replaying source sent no request:" + events_of(step1);
      return;
    }
    replay_request = step1.send[0].datagram;
    Output step3 = relay.on_datagram(test::kSourceEndpoint, replay_request, now);
    Output step5 = sent(step3, test::kTargetEndpoint, MessageType::kDirectCommunicationRequest)
                       ? target.on_datagram(test::kRelayEndpoint, step3.send[0].datagram, now)
                       : Output{};
    Output step7 = sent(step5, test::kRelayEndpoint, MessageType::kDirectCommunicationAccept)
                       ? relay.on_datagram(test::kTargetEndpoint, step5.send[0].datagram, now)
                       : Output{};
    if (!sent(step7, test::kSourceEndpoint, MessageType::kDirectCommunicationAccept)) {
      error = "no step 7 accept for the replaying source's request";
      return;
    }
    replay_relayed_accept = std::move(step7.send[0].datagram);
  }

  // Certificates of one key, all different (serial numbers are random).
  for (std::size_t i = 0; i < kPool; ++i) {
    auto c = pki.ca.issue({.user_info_id = "source-ue",
                           .role = crypto::Role::kUe,
                           .not_before = now.wall - 1h,
                           .not_after = now.wall + 24h * 30},
                          parties.source.key->public_key());
    if (!c) {
      error = "cannot issue a certificate: " + c.error().reason;
      return;
    }
    certificates.push_back(std::move(c).value());
  }
}

const World* ready(benchmark::State& state) {
  static const World world;
  if (!world.error.empty()) {
    fail(state, "fixtures: " + world.error);
    return nullptr;
  }
  return &world;
}

// ---------------------------------------------------------------------------------------------------------------
// ECDSA P-256, ECDH, the KDF, public key import (lib/crypto).

// The message: SIGN1-relay's signing input of a genuine relayed request (step 2), signed with the relay's key.
void ecdsa_sign_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const crypto::PrivateKey& key = *w->parties.relay.key;
  const ByteView message = w->sign1_relay.input;
  repeated(state, 0, [&] {
    auto signature = key.sign(message);
    benchmark::DoNotOptimize(signature);
    return signature.ok();
  });
  state.counters["message_octets"] = static_cast<double>(message.size());
}

void ecdsa_sign_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const ByteView message = w->sign1_relay.input;
  std::array<std::uint8_t, raw::kMaxDerSignature> signature{};
  repeated(state, 0, [&] {
    const bool ok = raw::sign(w->raw_relay.private_key.get(), message, signature) != 0;
    benchmark::DoNotOptimize(signature.data());
    return ok;
  });
  state.counters["message_octets"] = static_cast<double>(message.size());
}

void ecdsa_verify_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const crypto::PublicKey key = w->parties.relay.key->public_key();
  repeated(state, 0, [&] { return key.verify(w->sign1_relay.input, w->sign1_relay.signature).ok(); });
  state.counters["message_octets"] = static_cast<double>(w->sign1_relay.input.size());
}

void ecdsa_verify_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  repeated(state, 0,
           [&] { return raw::verify(w->raw_relay.public_key.get(), w->sign1_relay.input, w->sign1_relay.der); });
  state.counters["message_octets"] = static_cast<double>(w->sign1_relay.input.size());
}

void ecdh_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const crypto::PublicKey peer = w->parties.source.key->public_key();
  const crypto::PrivateKey& own = *w->parties.target.key;
  repeated(state, 0, [&] {
    auto z = own.ecdh(peer);
    benchmark::DoNotOptimize(z);
    return z.ok();
  });
}

void ecdh_openssl(benchmark::State& state, bool check_peer) {
  const World* w = ready(state);
  if (w == nullptr) return;
  std::array<std::uint8_t, raw::kP256Scalar> z{};
  const ByteView expected = w->ecdh_secret.reveal();
  if (!raw::ecdh(w->raw_target.private_key.get(), w->raw_source.public_key.get(), check_peer, z) ||
      !std::equal(z.begin(), z.end(), expected.begin(), expected.end())) {
    return fail(state, "the reference ECDH disagrees with PrivateKey::ecdh");
  }
  repeated(state, 0, [&] {
    const bool ok = raw::ecdh(w->raw_target.private_key.get(), w->raw_source.public_key.get(), check_peer, z);
    benchmark::DoNotOptimize(z.data());
    return ok;
  });
}

// KD = KDF(Z; FC 0xE0; source User Info ID; target User Info ID) (docs/protocol.md 6).
void kdf_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const ByteView source_id = as_bytes(w->parties.source.user_info_id);
  const ByteView target_id = as_bytes(w->parties.target.user_info_id);
  repeated(state, 0, [&] {
    crypto::SecretBytes kd = crypto::kdf(w->ecdh_secret, protocol::kFcKd, {source_id, target_id});
    benchmark::DoNotOptimize(kd.reveal().data());
    return kd.size() == raw::kSha256Size;
  });
}

void kdf_openssl(benchmark::State& state, bool oneshot) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const ByteView source_id = as_bytes(w->parties.source.user_info_id);
  const ByteView target_id = as_bytes(w->parties.target.user_info_id);
  const crypto::SecretBytes expected = crypto::kdf(w->ecdh_secret, protocol::kFcKd, {source_id, target_id});
  raw::Hmac hmac;
  std::array<std::uint8_t, 128> s{};
  raw::Sha256 kd{};
  const auto derive = [&] {
    const std::size_t n = raw::kdf_input(protocol::kFcKd, {source_id, target_id}, s);
    const ByteView input(s.data(), n);
    return n != 0 && (oneshot ? raw::hmac_oneshot(w->ecdh_secret.reveal(), input, kd)
                              : hmac.compute(w->ecdh_secret.reveal(), input, kd));
  };
  const ByteView expected_kd = expected.reveal();
  if (!derive() || !std::equal(kd.begin(), kd.end(), expected_kd.begin(), expected_kd.end())) {
    return fail(state, "the reference KDF disagrees with crypto::kdf");
  }
  repeated(state, 0, [&] {
    const bool ok = derive();
    benchmark::DoNotOptimize(kd.data());
    return ok;
  });
}

// A peer's public key from its uncompressed point: what every certificate check does to hand out the key.
void public_key_import_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const Bytes point = w->parties.source.key->public_key().uncompressed_point();
  repeated(state, 0, [&] {
    auto key = crypto::PublicKey::from_uncompressed_point(point);
    benchmark::DoNotOptimize(key);
    return key.ok();
  });
}

void public_key_import_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const Bytes point = w->parties.source.key->public_key().uncompressed_point();
  repeated(state, 0, [&] {
    raw::PkeyPtr key = raw::public_key_from_point(point);
    benchmark::DoNotOptimize(key.get());
    return key != nullptr;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The codec (lib/wire): each message kind of a genuine handshake.

const Bytes* datagram_of(const World& w, std::string_view kind) {
  for (const auto& [name, datagram] : w.datagrams) {
    if (name == kind) return &datagram;
  }
  return nullptr;
}

void decode_project(benchmark::State& state, std::string kind) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const Bytes* datagram = datagram_of(*w, kind);
  if (datagram == nullptr) return fail(state, "no " + kind + " datagram");
  repeated(state, 0, [&] {
    auto decoded = wire::decode_datagram(*datagram);
    benchmark::DoNotOptimize(decoded);
    return decoded.ok();
  });
  state.counters["datagram_octets"] = static_cast<double>(datagram->size());
}

void encode_project(benchmark::State& state, std::string kind) {
  const World* w = ready(state);
  if (w == nullptr) return;
  const Bytes* datagram = datagram_of(*w, kind);
  auto decoded = datagram != nullptr ? wire::decode_datagram(*datagram) : Result<wire::Datagram>(Error{});
  if (!decoded) return fail(state, "no decodable " + kind + " datagram");
  const wire::Body& body = decoded->message.body;
  if (wire::encode(body) != decoded->message.bytes) return fail(state, "wire::encode does not give back the " + kind);
  repeated(state, 0, [&] {
    Bytes message = wire::encode(body);
    benchmark::DoNotOptimize(message.data());
    return !message.empty();
  });
  state.counters["datagram_octets"] = static_cast<double>(datagram->size());
}

// ---------------------------------------------------------------------------------------------------------------
// The state machines (lib/protocol), one step each, against their crypto floor.

// One relay step per iteration: each batch starts from a fresh copy of `start`, and datagram i of `datagrams`, from
// `from`, must be forwarded to `to` as `type`.
void relay_step(benchmark::State& state, const protocol::RelayUe& start, const Endpoint& from,
                const std::vector<Bytes>& datagrams, const Endpoint& to, MessageType type, const Now& now) {
  std::optional<protocol::RelayUe> relay;
  batched(
      state, kPool, 0,
      [&] {
        relay.emplace(start);
        return true;
      },
      [&](std::size_t i) {
        Output out = relay->on_datagram(from, datagrams[i], now);
        const bool forwarded = sent(out, to, type);
        benchmark::DoNotOptimize(out);
        return forwarded;
      });
}

// Step 2 (and 3): the relay verifies a DIRECT COMMUNICATION REQUEST and countersigns it; a fresh request each time.
void relay_request_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  relay_step(state, protocol::RelayUe(*w->relay_config), test::kSourceEndpoint, w->requests, test::kTargetEndpoint,
             MessageType::kDirectCommunicationRequest, w->now);
}

// The same step with its signature work as jobs on a transport::WorkerPool of `threads` threads (issue 11): each
// batch of kPool requests is taken on this thread (decode, cheap checks, a job each), the jobs run on the pool, and
// each is resumed here (the forwarded request). Wall-clock requests/s: beside relay_request/project (inline), how
// the pool scales with the cores.
void relay_request_workers(benchmark::State& state, std::size_t threads) {
  const World* w = ready(state);
  if (w == nullptr) return;
  transport::WorkerPool pool(threads);
  std::uint64_t refused = 0;
  for (auto _ : state) {
    state.PauseTiming();
    protocol::RelayUe relay(*w->relay_config);
    relay.set_job_limit(kPool);
    state.ResumeTiming();
    std::vector<protocol::Job> jobs;
    jobs.reserve(kPool);
    for (std::size_t i = 0; i < kPool; ++i) {
      Output out = relay.on_datagram(test::kSourceEndpoint, w->requests[i], w->now);
      for (auto& j : out.jobs) jobs.push_back(std::move(j));
    }
    std::mutex mutex;
    std::condition_variable all_done;
    std::size_t done = 0;
    for (auto& job : jobs) {
      pool.post([&] {
        job.run();
        const std::lock_guard lock(mutex);
        if (++done == jobs.size()) all_done.notify_one();
      });
    }
    {
      std::unique_lock lock(mutex);
      all_done.wait(lock, [&] { return done == jobs.size(); });
    }
    for (const auto& job : jobs) {
      Output out = relay.on_job_done(job.id, w->now);
      if (!sent(out, test::kTargetEndpoint, MessageType::kDirectCommunicationRequest)) ++refused;
    }
    refused += kPool - jobs.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kPool));
  state.counters["refused"] = static_cast<double>(refused);
  if (refused != 0) fail(state, std::to_string(refused) + " requests were not forwarded");
}

// The request digest, the source's certificate looked up, SIGN-Source UE verified, SIGN1-relay made.
void relay_request_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::Sha256 digest{};
  std::array<std::uint8_t, raw::kMaxDerSignature> signature{};
  repeated(state, 0, [&] {
    const bool ok = raw::sha256(w->request.originator_part(), digest) &&
                    raw::sha256(w->parties.source.certificate.der(), digest) &&
                    raw::verify(w->raw_source.public_key.get(), w->sign_source.input, w->sign_source.der) &&
                    raw::sign(w->raw_relay.private_key.get(), w->sign1_relay.input, signature) != 0;
    benchmark::DoNotOptimize(signature.data());
    return ok;
  });
}

// Step 6 (and 7): the relay verifies the target's DIRECT COMMUNICATION ACCEPT of a pending request and
// countersigns it; each batch starts from a copy of a relay holding every request of the pool pending.
void relay_accept_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  relay_step(state, *w->pending_relay, test::kTargetEndpoint, w->accepts, test::kSourceEndpoint,
             MessageType::kDirectCommunicationAccept, w->now);
}

// The target's certificate looked up, SIGN-Target UE verified, SIGN2-relay made.
void relay_accept_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::Sha256 digest{};
  std::array<std::uint8_t, raw::kMaxDerSignature> signature{};
  repeated(state, 0, [&] {
    const bool ok = raw::sha256(w->parties.target.certificate.der(), digest) &&
                    raw::verify(w->raw_target.public_key.get(), w->sign_target.input, w->sign_target.der) &&
                    raw::sign(w->raw_relay.private_key.get(), w->sign2_relay.input, signature) != 0;
    benchmark::DoNotOptimize(signature.data());
    return ok;
  });
}

// KD, KD-sess, K_int, the KD ID and KD-sess ID, and the accept MAC under K_int: the key schedule's HMACs
// (docs/protocol.md 6) by raw EVP_MAC, from Z and the genuine handshake's nonces. `k_int` gets K_int, `accept_mac`
// the accept's key confirmation MAC (equal to the genuine accept's when Z is right).
bool raw_key_schedule(const World& w, raw::Hmac& hmac, const raw::Sha256& z, std::span<std::uint8_t> k_int,
                      raw::Sha256& accept_mac) {
  const auto& req = std::get<wire::DirectCommunicationRequest>(w.request.body);
  const auto& acc = std::get<wire::DirectCommunicationAccept>(w.accept.body);
  std::array<std::uint8_t, 128> s{};
  raw::Sha256 kd{}, kd_sess{}, k_int_full{}, id{};
  const std::uint8_t type = protocol::kAlgorithmTypeIntegrity, algorithm = protocol::kAlgorithmIdHmacSha256;
  const auto derive = [&](ByteView key, std::uint8_t fc, std::initializer_list<ByteView> p, raw::Sha256& out) {
    const std::size_t n = raw::kdf_input(fc, p, s);
    return n != 0 && hmac.compute(key, ByteView(s.data(), n), out);
  };
  const ByteView source_id = as_bytes(w.parties.source.user_info_id);
  const ByteView target_id = as_bytes(w.parties.target.user_info_id);
  const bool ok = derive(z, protocol::kFcKd, {source_id, target_id}, kd) &&
                  derive(kd, protocol::kFcKdSess, {req.nonce_1, acc.nonce_2}, kd_sess) &&
                  derive(kd_sess, protocol::kFcNrpKeys, {ByteView(&type, 1), ByteView(&algorithm, 1)}, k_int_full) &&
                  derive(kd, protocol::kFcKdId, {}, id) && derive(kd_sess, protocol::kFcKdSessId, {}, id);
  if (!ok) return false;
  std::copy(k_int_full.end() - static_cast<std::ptrdiff_t>(protocol::kIntegrityKeySize), k_int_full.end(),
            k_int.begin());
  return hmac.compute(k_int.first(protocol::kIntegrityKeySize), w.accept_mac_input, accept_mac);
}

// Steps 4 and 5: the target verifies a relayed request and answers it; a fresh request each time.
void target_request_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  std::optional<protocol::TargetUe> target;
  batched(
      state, kPool, 0,
      [&] {
        target.emplace(*w->target_config);
        return true;
      },
      [&](std::size_t i) {
        Output out = target->on_datagram(test::kRelayEndpoint, w->relayed_requests[i], w->now);
        const bool answered = sent(out, test::kRelayEndpoint, MessageType::kDirectCommunicationAccept);
        benchmark::DoNotOptimize(out);
        return answered;
      });
}

// The request digest; the relay's and the source's certificates looked up, SIGN1-relay and SIGN-Source UE
// verified; the relay certificate's digest; ECDH and the key schedule; SIGN-Target UE made; the relayed request's
// digest.
void target_request_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::Hmac hmac;
  raw::Sha256 digest{}, z{}, accept_mac{};
  std::array<std::uint8_t, raw::kSha256Size> k_int{};
  std::array<std::uint8_t, raw::kMaxDerSignature> signature{};
  const ByteView relay_certificate = w->parties.relay.certificate.der();
  const wire::Mac& genuine_accept_mac = std::get<wire::DirectCommunicationAccept>(w->accept.body).key_confirmation_mac;
  repeated(state, 0, [&] {
    const bool ok = raw::sha256(w->relayed_request.originator_part(), digest) &&
                    raw::sha256(relay_certificate, digest) &&
                    raw::verify(w->raw_relay.public_key.get(), w->sign1_relay.input, w->sign1_relay.der) &&
                    raw::sha256(w->parties.source.certificate.der(), digest) &&
                    raw::verify(w->raw_source.public_key.get(), w->sign_source.input, w->sign_source.der) &&
                    raw::sha256(relay_certificate, digest) &&
                    raw::ecdh(w->raw_target.private_key.get(), w->raw_source.public_key.get(), false, z) &&
                    raw_key_schedule(*w, hmac, z, k_int, accept_mac) && accept_mac == genuine_accept_mac &&
                    raw::sign(w->raw_target.private_key.get(), w->sign_target.input, signature) != 0 &&
                    raw::sha256(w->relayed_request.bytes, digest);
    benchmark::DoNotOptimize(signature.data());
    return ok;
  });
}

// Step 8 (and 9): the source verifies the relayed accept, derives the keys and sends LINK CONFIRM. Each source
// object takes one accept; each batch makes kPool sources that sent the same request (MemoSigner).
void source_accept_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  std::vector<std::unique_ptr<protocol::SourceUe>> sources;
  batched(
      state, kPool, 0,
      [&] {
        sources.clear();
        for (std::size_t i = 0; i < kPool; ++i) {
          auto source = std::make_unique<protocol::SourceUe>(*w->replay_source_config, counting_random());
          const Output out = source->start(w->now);
          if (out.send.size() != 1 || out.send[0].datagram != w->replay_request) return false;
          sources.push_back(std::move(source));
        }
        return true;
      },
      [&](std::size_t i) {
        Output out = sources[i]->on_datagram(test::kRelayEndpoint, w->replay_relayed_accept, w->now);
        const bool confirmed = sent(out, test::kRelayEndpoint, MessageType::kLinkConfirm) &&
                               sources[i]->state() == protocol::SourceUe::State::kEstablished;
        benchmark::DoNotOptimize(out);
        return confirmed;
      });
}

// The relay certificate's digest (the binding) and lookup, SIGN2-relay verified; the target's certificate looked
// up, SIGN-Target UE verified; ECDH and the key schedule with the accept MAC; the LINK CONFIRM's MAC.
void source_accept_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::Hmac hmac;
  raw::Sha256 digest{}, z{}, accept_mac{}, confirm_mac{};
  std::array<std::uint8_t, raw::kSha256Size> k_int{};
  const wire::Mac& genuine_accept_mac = std::get<wire::DirectCommunicationAccept>(w->accept.body).key_confirmation_mac;
  const wire::Mac& genuine_confirm_mac = std::get<wire::LinkMessage>(w->link_confirm.body).mac;
  Bytes confirm_input = w->link_confirm_input;
  const std::span<std::uint8_t, raw::kSha256Size> confirm_digest(confirm_input.data() + w->link_confirm_digest_offset,
                                                                 raw::kSha256Size);
  const ByteView relay_certificate = w->parties.relay.certificate.der();
  repeated(state, 0, [&] {
    const bool ok = raw::sha256(relay_certificate, digest) && raw::sha256(relay_certificate, digest) &&
                    raw::verify(w->raw_relay.public_key.get(), w->sign2_relay.input, w->sign2_relay.der) &&
                    raw::sha256(w->parties.target.certificate.der(), digest) &&
                    raw::verify(w->raw_target.public_key.get(), w->sign_target.input, w->sign_target.der) &&
                    raw::ecdh(w->raw_source.private_key.get(), w->raw_target.public_key.get(), false, z) &&
                    raw_key_schedule(*w, hmac, z, k_int, accept_mac) && accept_mac == genuine_accept_mac &&
                    raw::sha256(w->accept.originator_part(), confirm_digest) &&
                    hmac.compute(ByteView(k_int).first(protocol::kIntegrityKeySize), confirm_input, confirm_mac) &&
                    confirm_mac == genuine_confirm_mac;
    benchmark::DoNotOptimize(confirm_mac.data());
    return ok;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Certificate checks (crypto::TrustStore::verify): cold, a certificate the store has not seen (a fresh store per
// batch, a new certificate each time); warm, the same certificate again (its chain check cached).

void certificate_cold_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  std::optional<crypto::TrustStore> store;
  batched(
      state, kPool, 0,
      [&] {
        auto fresh = crypto::TrustStore::from_ca(w->pki.ca.certificate());
        if (!fresh) return false;
        store.emplace(std::move(fresh).value());
        return true;
      },
      [&](std::size_t i) {
        auto peer = store->verify(w->certificates[i].der(), "source-ue", crypto::Role::kUe, w->now.wall);
        benchmark::DoNotOptimize(peer);
        return peer.ok();
      });
}

void certificate_cold_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::ChainChecker checker(w->pki.ca.certificate().der());
  batched(state, kPool, 0, no_refill, [&](std::size_t i) { return checker.check(w->certificates[i].der()); });
}

void certificate_warm_project(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  auto store = crypto::TrustStore::from_ca(w->pki.ca.certificate());
  const ByteView der = w->parties.source.certificate.der();
  if (!store || !store->verify(der, "source-ue", crypto::Role::kUe, w->now.wall)) {
    return fail(state, "the source's certificate does not verify");
  }
  repeated(state, 0, [&] {
    auto peer = store->verify(der, "source-ue", crypto::Role::kUe, w->now.wall);
    benchmark::DoNotOptimize(peer);
    return peer.ok();
  });
}

void certificate_warm_openssl(benchmark::State& state) {
  const World* w = ready(state);
  if (w == nullptr) return;
  raw::ChainCache cache;
  const ByteView der = w->parties.source.certificate.der();
  if (!cache.add(der)) return fail(state, "cannot parse the source's certificate");
  repeated(state, 0, [&] { return cache.check(der); });
}

// ---------------------------------------------------------------------------------------------------------------
// The data plane (lib/dataplane, lib/crypto/pdu_cipher): the two ends of one link as tests/unit/dataplane_test.cpp
// builds them; the source protects (DIRECTION 0, BEARER 0), the target unprotects.

constexpr std::uint8_t kBearer = 0;
constexpr std::size_t kPduHeaderOffset = wire::kHeaderSize;  // the PDU header: type .. COUNT, what the MAC covers
constexpr std::size_t kCountOffset = dataplane::kPduPrefixSize - dataplane::kCountSize;

crypto::SecretBytes data_kd_sess() { return crypto::SecretBytes(Bytes(32, 0x21)); }

dataplane::DataLinkConfig data_config(Suite suite, std::uint8_t direction, wire::Layer2Id own) {
  wire::Digest digest{};
  digest.fill(0xD1);
  return dataplane::DataLinkConfig{.suite = suite,
                                   .keys = dataplane::derive_nrp_keys(data_kd_sess(), suite),
                                   .direction = direction,
                                   .link_label = dataplane::link_label(digest),
                                   .kd_sess_id = 0xBEEF,
                                   .own_layer2_id = own,
                                   .relay_layer2_id = test::kRelayL2};
}

Result<dataplane::DataLink> data_sender(Suite suite) {
  return dataplane::DataLink::create(data_config(suite, dataplane::kDirectionFromSource, test::kSourceL2));
}

Result<dataplane::DataLink> data_receiver(Suite suite) {
  return dataplane::DataLink::create(data_config(suite, dataplane::kDirectionFromTarget, test::kTargetL2));
}

Bytes payload_of(std::size_t size) {
  Bytes payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return payload;
}

// COUNT || BEARER << 3 | DIRECTION << 2 || zeros: the first octets of the NEA2 counter block, of the NIA2 input and
// of the GCM nonce (TS 33.401 B.1.3, B.2.3).
std::array<std::uint8_t, raw::kAesBlock> pdu_block(std::uint32_t count, std::uint8_t direction) {
  return {static_cast<std::uint8_t>(count >> 24), static_cast<std::uint8_t>(count >> 16),
          static_cast<std::uint8_t>(count >> 8), static_cast<std::uint8_t>(count),
          static_cast<std::uint8_t>((kBearer << 3) | (direction << 2))};
}

// One end's raw protection of data PDUs: AES-128-GCM; or AES-128-CTR (unless null) then AES-128-CMAC over
// COUNT..DIRECTION (8 octets) || the PDU header || the ciphertext, its first 4 octets the MAC-I.
class RawDataEnd {
 public:
  RawDataEnd(Suite suite, bool sender) : suite_(suite) {
    const dataplane::NrpKeys keys = dataplane::derive_nrp_keys(data_kd_sess(), suite);
    if (suite == Suite::kAes128Gcm) {
      gcm_.emplace(keys.nrpek.reveal(), sender);
    } else {
      if (suite == Suite::kNea2Nia2) ctr_.emplace(keys.nrpek.reveal());
      cmac_.emplace(keys.nrpik.reveal());
    }
  }
  std::size_t trailer() const { return dataplane::trailer_size(suite_); }

  // The PDU of `payload` with `count` into `out`, after the datagram and PDU headers of `prefix`; its size or 0.
  std::size_t protect(ByteView prefix, std::uint32_t count, ByteView payload, std::span<std::uint8_t> out) {
    std::memcpy(out.data(), prefix.data(), dataplane::kPduPrefixSize);
    const auto block = pdu_block(count, dataplane::kDirectionFromSource);
    std::memcpy(out.data() + kCountOffset, block.data(), dataplane::kCountSize);
    std::span<std::uint8_t> body = out.subspan(dataplane::kPduPrefixSize, payload.size());
    std::memcpy(body.data(), payload.data(), payload.size());
    std::uint8_t* trailer_at = body.data() + body.size();
    const ByteView header(out.data() + kPduHeaderOffset, dataplane::kPduHeaderSize);
    bool ok = true;
    if (gcm_) {
      ok = gcm_->seal(block.data(), header, body, trailer_at);
    } else {
      if (ctr_) ok = ctr_->apply(block.data(), body);
      std::array<std::uint8_t, raw::kAesBlock> tag{};
      ok = ok && cmac_->compute({ByteView(block).first(8), header, body}, tag);
      std::memcpy(trailer_at, tag.data(), dataplane::kNia2MacSize);
    }
    return ok ? dataplane::kPduPrefixSize + payload.size() + trailer() : 0;
  }

  // Checks and deciphers a PDU in place.
  bool unprotect(std::span<std::uint8_t> pdu) {
    if (pdu.size() < dataplane::kPduPrefixSize + trailer()) return false;
    const std::uint8_t* c = pdu.data() + kCountOffset;
    const std::uint32_t count =
        (std::uint32_t{c[0]} << 24) | (std::uint32_t{c[1]} << 16) | (std::uint32_t{c[2]} << 8) | std::uint32_t{c[3]};
    const auto block = pdu_block(count, dataplane::kDirectionFromSource);
    const ByteView header(pdu.data() + kPduHeaderOffset, dataplane::kPduHeaderSize);
    std::span<std::uint8_t> body =
        pdu.subspan(dataplane::kPduPrefixSize, pdu.size() - dataplane::kPduPrefixSize - trailer());
    std::uint8_t* trailer_at = body.data() + body.size();
    if (gcm_) return gcm_->open(block.data(), header, body, trailer_at);
    std::array<std::uint8_t, raw::kAesBlock> tag{};
    if (!cmac_->compute({ByteView(block).first(8), header, body}, tag) ||
        CRYPTO_memcmp(tag.data(), trailer_at, dataplane::kNia2MacSize) != 0) {
      return false;
    }
    return !ctr_ || ctr_->apply(block.data(), body);
  }

 private:
  Suite suite_;
  std::optional<raw::Gcm> gcm_;
  std::optional<raw::Ctr> ctr_;
  std::optional<raw::Cmac> cmac_;
};

void protect_project(benchmark::State& state, Suite suite, std::size_t size) {
  auto sender = data_sender(suite);
  if (!sender) return fail(state, sender.error().reason);
  const Bytes payload = payload_of(size);
  Bytes out(wire::kMaxDatagramSize);
  repeated(state, size, [&] {
    auto n = sender->protect(kBearer, payload, out);
    benchmark::DoNotOptimize(out.data());
    return n.ok();
  });
}

void protect_openssl(benchmark::State& state, Suite suite, std::size_t size) {
  auto sender = data_sender(suite);
  if (!sender) return fail(state, sender.error().reason);
  const Bytes payload = payload_of(size);
  Bytes expected(wire::kMaxDatagramSize);
  auto n = sender->protect(kBearer, payload, expected);  // COUNT 0
  if (!n) return fail(state, n.error().reason);
  expected.resize(*n);
  RawDataEnd end(suite, true);
  Bytes out(wire::kMaxDatagramSize);
  if (end.protect(expected, 0, payload, out) != expected.size() ||
      !std::equal(expected.begin(), expected.end(), out.begin())) {
    return fail(state, "the reference PDU differs from DataLink::protect's");
  }
  std::uint32_t count = 0;
  repeated(state, size, [&] {
    const bool ok = end.protect(expected, count++, payload, out) != 0;
    benchmark::DoNotOptimize(out.data());
    return ok;
  });
}

// kDataPool PDUs with COUNT 0.. from the project's sender.
std::vector<Bytes> pdu_pool(dataplane::DataLink& sender, std::size_t size) {
  const Bytes payload = payload_of(size);
  std::vector<Bytes> pool;
  for (std::size_t i = 0; i < kDataPool; ++i) {
    Bytes pdu(wire::kMaxDatagramSize);
    auto n = sender.protect(kBearer, payload, pdu);
    if (!n) return {};
    pdu.resize(*n);
    pool.push_back(std::move(pdu));
  }
  return pool;
}

void unprotect_project(benchmark::State& state, Suite suite, std::size_t size) {
  auto sender = data_sender(suite);
  if (!sender) return fail(state, sender.error().reason);
  const std::vector<Bytes> pool = pdu_pool(*sender, size);
  if (pool.empty()) return fail(state, "cannot protect the pool of PDUs");
  std::optional<dataplane::DataLink> receiver;  // a fresh replay window for each pass over the pool
  Bytes work(wire::kMaxDatagramSize);
  batched(
      state, kDataPool, size,
      [&] {
        auto fresh = data_receiver(suite);
        if (!fresh) return false;
        receiver.emplace(std::move(fresh).value());
        return true;
      },
      [&](std::size_t i) {
        const Bytes& pdu = pool[i];
        std::memcpy(work.data(), pdu.data(), pdu.size());
        const auto result = receiver->unprotect(std::span(work.data(), pdu.size()));
        benchmark::DoNotOptimize(work.data());
        return std::holds_alternative<dataplane::Delivery>(result);
      });
}

void unprotect_openssl(benchmark::State& state, Suite suite, std::size_t size) {
  auto sender = data_sender(suite);
  if (!sender) return fail(state, sender.error().reason);
  const std::vector<Bytes> pool = pdu_pool(*sender, size);
  if (pool.empty()) return fail(state, "cannot protect the pool of PDUs");
  RawDataEnd end(suite, false);
  Bytes work(wire::kMaxDatagramSize);
  batched(state, kDataPool, size, no_refill, [&](std::size_t i) {
    const Bytes& pdu = pool[i];
    std::memcpy(work.data(), pdu.data(), pdu.size());
    const bool ok = end.unprotect(std::span(work.data(), pdu.size()));
    benchmark::DoNotOptimize(work.data());
    return ok;
  });
}

// The primitives under the NIA2 suites: 128-NEA2 (crypto::Nea2) against AES-128-CTR, and 128-NIA2 (crypto::Nia2)
// over a PDU header and `size` octets against AES-128-CMAC.
void nea2_project(benchmark::State& state, std::size_t size) {
  const dataplane::NrpKeys keys = dataplane::derive_nrp_keys(data_kd_sess(), Suite::kNea2Nia2);
  auto nea2 = crypto::Nea2::create(keys.nrpek);
  if (!nea2) return fail(state, nea2.error().reason);
  Bytes data = payload_of(size);
  std::uint32_t count = 0;
  repeated(state, size, [&] {
    const bool ok = nea2->apply({count++, kBearer, dataplane::kDirectionFromSource}, data).ok();
    benchmark::DoNotOptimize(data.data());
    return ok;
  });
}

void nea2_openssl(benchmark::State& state, std::size_t size) {
  const dataplane::NrpKeys keys = dataplane::derive_nrp_keys(data_kd_sess(), Suite::kNea2Nia2);
  auto nea2 = crypto::Nea2::create(keys.nrpek);
  raw::Ctr ctr(keys.nrpek.reveal());
  Bytes expected = payload_of(size), data = payload_of(size);
  if (!nea2 || !nea2->apply({0, kBearer, dataplane::kDirectionFromSource}, expected) ||
      !ctr.apply(pdu_block(0, dataplane::kDirectionFromSource).data(), data) || data != expected) {
    return fail(state, "the reference AES-128-CTR differs from crypto::Nea2");
  }
  std::uint32_t count = 0;
  repeated(state, size, [&] {
    const bool ok = ctr.apply(pdu_block(count++, dataplane::kDirectionFromSource).data(), data);
    benchmark::DoNotOptimize(data.data());
    return ok;
  });
}

void nia2_project(benchmark::State& state, std::size_t size) {
  const dataplane::NrpKeys keys = dataplane::derive_nrp_keys(data_kd_sess(), Suite::kNea2Nia2);
  auto nia2 = crypto::Nia2::create(keys.nrpik);
  if (!nia2) return fail(state, nia2.error().reason);
  const Bytes header(dataplane::kPduHeaderSize, 0x30), data = payload_of(size);
  std::uint32_t count = 0;
  repeated(state, size, [&] {
    auto mac = nia2->mac({count++, kBearer, dataplane::kDirectionFromSource}, header, data);
    benchmark::DoNotOptimize(mac);
    return mac.ok();
  });
}

void nia2_openssl(benchmark::State& state, std::size_t size) {
  const dataplane::NrpKeys keys = dataplane::derive_nrp_keys(data_kd_sess(), Suite::kNea2Nia2);
  auto nia2 = crypto::Nia2::create(keys.nrpik);
  raw::Cmac cmac(keys.nrpik.reveal());
  const Bytes header(dataplane::kPduHeaderSize, 0x30), data = payload_of(size);
  std::array<std::uint8_t, raw::kAesBlock> tag{};
  auto expected =
      nia2 ? nia2->mac({0, kBearer, dataplane::kDirectionFromSource}, header, data) : Result<crypto::Nia2Mac>(Error{});
  if (!expected ||
      !cmac.compute({ByteView(pdu_block(0, dataplane::kDirectionFromSource)).first(8), header, data}, tag) ||
      !std::equal(expected->begin(), expected->end(), tag.begin())) {
    return fail(state, "the reference AES-128-CMAC differs from crypto::Nia2");
  }
  std::uint32_t count = 0;
  repeated(state, size, [&] {
    const auto block = pdu_block(count++, dataplane::kDirectionFromSource);
    const bool ok = cmac.compute({ByteView(block).first(8), header, data}, tag);
    benchmark::DoNotOptimize(tag.data());
    return ok;
  });
}

// ---------------------------------------------------------------------------------------------------------------

template <class Fn>
void add(const std::string& name, benchmark::TimeUnit unit, Fn&& fn) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn))->Unit(unit);
}

void register_all() {
  using benchmark::kMicrosecond;
  using benchmark::kNanosecond;
  add("ecdsa_sign/project", kMicrosecond, ecdsa_sign_project);
  add("ecdsa_sign/openssl", kMicrosecond, ecdsa_sign_openssl);
  add("ecdsa_verify/project", kMicrosecond, ecdsa_verify_project);
  add("ecdsa_verify/openssl", kMicrosecond, ecdsa_verify_openssl);
  add("ecdh/project", kMicrosecond, ecdh_project);
  add("ecdh/openssl", kMicrosecond, [](benchmark::State& s) { ecdh_openssl(s, false); });
  add("ecdh/openssl_peer_check", kMicrosecond, [](benchmark::State& s) { ecdh_openssl(s, true); });
  add("kdf/project", kNanosecond, kdf_project);
  add("kdf/openssl", kNanosecond, [](benchmark::State& s) { kdf_openssl(s, false); });
  add("kdf/openssl_hmac_oneshot", kNanosecond, [](benchmark::State& s) { kdf_openssl(s, true); });
  add("public_key_import/project", kMicrosecond, public_key_import_project);
  add("public_key_import/openssl", kMicrosecond, public_key_import_openssl);

  for (const char* kind :
       {"request", "relayed_request", "accept", "relayed_accept", "link_confirm", "link_confirm_ack", "reject"}) {
    add(std::string("decode/") + kind + "/project", kNanosecond,
        [k = std::string(kind)](benchmark::State& s) { decode_project(s, k); });
  }
  for (const char* kind :
       {"request", "relayed_request", "accept", "relayed_accept", "link_confirm", "link_confirm_ack", "reject"}) {
    add(std::string("encode/") + kind + "/project", kNanosecond,
        [k = std::string(kind)](benchmark::State& s) { encode_project(s, k); });
  }

  add("relay_request/project", kMicrosecond, relay_request_project);
  add("relay_request/openssl", kMicrosecond, relay_request_openssl);
  for (std::size_t threads : {1, 2, 4}) {
    benchmark::RegisterBenchmark(("relay_request_workers/" + std::to_string(threads)).c_str(),
                                 [threads](benchmark::State& s) { relay_request_workers(s, threads); })
        ->Unit(kMicrosecond)
        ->UseRealTime();
  }
  add("relay_accept/project", kMicrosecond, relay_accept_project);
  add("relay_accept/openssl", kMicrosecond, relay_accept_openssl);
  add("target_request/project", kMicrosecond, target_request_project);
  add("target_request/openssl", kMicrosecond, target_request_openssl);
  add("source_accept/project", kMicrosecond, source_accept_project);
  add("source_accept/openssl", kMicrosecond, source_accept_openssl);

  add("certificate_cold/project", kMicrosecond, certificate_cold_project);
  add("certificate_cold/openssl", kMicrosecond, certificate_cold_openssl);
  add("certificate_warm/project", kMicrosecond, certificate_warm_project);
  add("certificate_warm/openssl", kMicrosecond, certificate_warm_openssl);

  for (Suite suite : kSuites) {
    const std::string name(dataplane::suite_name(suite));
    for (std::size_t size : kDataSizes) {
      const std::string at = name + "/" + std::to_string(size);
      add("protect/" + at + "/project", kNanosecond,
          [suite, size](benchmark::State& s) { protect_project(s, suite, size); });
      add("protect/" + at + "/openssl", kNanosecond,
          [suite, size](benchmark::State& s) { protect_openssl(s, suite, size); });
      add("unprotect/" + at + "/project", kNanosecond,
          [suite, size](benchmark::State& s) { unprotect_project(s, suite, size); });
      add("unprotect/" + at + "/openssl", kNanosecond,
          [suite, size](benchmark::State& s) { unprotect_openssl(s, suite, size); });
    }
  }
  for (std::size_t size : kDataSizes) {
    const std::string at = std::to_string(size);
    add("nea2/" + at + "/project", kNanosecond, [size](benchmark::State& s) { nea2_project(s, size); });
    add("nea2/" + at + "/openssl", kNanosecond, [size](benchmark::State& s) { nea2_openssl(s, size); });
    add("nia2/" + at + "/project", kNanosecond, [size](benchmark::State& s) { nia2_project(s, size); });
    add("nia2/" + at + "/openssl", kNanosecond, [size](benchmark::State& s) { nia2_openssl(s, size); });
  }
}

}  // namespace
}  // namespace u2u::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  u2u::bench::register_all();
  const std::size_t matched = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (const int errors = u2u::bench::g_errors.load(); errors > 0) {
    std::fprintf(stderr, "u2u-bench: %d benchmark run(s) reported an error\n", errors);
    return 1;
  }
  if (matched == 0) {
    std::fprintf(stderr, "u2u-bench: no benchmark matches the filter\n");
    return 1;
  }
  return 0;
}
