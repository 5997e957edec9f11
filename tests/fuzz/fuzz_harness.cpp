#include "fuzz/fuzz_harness.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <variant>

#include "dataplane/data_link.hpp"
#include "protocol/discovery.hpp"
#include "protocol/relay.hpp"
#include "protocol/source.hpp"
#include "protocol/target.hpp"
#include "unit/harness.hpp"
#include "vectors/protocol_vectors.hpp"
#include "wire/discovery.hpp"
#include "wire/messages.hpp"

#ifndef U2U_VECTORS_DIR
#error "U2U_VECTORS_DIR must name tests/vectors"
#endif

namespace u2u::fuzz {

namespace {

using namespace std::chrono_literals;

void print_and_abort(const std::string& what) {
  std::fprintf(stderr, "u2u fuzz harness: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

FailureHandler g_failure = print_and_abort;

[[noreturn]] void fail(const std::string& what) {
  g_failure(what);
  std::abort();  // a handler that returns still stops this input
}

// Control octet of the role targets (fuzz_harness.hpp documents each bit).
constexpr std::uint8_t kSplice = 0x01;
constexpr unsigned kPrimeShift = 1;
constexpr unsigned kSenderShift = 3;
constexpr std::uint8_t kTwice = 0x20;
constexpr std::uint8_t kTimer = 0x40;
constexpr std::uint8_t kReaddress = 0x80;

enum Role : std::size_t { kSource = 0, kRelay = 1, kTarget = 2 };
constexpr std::size_t kRoles = 3;

// Signs what the vectors recorded with the recorded signature (so the genuine run is reproduced byte for byte,
// and the source's pending request digest is the one the vectors' accept answers), anything else with the key.
class ReplayOrSign final : public crypto::Signer {
 public:
  ReplayOrSign(std::vector<vectors::SignatureRecord> records, std::shared_ptr<const crypto::PrivateKey> key)
      : records_(std::move(records)), key_(std::move(key)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    for (const auto& r : records_) {
      if (std::ranges::equal(ByteView(r.signed_input), message)) return r.signature;
    }
    return key_->sign(message);
  }

 private:
  std::vector<vectors::SignatureRecord> records_;
  std::shared_ptr<const crypto::PrivateKey> key_;
};

std::optional<wire::Layer2Id> header_l2(ByteView datagram, std::size_t at) {
  if (datagram.size() < wire::kHeaderSize) return std::nullopt;
  return (wire::Layer2Id{datagram[at]} << 16) | (wire::Layer2Id{datagram[at + 1]} << 8) | datagram[at + 2];
}
std::optional<wire::Layer2Id> header_source(ByteView datagram) { return header_l2(datagram, 1); }
std::optional<wire::Layer2Id> header_destination(ByteView datagram) { return header_l2(datagram, 4); }

ByteView message_part(ByteView datagram) {
  return datagram.size() < wire::kHeaderSize ? ByteView{} : datagram.subspan(wire::kHeaderSize);
}

// A message with the values of its ECDSA signature IEs zeroed. ECDSA signatures are randomized: every run of
// u2u-make-vectors records new ones over the same content, and a seed from an older run still carries valid
// signatures. What a node must never accept is different content, so the progress check compares this form.
Bytes without_signatures(ByteView message) {
  Bytes out(message.begin(), message.end());
  std::size_t pos = 1;  // after the message type octet
  while (pos + wire::kIeHeaderSize <= out.size()) {
    const auto iei = static_cast<wire::Iei>(out[pos]);
    const std::size_t length = (std::size_t{out[pos + 1]} << 8) | out[pos + 2];
    const std::size_t end = std::min(out.size(), pos + wire::kIeHeaderSize + length);
    if (iei == wire::Iei::kSignSource || iei == wire::Iei::kSignTarget || iei == wire::Iei::kSign1Relay ||
        iei == wire::Iei::kSign2Relay) {
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(pos + wire::kIeHeaderSize),
                out.begin() + static_cast<std::ptrdiff_t>(end), std::uint8_t{0});
    }
    pos = end;
  }
  return out;
}

// A discovery message with the value of its signature IE zeroed (the same reason as without_signatures()).
Bytes discovery_without_signature(ByteView message) {
  Bytes out(message.begin(), message.end());
  std::size_t pos = 1;  // after the message type octet
  while (pos + wire::kIeHeaderSize <= out.size()) {
    const std::uint8_t iei = out[pos];
    const std::size_t length = (std::size_t{out[pos + 1]} << 8) | out[pos + 2];
    const std::size_t end = std::min(out.size(), pos + wire::kIeHeaderSize + length);
    if (iei == static_cast<std::uint8_t>(wire::DiscoveryIei::kDiscoverySignature)) {
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(pos + wire::kIeHeaderSize),
                out.begin() + static_cast<std::ptrdiff_t>(end), std::uint8_t{0});
    }
    pos = end;
  }
  return out;
}

// The parties, time and genuine datagrams of tests/vectors/protocol-v1.json.
struct Fixture {
  WallTime wall{};
  MonoTime mono = MonoTime{} + 1000h;  // any fixed point: nothing depends on the steady clock's epoch
  vectors::Inputs inputs;
  std::vector<protocol::LocalParty> parties;  // source, relay, target
  std::array<Endpoint, kRoles> endpoints{test::kSourceEndpoint, test::kRelayEndpoint, test::kTargetEndpoint};
  Endpoint stranger = *Endpoint::parse("10.0.0.99", 4999);
  std::vector<Bytes> genuine;                          // every datagram of the run, in order
  std::vector<Bytes> bases;                            // genuine, then the relay's reject
  std::vector<Bytes> genuine_messages;                 // without_signatures() of each base's message
  std::vector<Bytes> discovery;                        // the vectors' six discovery datagrams (docs/protocol.md 10.6)
  std::vector<Bytes> discovery_messages;               // discovery_without_signature() of each one's message
  std::array<Endpoint, kRoles> discovery_endpoints{};  // each party's discovery socket: its link port + 1000
  Endpoint discovery_stranger = *Endpoint::parse("10.0.0.99", 5999);
  vectors::Outputs outputs;                    // the handshake vectors (KD-sess, the request digest)
  std::vector<vectors::DataSuiteVector> data;  // the data PDUs of docs/protocol.md 11.6

