#pragma once
// The protocol test vectors (tests/vectors/protocol-v1.json): fixed keys, certificates and nonces in; exact
// datagrams, signing inputs, ECDH secret, KD, KD-sess and their IDs out. ECDSA signatures are randomized, so
// the file records them: a replay substitutes the recorded signature for each signing input, which must be
// byte-identical, and the parties verify every recorded signature for real.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/certificate.hpp"
#include "protocol/key_schedule.hpp"
#include "wire/messages.hpp"

namespace u2u::vectors {

using Json = nlohmann::ordered_json;

struct PartyInputs {
  std::string role;  // source-ue, relay-ue, target-ue
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  std::string private_key_pem;
  Bytes certificate_der;
};

struct Inputs {
  WallTime time{};
  std::string ca_certificate_pem;
  std::vector<PartyInputs> parties;  // source, relay, target
  wire::Nonce nonce_1{};
  wire::Nonce nonce_2{};
  // The forward secrecy handshake's ephemeral private keys (P-256 scalars, 32 octets). The state machines generate
  // their ephemeral keys themselves: under FixedRandom(scalar), that generation makes exactly this key.
  Bytes source_ephemeral_scalar;
  Bytes target_ephemeral_scalar;
};

struct SignatureRecord {
  std::string signer;  // role
  Bytes signed_input;
  wire::Signature signature{};
};

struct Outputs {
  // Steps 1, 3, 5, 7, then step 9's LINK CONFIRM (source to relay, relay to target) and its LINK CONFIRM ACK
  // (target to relay, relay to source), in order.
  std::vector<Bytes> datagrams;
  std::vector<SignatureRecord> signatures;
  wire::Digest request_digest{};
  Bytes ecdh_secret;
  Bytes kd_input, kd, kd_sess_input, kd_sess, k_int_input, k_int;
  // The forward secrecy option's KD-sess for a fixed ephemeral ECDH secret (bytes 0xa0..0xbf).
  Bytes fs_ephemeral_secret, fs_kd_sess_input, fs_kd_sess;
  std::string kd_id, kd_sess_id, session;
  Bytes reject_datagram;  // the relay's REJECT #6 of this request, had SIGN-Source UE failed
  bool source_established = false;
  bool target_established = false;
  bool keys_equal = false;
  // Link maintenance of the link the handshake made, as the state machines send it after step 9: the source's
  // first KEEPALIVE REQUEST (when T5084 expires) and the target's KEEPALIVE RESPONSE, then the source's RELEASE
  // REQUEST (cause #2) and the target's RELEASE ACCEPT, each on both hops (to the relay, then readdressed by it).
  std::vector<Bytes> link_datagrams;
};

// The forward secrecy option (security.forward_secrecy at the source): the whole handshake with the ephemeral key
// IEs (0x0e in the request, 0x0f in the accept), the ephemeral keys fixed by Inputs::*_ephemeral_scalar, the
// nonces Nonce_1 and Nonce_2 again. Datagrams as in Outputs::datagrams (steps 1, 3, 5, 7, then step 9 on both
// hops); KD is the same as without the option (same identities and long-term keys), KD-sess is not.
struct ForwardSecrecyOutputs {
  std::vector<Bytes> datagrams;
  std::vector<SignatureRecord> signatures;
  std::string source_ephemeral_private_key_pem, target_ephemeral_private_key_pem;
  Bytes source_ephemeral_public_key, target_ephemeral_public_key;  // 0x04 || X || Y
  wire::Digest request_digest{};
  std::string session;
  Bytes ephemeral_secret;  // Z_e = ECDH(source ephemeral, target ephemeral)
  Bytes kd_sess_input, kd_sess, k_int;
  std::string kd_sess_id;
  bool source_established = false;
  bool target_established = false;
  bool keys_equal = false;  // both ends hold the KD-sess and K_int derived here from the recorded values
};

// A DIRECT COMMUNICATION REJECT from the target: the handshake's request (steps 1 and 3, the same bytes as
// Outputs::datagrams[0] and [1]) reaches a target that requires the forward secrecy option
// (security.forward_secrecy), which refuses it with cause #6; the relay forwards the reject to the source.
struct TargetRejectOutputs {
  std::vector<Bytes> datagrams;  // steps 1 and 3, then the REJECT target to relay, then relay to source
  Cause cause = Cause::kNone;
  bool source_failed_with_cause = false;  // the source ended the handshake with that cause
};

// While one lives, OpenSSL's random generator (through the deprecated RAND_METHOD hook, test code only) returns
// the given octets over and over, from their start for each request; a P-256 key generated meanwhile (the forward
// secrecy option's ephemeral keys) has them as its private scalar. A signature made by a recording signer draws
// real randomness all the same. One at a time; the destructor restores OpenSSL's own generator.
class FixedRandom {
 public:
  explicit FixedRandom(Bytes octets);
  ~FixedRandom();
  FixedRandom(const FixedRandom&) = delete;
  FixedRandom& operator=(const FixedRandom&) = delete;
  void set(Bytes octets);  // from now on, these octets
};

// Discovery (docs/protocol.md section 10) among the same parties at the same time, through the agents: the target's
// announcement, the relay's announcement naming the target (Model A), then the source's solicitation, the
// relay's target solicitation, the target's response and the relay's response (Model B). The solicitations'
// nonces are Nonce_1 and Nonce_2. Signatures are recorded as for the link procedure.
struct DiscoveryOutputs {
  std::vector<Bytes> datagrams;
  std::vector<SignatureRecord> signatures;
  bool selected_by_model_a = false;  // a Model A source selected the relay, with the target's Layer-2 ID
  bool selected_by_model_b = false;
};
inline constexpr std::uint16_t kDiscoveryPortOffset = 1000;  // each party's discovery port: its link port + this

// The data plane (docs/protocol.md 11) under the handshake's KD-sess: for each suite, NRPEK and NRPIK and a data
// PDU each way (the source's on the TUN bearer 0 with COUNT 0, the target's on bearer 1 with COUNT 5), as each end
// sends it to the relay. Deterministic: no randomness anywhere in the data plane.
struct DataPdu {
  std::string from;  // source-ue or target-ue
  std::uint8_t bearer = 0;
  std::uint32_t count = 0;
  Bytes payload;
  Bytes datagram;
};
struct DataSuiteVector {
  std::string suite;
  std::uint8_t id = 0;
  Bytes nrpek, nrpik;  // empty when the suite has none
  std::vector<DataPdu> pdus;
};
std::vector<DataSuiteVector> run_data(const Inputs& inputs, const Outputs& outputs);

// Rekeying (docs/protocol.md 12) of the link the handshake made (no forward secrecy): the source starts one with the
// rekeying nonce N_s (octets 0x30, 0x31, ...), the target answers with N_t (0x40, 0x41, ...); the REQUEST, RESPONSE
// and CONFIRM, each on both hops (to the relay, then readdressed by it), and the new keys. Then the forward secrecy
// variant's KD' for a fixed ECDH secret Z_r (octets 0xc0..0xdf) and what follows from it with the same nonces.
struct RekeyingOutputs {
  wire::Nonce source_nonce{}, target_nonce{};
  std::vector<Bytes> datagrams;
  Bytes kd_sess_input, kd_sess, k_int;
  std::string kd_sess_id;
  std::uint16_t data_kd_sess_id = 0;
  Bytes fs_secret, fs_kd_input, fs_kd, fs_kd_sess, fs_k_int;
  std::string fs_kd_id, fs_kd_sess_id;
  bool switched = false;  // both ends switched, to equal keys
};
RekeyingOutputs run_rekeying(const Inputs& inputs, const Outputs& outputs);
RekeyingOutputs rekeying_from_json(const Json& j);
std::vector<DataSuiteVector> data_from_json(const Json& j);

// Makes the signer a role signs with: the real key (to record), or a replay of recorded signatures.
using SignerFactory = std::function<std::shared_ptr<const crypto::Signer>(const std::string& role,
                                                                          std::shared_ptr<const crypto::PrivateKey>)>;

// Runs the handshake (steps 1-9) through the three state machines in memory with these inputs, then the link's
// first keep-alive and its release (Outputs::link_datagrams).
Outputs run(const Inputs& inputs, const SignerFactory& signer_for);

DiscoveryOutputs run_discovery(const Inputs& inputs, const SignerFactory& signer_for);

// The handshake with the forward secrecy option, under FixedRandom with the inputs' ephemeral scalars.
ForwardSecrecyOutputs run_forward_secrecy(const Inputs& inputs, const SignerFactory& signer_for);

// The handshake's request refused by a target that requires forward secrecy.
TargetRejectOutputs run_target_reject(const Inputs& inputs, const SignerFactory& signer_for);

Json to_json(const Inputs& inputs, const Outputs& outputs, const DiscoveryOutputs& discovery,
             const std::vector<DataSuiteVector>& data, const ForwardSecrecyOutputs& forward_secrecy,
             const TargetRejectOutputs& target_reject, const RekeyingOutputs& rekeying);
// Without the forward secrecy handshake block, the ephemeral scalars are the defaults (0x50.., 0x70..).
Inputs inputs_from_json(const Json& j);
Inputs with_default_ephemeral_scalars(Inputs inputs);
Outputs outputs_from_json(const Json& j);
DiscoveryOutputs discovery_from_json(const Json& j);
ForwardSecrecyOutputs forward_secrecy_from_json(const Json& j);
TargetRejectOutputs target_reject_from_json(const Json& j);

// A signer that returns the recorded signature for an identical signing input, or an error.
std::shared_ptr<const crypto::Signer> replaying_signer(std::vector<SignatureRecord> records, std::string role);
// A signer that signs with `key` and appends each (input, signature) to `log`. For an input `known` holds a
// signature of (by this role, verifying under the key), it reuses that signature: regenerating the vectors then
// keeps every datagram whose inputs did not change byte for byte.
std::shared_ptr<const crypto::Signer> recording_signer(std::shared_ptr<const crypto::PrivateKey> key, std::string role,
                                                       std::shared_ptr<std::vector<SignatureRecord>> log,
                                                       std::vector<SignatureRecord> known = {});

}  // namespace u2u::vectors
