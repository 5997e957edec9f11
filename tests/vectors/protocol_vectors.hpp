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
std::vector<DataSuiteVector> data_from_json(const Json& j);

// Makes the signer a role signs with: the real key (to record), or a replay of recorded signatures.
using SignerFactory = std::function<std::shared_ptr<const crypto::Signer>(const std::string& role,
                                                                          std::shared_ptr<const crypto::PrivateKey>)>;

// Runs steps 1-8 through the three state machines in memory with these inputs.
Outputs run(const Inputs& inputs, const SignerFactory& signer_for);

DiscoveryOutputs run_discovery(const Inputs& inputs, const SignerFactory& signer_for);

Json to_json(const Inputs& inputs, const Outputs& outputs, const DiscoveryOutputs& discovery,
             const std::vector<DataSuiteVector>& data);
Inputs inputs_from_json(const Json& j);
Outputs outputs_from_json(const Json& j);
DiscoveryOutputs discovery_from_json(const Json& j);

// A signer that returns the recorded signature for an identical signing input, or an error.
std::shared_ptr<const crypto::Signer> replaying_signer(std::vector<SignatureRecord> records, std::string role);
// A signer that signs with `key` and appends each (input, signature) to `log`.
std::shared_ptr<const crypto::Signer> recording_signer(std::shared_ptr<const crypto::PrivateKey> key, std::string role,
                                                       std::shared_ptr<std::vector<SignatureRecord>> log);

}  // namespace u2u::vectors