  Now now() const { return {mono, wall}; }
  std::optional<Role> role_of(wire::Layer2Id l2) const {
    for (std::size_t r = 0; r < kRoles; ++r) {
      if (parties[r].layer2_id == l2) return static_cast<Role>(r);
    }
    return std::nullopt;
  }
  const Endpoint& endpoint_of(ByteView datagram) const {
    const auto l2 = header_source(datagram);
    const auto role = l2 ? role_of(*l2) : std::nullopt;
    return role ? endpoints[*role] : stranger;
  }
  bool addressed_to(const Bytes& datagram, Role role) const {
    return header_destination(datagram) == parties[role].layer2_id;
  }
  // The genuine datagrams this role receives in the run, in order.
  std::vector<Bytes> received_by(Role role) const {
    std::vector<Bytes> out;
    for (const auto& d : genuine) {
      if (addressed_to(d, role)) out.push_back(d);
    }
    return out;
  }
  // The content of one of the genuine run's messages (any valid signatures).
  bool is_genuine_message(ByteView message) const {
    const Bytes content = without_signatures(message);
    return std::ranges::any_of(genuine_messages, [&](const Bytes& g) { return g == content; });
  }
  // The same for discovery: the content of one of the six discovery messages (any valid signature).
  bool is_genuine_discovery_message(ByteView message) const {
    const Bytes content = discovery_without_signature(message);
    return std::ranges::any_of(discovery_messages, [&](const Bytes& g) { return g == content; });
  }
  const Endpoint& discovery_endpoint_of(ByteView datagram) const {
    const auto l2 = header_source(datagram);
    const auto role = l2 ? role_of(*l2) : std::nullopt;
    return role ? discovery_endpoints[*role] : discovery_stranger;
  }
};

Fixture load_fixture() {
  const char* override_path = std::getenv("U2U_FUZZ_VECTORS");
  const std::string path = override_path != nullptr ? override_path : U2U_VECTORS_DIR "/protocol-v1.json";
  std::ifstream in(path);
  if (!in) print_and_abort("cannot read the protocol vectors " + path + " (set U2U_FUZZ_VECTORS)");
  Fixture f;
  vectors::Outputs outputs;
  vectors::DiscoveryOutputs discovery;
  try {
    const auto j = vectors::Json::parse(in);
    f.inputs = vectors::inputs_from_json(j);
    outputs = vectors::outputs_from_json(j);
    discovery = vectors::discovery_from_json(j);
    f.data = vectors::data_from_json(j);
    f.discovery = discovery.datagrams;
  } catch (const std::exception& e) {
    print_and_abort(path + ": " + e.what());
  }
  if (f.inputs.parties.size() != kRoles) print_and_abort(path + ": expected three parties");
  f.wall = f.inputs.time;
  auto ca = crypto::Certificate::from_pem(f.inputs.ca_certificate_pem);
  if (!ca) print_and_abort("vector CA: " + ca.error().reason);
  auto store = crypto::TrustStore::from_ca(*ca);
  if (!store) print_and_abort("vector CA: " + store.error().reason);
  auto trust = std::make_shared<const crypto::TrustStore>(std::move(store).value());
  for (std::size_t r = 0; r < kRoles; ++r) {
    const auto& p = f.inputs.parties[r];
    auto key = crypto::PrivateKey::from_pem(p.private_key_pem);
    auto cert = crypto::Certificate::from_der(p.certificate_der);
    if (!key || !cert) print_and_abort("vector party " + p.role + " has a bad key or certificate");
    auto shared = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
    std::vector<vectors::SignatureRecord> own;
    for (const auto* records : {&outputs.signatures, &discovery.signatures}) {
      for (const auto& s : *records) {
        if (s.signer == p.role) own.push_back(s);
      }
    }
    f.parties.push_back(protocol::LocalParty{.user_info_id = p.user_info_id,
                                             .layer2_id = p.layer2_id,
                                             .certificate = std::move(cert).value(),
                                             .key = shared,
                                             .signer = std::make_shared<ReplayOrSign>(std::move(own), shared),
                                             .trust = trust});
  }
  f.outputs = outputs;
  f.genuine = outputs.datagrams;
  f.bases = f.genuine;
  f.bases.push_back(outputs.reject_datagram);
  for (const auto& d : f.bases) f.genuine_messages.push_back(without_signatures(message_part(d)));
  for (const auto& d : f.discovery) f.discovery_messages.push_back(discovery_without_signature(message_part(d)));
  for (std::size_t r = 0; r < kRoles; ++r) {
    f.discovery_endpoints[r] = f.endpoints[r];
    f.discovery_endpoints[r].port = static_cast<std::uint16_t>(f.endpoints[r].port + vectors::kDiscoveryPortOffset);
  }
  return f;
}

const Fixture& fixture() {
  static const Fixture f = load_fixture();
  return f;
}

protocol::RandomSource fixed(const wire::Nonce& n) {
  return [n](std::span<std::uint8_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = n[i % n.size()];
  };
}

std::string describe(ByteView datagram) { return to_hex(datagram); }

// Every datagram a node emits must be one a peer can decode.
void check_sent(const protocol::Output& out, const char* role) {
  for (const auto& s : out.send) {
    if (s.datagram.size() > wire::kMaxDatagramSize) {
      fail(std::string(role) + " sent a datagram of " + std::to_string(s.datagram.size()) + " octets");
    }
    if (auto d = wire::decode_datagram(s.datagram); !d) {
      fail(std::string(role) + " sent a datagram that does not decode (" + d.error().reason +
           "): " + describe(s.datagram));
    }
  }
}

// Progress that only an authenticated message may cause: the seed steps that end in a signature check (2 and 6 at
// the relay, 4 at the target, 8 at the source) and an established link. Step 9 at the relay is not one: it forwards
// a LINK CONFIRM it cannot check, and the target checks it before it logs link_established.
bool is_progress(const protocol::Event& e) {
  if (e.name == "link_established") return true;
  if (e.name != "step") return false;
  const auto* step = e.find("step");
  if (step == nullptr || !std::holds_alternative<std::int64_t>(*step)) return false;
  const auto n = std::get<std::int64_t>(*step);
  return n == 2 || n == 4 || n == 6 || n == 8;
}

std::size_t progress_events(const protocol::Output& out) {
  return static_cast<std::size_t>(std::ranges::count_if(out.events, is_progress));
}

const char* role_name(Role role) {
  switch (role) {
    case kSource: return "source";
    case kRelay: return "relay";
    case kTarget: return "target";
  }
  return "?";
}

std::unique_ptr<protocol::Node> make_node(Role role, const Now& now) {
  const Fixture& f = fixture();
  const auto& in = f.inputs;
  switch (role) {
    case kSource: {
      auto config = test::source_config(f.parties[kSource]);
      config.relay_user_info_id = in.parties[kRelay].user_info_id;
      config.relay_layer2_id = in.parties[kRelay].layer2_id;
      config.relay_endpoint = f.endpoints[kRelay];
      config.target_user_info_id = in.parties[kTarget].user_info_id;
      config.target_layer2_id = in.parties[kTarget].layer2_id;
      auto source = std::make_unique<protocol::SourceUe>(std::move(config), fixed(in.nonce_1));
      check_sent(source->start(now), "source");
      return source;
    }
    case kRelay: {
      auto config = test::relay_config(f.parties[kRelay]);
      config.targets = {{in.parties[kTarget].user_info_id, in.parties[kTarget].layer2_id, f.endpoints[kTarget]}};
      return std::make_unique<protocol::RelayUe>(std::move(config));
    }
    case kTarget:
      return std::make_unique<protocol::TargetUe>(test::target_config(f.parties[kTarget]), fixed(in.nonce_2));
  }
  return nullptr;
}

// One field of a genuine datagram: the header, or one IE (from its IEI octet to the end of its value).
struct Field {
  std::size_t begin = 0;
  std::size_t value_begin = 0;
  std::size_t end = 0;
  bool is_ie = false;
};

std::vector<Field> fields_of(const Bytes& d) {
  std::vector<Field> fields{{0, 0, std::min(wire::kHeaderSize, d.size()), false}};
  std::size_t pos = wire::kHeaderSize + 1;  // after the message type octet
  while (pos + wire::kIeHeaderSize <= d.size()) {
    const std::size_t length = (std::size_t{d[pos + 1]} << 8) | d[pos + 2];
    const std::size_t end = pos + wire::kIeHeaderSize + length;
    if (end > d.size()) break;
    fields.push_back({pos, pos + wire::kIeHeaderSize, end, true});
    pos = end;
  }
  return fields;
}

Bytes splice(const std::vector<Bytes>& bases, ByteView rest) {
  if (rest.size() < 3) return Bytes(rest.begin(), rest.end());
  const Bytes& base = bases[rest[0] % bases.size()];
  const auto fields = fields_of(base);
  const std::uint8_t pick = rest[1];
  const Field field = pick == 0 || fields.size() == 1 ? fields[0] : fields[1 + (pick - 1) % (fields.size() - 1)];
  const ByteView payload = rest.subspan(3);
  const auto before = [&](std::size_t at) {
    return Bytes(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(at));
  };
  const auto append_from = [&](Bytes& out, std::size_t at) {
    out.insert(out.end(), base.begin() + static_cast<std::ptrdiff_t>(at), base.end());
  };
  Bytes out;
  switch (rest[2] % 4) {
    case 0:  // replace the value, the IE length following it
      out = before(field.value_begin);
      if (field.is_ie) {
        const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(payload.size(), 0xFFFF));
        out[field.begin + 1] = static_cast<std::uint8_t>(length >> 8);
        out[field.begin + 2] = static_cast<std::uint8_t>(length);
      }
      append(out, payload);
      append_from(out, field.end);
      break;
    case 1:  // insert before the field
      out = before(field.begin);
      append(out, payload);
      append_from(out, field.begin);
      break;
    case 2:  // replace the whole field
      out = before(field.begin);
      append(out, payload);
      append_from(out, field.end);
      break;
    default:  // XOR into the value
      out = base;
      for (std::size_t i = 0; i < payload.size() && field.value_begin + i < field.end; ++i) {
        out[field.value_begin + i] ^= payload[i];
      }
      break;
  }
  return out;
}

// Delivers a fuzzed datagram and checks what the node did with it.
void deliver(protocol::Node& node, Role role, const Endpoint& from, ByteView datagram, const Now& now, Outcome& o) {
  const auto out = node.on_datagram(from, datagram, now);
  check_sent(out, role_name(role));
  o.decoded = wire::decode_datagram(datagram).ok();
  const std::size_t progress = progress_events(out);
  if (progress > 0 && !fixture().is_genuine_message(message_part(datagram))) {
    fail(std::string("the ") + role_name(role) +
         " made progress on a message whose content is not the genuine run's: " + describe(datagram));
  }
  o.progress += progress;
  for (const auto& e : out.events) o.events.push_back(e.name);
}

Outcome fuzz_role(Role role, ByteView input) {
  const Fixture& f = fixture();
  Outcome o;
  if (input.empty()) return o;
  const std::uint8_t control = input[0];
  Bytes datagram = (control & kSplice) != 0 ? splice(f.bases, input.subspan(1)) : Bytes(input.begin() + 1, input.end());
  const std::size_t sender = (control >> kSenderShift) & 0x3;
  if ((control & kReaddress) != 0 && datagram.size() >= wire::kHeaderSize) {
    const auto put_l2 = [&](std::size_t at, wire::Layer2Id l2) {
      datagram[at] = static_cast<std::uint8_t>(l2 >> 16);
      datagram[at + 1] = static_cast<std::uint8_t>(l2 >> 8);
      datagram[at + 2] = static_cast<std::uint8_t>(l2);
    };
    if (sender != 0) put_l2(1, f.parties[sender - 1].layer2_id);
    put_l2(4, f.parties[role].layer2_id);
  }
  const Now now = f.now();
  auto node = make_node(role, now);

  const auto primers = f.received_by(role);
  const std::size_t prime = (control >> kPrimeShift) & 0x3;
  for (std::size_t i = 0; i < prime && i < primers.size(); ++i) {
    check_sent(node->on_datagram(f.endpoint_of(primers[i]), primers[i], now), role_name(role));
  }
  const Endpoint& from = sender == 0 ? f.endpoint_of(datagram) : f.endpoints[sender - 1];
  deliver(*node, role, from, datagram, now, o);
  if ((control & kTwice) != 0) deliver(*node, role, from, datagram, now, o);
  if ((control & kTimer) != 0) {
    const auto deadline = node->next_deadline();
    const MonoTime at = deadline ? std::max(*deadline, now.mono) : now.mono + 1h;
    const Now later{at, now.wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(at - now.mono)};
    check_sent(node->on_timer(later), role_name(role));
    if (const auto next = node->next_deadline(); next && *next <= later.mono) {
      fail(std::string("the ") + role_name(role) + "'s next deadline is not after the timer that just fired");
    }
    deliver(*node, role, from, datagram, later, o);
  }
  return o;
}

// --- fuzz_discovery: the three discovery agents ------------------------------------------------------------------

// First octet of a fuzz_discovery input (modulo 4): which agent, and the second its control octet
// (fuzz_harness.hpp documents each bit).
enum class Agent : std::uint8_t { kRelay = 0, kTarget = 1, kSourceModelA = 2, kSourceModelB = 3 };
constexpr std::size_t kAgents = 4;
constexpr std::uint8_t kDiscoverySplice = 0x01;
constexpr unsigned kDiscoveryPrimeShift = 1;
constexpr std::uint8_t kDiscoveryTwice = 0x10;
constexpr std::uint8_t kDiscoveryTimer = 0x20;
constexpr std::uint8_t kDiscoveryStranger = 0x40;
constexpr std::uint8_t kDiscoveryVariant = 0x80;

const char* agent_name(Agent agent) {
  switch (agent) {
    case Agent::kRelay: return "relay discovery";
    case Agent::kTarget: return "target discovery";
    case Agent::kSourceModelA: return "source discovery (Model A)";
    case Agent::kSourceModelB: return "source discovery (Model B)";
  }
  return "?";
}

// The discovery message types each agent takes, in the vectors' order (docs/protocol.md 10.2 step 2).
bool takes(Agent agent, std::uint8_t type) {
  switch (agent) {
    case Agent::kRelay:
      return type == wire::kTargetAnnouncementType || type == wire::kSolicitationType ||
             type == wire::kTargetResponseType;
    case Agent::kTarget: return type == wire::kTargetSolicitationType;
    case Agent::kSourceModelA:
    case Agent::kSourceModelB: return type == wire::kRelayAnnouncementType || type == wire::kResponseType;
  }
  return false;
}

std::uint8_t discovery_type_of(const Bytes& datagram) {
  return datagram.size() > wire::kHeaderSize ? datagram[wire::kHeaderSize] : 0;
}

// The genuine discovery datagrams this agent takes, in the vectors' order (the prime bits pick among them).
std::vector<std::size_t> discovery_taken_by(const Fixture& f, Agent agent) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < f.discovery.size(); ++i) {
    if (takes(agent, discovery_type_of(f.discovery[i]))) out.push_back(i);
  }
  return out;
}

