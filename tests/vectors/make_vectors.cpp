// u2u-make-vectors: writes tests/vectors/protocol-v1.json. Run it when the wire format or the key schedule
// changes, and update docs/protocol.md from the result in the same commit. An existing file's keys,
// certificates, nonces, ephemeral scalars and time are kept, and so are its signatures of signing inputs that did
// not change (ECDSA is randomized): only what changed changes. --new-keys makes fresh keys (and signatures).
#include <fstream>
#include <iostream>

#include "vectors/protocol_vectors.hpp"

using namespace u2u;

namespace {

vectors::Inputs fresh_inputs() {
  using namespace std::chrono;
  vectors::Inputs in;
  in.time = sys_days{year{2026} / 6 / 1};
  const WallTime not_before = sys_days{year{2026} / 1 / 1};
  const WallTime not_after = sys_days{year{2126} / 1 / 1};
  auto ca = crypto::CertificateAuthority::create("u2u-vectors-ca", not_before, not_after);
  if (!ca) throw std::runtime_error(ca.error().reason);
  in.ca_certificate_pem = ca->certificate().pem();
  const struct {
    const char* role;
    wire::Layer2Id l2;
    crypto::Role cert_role;
  } parties[] = {{"source-ue", 0x000001, crypto::Role::kUe},
                 {"relay-ue", 0x000002, crypto::Role::kRelay},
                 {"target-ue", 0x000003, crypto::Role::kUe}};
  for (const auto& p : parties) {
    auto key = crypto::PrivateKey::generate();
    auto cert = ca->issue({p.role, p.cert_role, not_before, not_after}, key->public_key());
    if (!cert) throw std::runtime_error(cert.error().reason);
    const auto pem = key->to_pem();
    in.parties.push_back({p.role, p.role, p.l2, std::string(pem.reveal().begin(), pem.reveal().end()), cert->der()});
  }
  for (std::size_t i = 0; i < in.nonce_1.size(); ++i) {
    in.nonce_1[i] = static_cast<std::uint8_t>(i);
    in.nonce_2[i] = static_cast<std::uint8_t>(0xF0 + i);
  }
  return vectors::with_default_ephemeral_scalars(std::move(in));
}

// The existing file's signatures, handshake, forward secrecy handshake and discovery alike.
std::vector<vectors::SignatureRecord> known_signatures(const vectors::Json& j) {
  std::vector<vectors::SignatureRecord> known = vectors::outputs_from_json(j).signatures;
  if (j.contains("forward_secrecy_handshake")) {
    for (auto& s : vectors::forward_secrecy_from_json(j).signatures) known.push_back(std::move(s));
  }
  for (auto& s : vectors::discovery_from_json(j).signatures) known.push_back(std::move(s));
  return known;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: u2u-make-vectors OUT.json [--new-keys]\n";
    return 2;
  }
  const std::string out_path = argv[1];
  const bool new_keys = argc > 2 && std::string(argv[2]) == "--new-keys";
  vectors::Inputs inputs;
  std::vector<vectors::SignatureRecord> known;
  std::ifstream existing(out_path);
  if (existing && !new_keys) {
    const auto j = vectors::Json::parse(existing);
    inputs = vectors::inputs_from_json(j);
    known = known_signatures(j);
  } else {
    inputs = fresh_inputs();
  }
  const auto signing = [&](std::shared_ptr<std::vector<vectors::SignatureRecord>> log) {
    return [&known, log](const std::string& role, std::shared_ptr<const crypto::PrivateKey> key) {
      return vectors::recording_signer(std::move(key), role, log, known);
    };
  };
  auto log = std::make_shared<std::vector<vectors::SignatureRecord>>();
  auto outputs = vectors::run(inputs, signing(log));
  outputs.signatures = *log;
  if (!outputs.source_established || !outputs.target_established || !outputs.keys_equal) {
    std::cerr << "u2u-make-vectors: the procedure did not complete with equal keys\n";
    return 1;
  }
  if (outputs.link_datagrams.size() != 8) {
    std::cerr << "u2u-make-vectors: keep-alive and release gave " << outputs.link_datagrams.size()
              << " datagrams, not 8\n";
    return 1;
  }
  auto fs_log = std::make_shared<std::vector<vectors::SignatureRecord>>();
  auto forward_secrecy = vectors::run_forward_secrecy(inputs, signing(fs_log));
  forward_secrecy.signatures = *fs_log;
  if (!forward_secrecy.source_established || !forward_secrecy.target_established || !forward_secrecy.keys_equal ||
      forward_secrecy.datagrams.size() != 8) {
    std::cerr << "u2u-make-vectors: the forward secrecy handshake did not complete with the expected keys\n";
    return 1;
  }
  // The same request as the handshake's: its recorded signatures, nothing new to sign.
  const auto target_reject =
      vectors::run_target_reject(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey>) {
        return vectors::replaying_signer(outputs.signatures, role);
      });
  if (target_reject.datagrams.size() != 4 || !target_reject.source_failed_with_cause) {
    std::cerr << "u2u-make-vectors: the target's reject did not reach the source\n";
    return 1;
  }
  auto discovery_log = std::make_shared<std::vector<vectors::SignatureRecord>>();
  auto discovery = vectors::run_discovery(inputs, signing(discovery_log));
  discovery.signatures = *discovery_log;
  if (!discovery.selected_by_model_a || !discovery.selected_by_model_b) {
    std::cerr << "u2u-make-vectors: discovery did not select the relay\n";
    return 1;
  }
  const auto data = vectors::run_data(inputs, outputs);
  const auto rekeying = vectors::run_rekeying(inputs, outputs);
  if (!rekeying.switched || rekeying.datagrams.size() != 6) {
    std::cerr << "u2u-make-vectors: the rekeying did not switch both ends to equal keys\n";
    return 1;
  }
  std::ofstream(out_path)
      << vectors::to_json(inputs, outputs, discovery, data, forward_secrecy, target_reject, rekeying).dump(2) << "\n";
  std::cout << out_path << ": " << outputs.datagrams.size() << " datagrams, session " << outputs.session << "; "
            << outputs.link_datagrams.size() << " link maintenance datagrams; forward secrecy session "
            << forward_secrecy.session << "; target reject cause #" << static_cast<int>(target_reject.cause) << "; "
            << discovery.datagrams.size() << " discovery datagrams\n";
  return 0;
}