// An agent's authenticated progress: what it does only after a message passed every check of docs/protocol.md 10.2
// (and, for a target's response, matched a solicitation of its own).
bool is_discovery_progress(const protocol::Event& e) {
  static const std::string_view kNames[] = {"target_discovered", "solicitation_heard", "discovery_response_sent",
                                            "relay_discovered",  "relay_selected",     "announcement_heard"};
  return std::ranges::find(kNames, e.name) != std::end(kNames);
}

// Every discovery datagram an agent emits decodes, fits a datagram and is its own; a relay announcement names
// every configured target first (docs/protocol.md 10.3), at most kMaxReachableTargets, none twice.
void check_discovery_sent(const protocol::Output& out, Agent agent, const protocol::LocalParty& self,
                          const std::vector<protocol::RelayTarget>& configured) {
  for (const auto& s : out.send) {
    if (s.datagram.size() > wire::kMaxDatagramSize) {
      fail(std::string(agent_name(agent)) + " sent a datagram of " + std::to_string(s.datagram.size()) + " octets");
    }
    auto d = wire::decode_discovery_datagram(s.datagram);
    if (!d) {
      fail(std::string(agent_name(agent)) + " sent a datagram that does not decode (" + d.error().reason +
           "): " + describe(s.datagram));
    }
    const auto& m = d->message.message;
    if (m.sender_user_info_id != self.user_info_id || d->source != self.layer2_id) {
      fail(std::string(agent_name(agent)) + " sent a discovery message in another's name: " + describe(s.datagram));
    }
    if (m.type != wire::kRelayAnnouncementType) continue;
    const auto& listed = m.reachable_targets;
    for (std::size_t i = 0; i < listed.size(); ++i) {
      for (std::size_t j = i + 1; j < listed.size(); ++j) {
        if (listed[i].user_info_id == listed[j].user_info_id) fail("a relay announcement names a target twice");
      }
    }
    for (std::size_t i = 0; i < configured.size() && i < wire::kMaxReachableTargets; ++i) {
      if (i >= listed.size() || listed[i].user_info_id != configured[i].user_info_id) {
        fail("a relay announcement does not name its configured target " + configured[i].user_info_id +
             " first: " + describe(s.datagram));
      }
    }
  }
}

// One discovery agent with the vectors' parties, configured as in the vectors' run (u2u-make-vectors): the relay
// announces to the source and the target and asks with Nonce_2; the source solicits with Nonce_1.
struct DiscoveryAgent {
  Agent agent;
  std::vector<protocol::RelayTarget> configured;  // the relay's
  std::unique_ptr<protocol::RelayDiscovery> relay;
  std::unique_ptr<protocol::TargetDiscovery> target;
  std::unique_ptr<protocol::SourceDiscovery> source;

  protocol::Node& node() {
    if (relay) return *relay;
    if (target) return *target;
    return *source;
  }
  const protocol::LocalParty& self(const Fixture& f) const {
    return f.parties[agent == Agent::kRelay ? kRelay : agent == Agent::kTarget ? kTarget : kSource];
  }
  void check(const protocol::Output& out, const Fixture& f) const {
    check_discovery_sent(out, agent, self(f), configured);
    if (relay && relay->discovered_targets() > protocol::kMaxDiscoveredTargets) {
      fail("the relay keeps more than kMaxDiscoveredTargets discovered targets");
    }
  }
};

DiscoveryAgent make_agent(Agent agent, bool variant) {
  const Fixture& f = fixture();
  const auto& in = f.inputs;
  const auto config = [&](Role self, std::vector<Role> to) {
    protocol::DiscoveryConfig c;
    for (Role r : to) c.destinations.push_back(f.discovery_endpoints[r]);
    c.signalling_port = f.endpoints[self].port;
    return c;
  };
  DiscoveryAgent a{agent, {}, nullptr, nullptr, nullptr};
  switch (agent) {
    case Agent::kRelay:
      // The variant: the target is configured (then a solicitation for it is answered at once).
      if (variant)
        a.configured = {{in.parties[kTarget].user_info_id, in.parties[kTarget].layer2_id, f.endpoints[kTarget]}};
      a.relay = std::make_unique<protocol::RelayDiscovery>(f.parties[kRelay], config(kRelay, {kSource, kTarget}),
                                                           a.configured, fixed(in.nonce_2));
      break;
    case Agent::kTarget: {
      auto c = config(kTarget, {kRelay});
      c.announce = !variant;  // the variant: Model B only
      a.target = std::make_unique<protocol::TargetDiscovery>(f.parties[kTarget], std::move(c));
      break;
    }
    case Agent::kSourceModelA:
    case Agent::kSourceModelB:
      // The variant: the preference policy, which waits one interval to compare.
      a.source = std::make_unique<protocol::SourceDiscovery>(
          f.parties[kSource], config(kSource, {kRelay}), in.parties[kTarget].user_info_id,
          agent == Agent::kSourceModelB ? protocol::DiscoveryModel::kModelB : protocol::DiscoveryModel::kModelA,
          variant ? protocol::SelectionPolicy::kPreference : protocol::SelectionPolicy::kFirst,
          std::vector<std::string>{in.parties[kRelay].user_info_id}, fixed(in.nonce_1));
      break;
  }
  return a;
}

// Delivers a fuzzed discovery datagram: an agent sends nothing and makes no authenticated progress unless the
// message's content is one of the vectors' (signature values aside).
void deliver_discovery(DiscoveryAgent& a, const Endpoint& from, ByteView datagram, const Now& now, Outcome& o) {
  const Fixture& f = fixture();
  const auto out = a.node().on_datagram(from, datagram, now);
  a.check(out, f);
  o.decoded = wire::decode_discovery_datagram(datagram).ok();
  const std::size_t progress = static_cast<std::size_t>(std::ranges::count_if(out.events, is_discovery_progress));
  if ((progress > 0 || !out.send.empty()) && !f.is_genuine_discovery_message(message_part(datagram))) {
    fail(std::string("the ") + agent_name(a.agent) + (out.send.empty() ? " made progress" : " sent a datagram") +
         " on a message whose content is not the genuine run's: " + describe(datagram));
  }
  o.progress += progress;
  for (const auto& e : out.events) o.events.push_back(e.name);
}

// Fires the agent's next deadline (now when none is due yet) and checks it leaves none in the past.
Now fire_discovery_timer(DiscoveryAgent& a, const Now& now) {
  const auto deadline = a.node().next_deadline();
  const MonoTime at = deadline ? std::max(*deadline, now.mono) : now.mono + 1h;
  const Now later{at, now.wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(at - now.mono)};
  a.check(a.node().on_timer(later), fixture());
  if (const auto next = a.node().next_deadline(); next && *next <= later.mono) {
    fail(std::string("the ") + agent_name(a.agent) + "'s next deadline is not after the timer that just fired");
  }
  return later;
}

// The seeds of fuzz_discovery: each agent with each of the six discovery datagrams, raw; for the ones it takes, after
// the genuine ones it takes before (a relay's target response: after the solicitation alone, so that it asked),
// and again as the identity splice of the first IE, delivered twice then after the timer, and with the variant.
std::vector<Seed> discovery_seeds(const Fixture& f) {
  static const char* const kAgentFile[kAgents] = {"relay", "target", "source-a", "source-b"};
  std::vector<Seed> out;
  for (std::size_t agent_index = 0; agent_index < kAgents; ++agent_index) {
    const auto agent = static_cast<Agent>(agent_index);
    const auto taken = discovery_taken_by(f, agent);
    for (std::size_t i = 0; i < f.discovery.size(); ++i) {
      const Bytes& d = f.discovery[i];
      const std::string name = std::string(kAgentFile[agent_index]) + "-discovery-" + std::to_string(i + 1) + "-type-" +
                               to_hex(message_part(d).first(1));
      const auto position = std::ranges::find(taken, i);
      unsigned prime = 0;
      if (position != taken.end()) {
        const auto before = static_cast<unsigned>(position - taken.begin());
        prime = (1u << before) - 1;  // every genuine one it takes before this one
        if (agent == Agent::kRelay && discovery_type_of(d) == wire::kTargetResponseType) {
          prime = 0;  // the solicitation alone: the relay, not knowing the target yet, asks for it
          for (std::size_t k = 0; k < taken.size(); ++k) {
            if (discovery_type_of(f.discovery[taken[k]]) == wire::kSolicitationType) prime |= 1u << k;
          }
        }
      }
      const auto control = static_cast<std::uint8_t>(prime << kDiscoveryPrimeShift);
      const auto seed = [&](std::string kind, std::uint8_t c, ByteView body) {
        Bytes data{static_cast<std::uint8_t>(agent_index), c};
        append(data, body);
        out.push_back({name + "-" + kind, std::move(data)});
      };
      seed("raw", control, d);
      if (position == taken.end()) continue;
      const auto fields = fields_of(d);
      if (fields.size() > 1) {  // the identity splice of the first IE: the fuzzer varies the value from there
        Bytes s{static_cast<std::uint8_t>(i), 1, 0};
        s.insert(s.end(), d.begin() + static_cast<std::ptrdiff_t>(fields[1].value_begin),
                 d.begin() + static_cast<std::ptrdiff_t>(fields[1].end));
        seed("splice", static_cast<std::uint8_t>(control | kDiscoverySplice), s);
      }
      seed("twice-timer", static_cast<std::uint8_t>(control | kDiscoveryTwice | kDiscoveryTimer), d);
      seed("variant", static_cast<std::uint8_t>(control | kDiscoveryVariant), d);
    }
  }
  return out;
}

// Whether re-encoding must give back the input's exact bytes: not when an IE was skipped as unknown (any IE with
// the comprehension-not-required bit, to stay conservative) and not when a reject's cause octet is one the project
// reads as #111. The input decoded, so its IEs are well framed.
bool must_round_trip(ByteView datagram) {
  const ByteView m = message_part(datagram);
  const bool is_reject = m[0] == static_cast<std::uint8_t>(wire::MessageType::kDirectCommunicationReject);
  std::size_t pos = 1;
  while (pos + wire::kIeHeaderSize <= m.size()) {
    const std::uint8_t iei = m[pos];
    const std::size_t length = (std::size_t{m[pos + 1]} << 8) | m[pos + 2];
    if ((iei & wire::kIeiComprehensionNotRequired) != 0) return false;
    if (is_reject && iei == static_cast<std::uint8_t>(wire::Iei::kCause) && length == 1) {
      const std::uint8_t cause = m[pos + wire::kIeHeaderSize];
      if (static_cast<std::uint8_t>(cause_from_wire(cause)) != cause) return false;
    }
    pos += wire::kIeHeaderSize + length;
  }
  return true;
}

}  // namespace

void initialize() { (void)fixture(); }

void set_failure_handler(FailureHandler handler) { g_failure = handler != nullptr ? handler : print_and_abort; }

// A discovery datagram (its types are 0x40 and up, never a PC5 signalling message's): what decodes re-encodes to
// the same message, and to the same bytes unless an ignorable unknown IE was skipped.
bool discovery_decode_one(ByteView input, const wire::DiscoveryDatagram& d) {
  const wire::DecodedDiscovery& m = d.message;
  if (!std::ranges::equal(ByteView(m.bytes), message_part(input)))
    fail("decoded discovery bytes differ from the input");
  if (m.signature_offset > m.bytes.size()) fail("discovery signature offset outside the message: " + describe(input));
  Bytes again = wire::encode_discovery_unsigned(m.message);
  wire::append_discovery_signature(again, m.message.signature);
  auto d2 = wire::decode_discovery(again);
  if (!d2) fail("re-encoded discovery message does not decode (" + d2.error().reason + "): " + describe(input));
  if (!(d2->message == m.message)) fail("re-encoded discovery message decodes to something else: " + describe(input));
  if (must_round_trip(input) && !std::ranges::equal(ByteView(again), ByteView(m.bytes))) {
    fail("re-encoding changed the discovery bytes: in " + describe(input) + " out " + to_hex(again));
  }
  return true;
}

// A data PDU (docs/protocol.md 11): split, then unprotected by each suite's receiving end of the vectors' link (both
// directions). Nothing but one of the vectors' own PDUs may be delivered, and under its own suite what is delivered
// is its payload. (nea2-nia2 and null-nia2 share NRPIK, which TS 33.536 derives from the integrity algorithm alone:
// each verifies the other's PDUs; the negotiated suite, inside both signatures, keeps the two ends on one.)
bool data_decode_one(ByteView input) {
  const Fixture& f = fixture();
  const auto pdu = dataplane::parse_pdu(input);
  if (pdu &&
      (pdu->payload_offset + pdu->payload_size != input.size() || pdu->covered.size() != dataplane::kPduHeaderSize)) {
    fail("data PDU split outside the datagram: " + describe(input));
  }
  const crypto::SecretBytes kd_sess(f.outputs.kd_sess);
  for (const auto& v : f.data) {
    const auto suite = dataplane::suite_from_wire(v.id);
    if (!suite) continue;
    for (const std::uint8_t direction : {dataplane::kDirectionFromSource, dataplane::kDirectionFromTarget}) {
      auto end = dataplane::DataLink::create({*suite, dataplane::derive_nrp_keys(kd_sess, *suite), direction,
                                              dataplane::link_label(f.outputs.request_digest),
                                              dataplane::short_kd_sess_id(f.outputs.kd_sess_id), 0, 0});
      if (!end) fail("no data link for " + v.suite);
      Bytes buffer(input.begin(), input.end());
      const auto r = end->unprotect(buffer);
      const auto* delivered = std::get_if<dataplane::Delivery>(&r);
      if (delivered == nullptr) continue;
      const auto is_input = [&](const vectors::DataPdu& p) {
        return std::ranges::equal(ByteView(p.datagram).subspan(wire::kHeaderSize), input.subspan(wire::kHeaderSize));
      };
      const bool any_genuine = std::any_of(f.data.begin(), f.data.end(), [&](const auto& s) {
        return std::any_of(s.pdus.begin(), s.pdus.end(), is_input);
      });
      if (!any_genuine) fail("a data PDU that is none of the vectors' was delivered: " + describe(input));
      const auto own = std::find_if(v.pdus.begin(), v.pdus.end(), is_input);
      if (own != v.pdus.end() && !std::ranges::equal(delivered->payload, own->payload)) {
        fail("a data PDU delivered another payload than its own: " + describe(input));
      }
    }
  }
  return pdu.ok();
}

bool fuzz_decode_one(ByteView input) {
  if (dataplane::is_data_pdu(input)) return data_decode_one(input);
  if (auto discovery = wire::decode_discovery_datagram(input)) return discovery_decode_one(input, *discovery);
  auto d = wire::decode_datagram(input);
  if (!d) return false;
  const wire::Message& m = d->message;
  if (!std::ranges::equal(ByteView(m.bytes), message_part(input))) fail("decoded message bytes differ from the input");
  if (m.first_signature_offset > m.first_signature_end || m.first_signature_end > m.bytes.size() ||
      m.relay_signature_offset > m.bytes.size()) {
    fail("signature offsets outside the message: " + describe(input));
  }
  (void)m.type();
  const Bytes message = wire::encode(m.body);
  const Bytes again = wire::encode_datagram(d->source, d->destination, message);
  auto d2 = wire::decode_datagram(again);
  if (!d2) fail("re-encoded datagram does not decode (" + d2.error().reason + "): " + describe(input));
  if (d2->source != d->source || d2->destination != d->destination || !(d2->message.body == m.body)) {
    fail("re-encoded datagram decodes to something else: " + describe(input));
  }
  if (wire::encode(d2->message.body) != message) fail("encoding is not a fixed point: " + describe(input));
  if (must_round_trip(input) && !std::ranges::equal(ByteView(again), input)) {
    fail("re-encoding changed the bytes: in " + describe(input) + " out " + describe(again));
  }
  return true;
}

Outcome fuzz_discovery_one(ByteView input) {
  const Fixture& f = fixture();
  Outcome o;
  if (input.size() < 2) return o;
  const auto agent = static_cast<Agent>(input[0] % kAgents);
  const std::uint8_t control = input[1];
  const ByteView rest = input.subspan(2);
  const Bytes datagram =
      (control & kDiscoverySplice) != 0 ? splice(f.discovery, rest) : Bytes(rest.begin(), rest.end());
  DiscoveryAgent a = make_agent(agent, (control & kDiscoveryVariant) != 0);
  Now now = f.now();
  // As a daemon starts: the first timer at once (announcements; a Model B source solicits with Nonce_1).
  a.check(a.node().on_timer(now), f);
  const auto primers = discovery_taken_by(f, agent);
  const unsigned prime = (control >> kDiscoveryPrimeShift) & 0x7;
  for (std::size_t i = 0; i < primers.size() && i < 3; ++i) {
    if ((prime & (1u << i)) == 0) continue;
    const Bytes& d = f.discovery[primers[i]];
    a.check(a.node().on_datagram(f.discovery_endpoint_of(d), d, now), f);
  }
  const Endpoint& from = (control & kDiscoveryStranger) != 0 ? f.discovery_stranger : f.discovery_endpoint_of(datagram);
  deliver_discovery(a, from, datagram, now, o);
  if ((control & kDiscoveryTwice) != 0) deliver_discovery(a, from, datagram, now, o);
  if ((control & kDiscoveryTimer) != 0) {
    now = fire_discovery_timer(a, now);
    deliver_discovery(a, from, datagram, now, o);
  }
  return o;
}

Outcome fuzz_relay_one(ByteView input) { return fuzz_role(kRelay, input); }
Outcome fuzz_target_one(ByteView input) { return fuzz_role(kTarget, input); }
Outcome fuzz_source_one(ByteView input) { return fuzz_role(kSource, input); }

std::vector<std::string> target_names() {
  return {"fuzz_decode", "fuzz_relay", "fuzz_target", "fuzz_source", "fuzz_discovery"};
}

Outcome run_one(const std::string& target, ByteView input) {
  if (target == "fuzz_decode") {
    Outcome o;
    o.decoded = fuzz_decode_one(input);
    return o;
  }
  if (target == "fuzz_relay") return fuzz_relay_one(input);
  if (target == "fuzz_target") return fuzz_target_one(input);
  if (target == "fuzz_source") return fuzz_source_one(input);
  if (target == "fuzz_discovery") return fuzz_discovery_one(input);
  throw std::invalid_argument("no fuzz target " + target);
}

std::vector<Seed> seeds(const std::string& target) {
  const Fixture& f = fixture();
  // Names by position and message type: d1-request, d2-request, d3-accept, ..., reject.
  const auto base_name = [&](std::size_t i) {
    if (i == f.genuine.size()) return std::string("reject");
    const ByteView m = message_part(f.bases[i]);
    // "DIRECT COMMUNICATION REQUEST" -> "request", "LINK CONFIRM" -> "link-confirm".
    std::string type = m.empty() ? "empty" : std::string(wire::message_name(static_cast<wire::MessageType>(m[0])));
    if (type.starts_with("DIRECT COMMUNICATION ")) type.erase(0, std::string_view("DIRECT COMMUNICATION ").size());
    for (char& c : type) c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return "d" + std::to_string(i + 1) + "-" + type;
  };
  std::vector<Seed> out;
  if (target == "fuzz_decode") {
    for (std::size_t i = 0; i < f.bases.size(); ++i) out.push_back({base_name(i), f.bases[i]});
    // An unknown IE that may be ignored, right after the message type octet (covered by every signature).
    Bytes with_unknown = f.bases[0];
    const std::uint8_t unknown_ie[] = {0xF0, 0x00, 0x02, 0xAB, 0xCD};
    with_unknown.insert(with_unknown.begin() + wire::kHeaderSize + 1, std::begin(unknown_ie), std::end(unknown_ie));
    out.push_back({base_name(0) + "-unknown-ie", with_unknown});
    for (std::size_t i = 0; i < f.discovery.size(); ++i) {
      const ByteView m = message_part(f.discovery[i]);
      out.push_back({"discovery-" + std::to_string(i + 1) + "-type-" + to_hex(m.first(1)), f.discovery[i]});
    }
    for (const auto& v : f.data) {
      for (const auto& p : v.pdus) out.push_back({"data-" + v.suite + "-from-" + p.from, p.datagram});
    }
    return out;
  }
  if (target == "fuzz_discovery") return discovery_seeds(f);
  Role role = kRelay;
  if (target == "fuzz_target")
    role = kTarget;
  else if (target == "fuzz_source")
    role = kSource;
  else if (target != "fuzz_relay")
    throw std::invalid_argument("no fuzz target " + target);
  std::size_t received = 0;  // genuine datagrams this role received before the current one
  for (std::size_t i = 0; i < f.bases.size(); ++i) {
    const Bytes& d = f.bases[i];
    const bool addressed = f.addressed_to(d, role);
    const auto prime = static_cast<std::uint8_t>(addressed ? std::min<std::size_t>(received, 3) : 0);
    const auto control = static_cast<std::uint8_t>(prime << kPrimeShift);
    Bytes raw{control};
    append(raw, d);
    out.push_back({base_name(i) + "-raw", raw});
    if (!addressed) {
      // Readdressed to this role, from its usual peer (the relay hears the target, the UEs the relay), after the
      // first genuine datagram this role receives: rejects and relayed messages reach the paths that handle them.
      const std::size_t peer = role == kRelay ? kTarget : kRelay;
      Bytes readdressed{static_cast<std::uint8_t>(kReaddress | ((peer + 1) << kSenderShift) | (1u << kPrimeShift))};
      append(readdressed, d);
      out.push_back({base_name(i) + "-readdressed", readdressed});
    }
    if (addressed) {
      const auto fields = fields_of(d);
      if (fields.size() > 1) {  // the identity splice of the first IE: the fuzzer varies the value from there
        Bytes s{static_cast<std::uint8_t>(control | kSplice), static_cast<std::uint8_t>(i), 1, 0};
        s.insert(s.end(), d.begin() + static_cast<std::ptrdiff_t>(fields[1].value_begin),
                 d.begin() + static_cast<std::ptrdiff_t>(fields[1].end));
        out.push_back({base_name(i) + "-splice", s});
      }
      Bytes again{static_cast<std::uint8_t>(control | kTwice | kTimer)};
      append(again, d);
      out.push_back({base_name(i) + "-twice-timer", again});
      if (i < f.genuine.size()) ++received;
    }
  }
  return out;
}

}  // namespace u2u::fuzz
