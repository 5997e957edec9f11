// u2u-make-vectors: writes tests/vectors/protocol-v1.json. Run it when the wire format or the key schedule
// changes, and update docs/protocol.md from the result in the same commit. An existing file's keys,
// certificates, nonces and time are kept (so only what changed changes); --new-keys makes fresh ones.
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
  return in;
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
  std::ifstream existing(out_path);
  if (existing && !new_keys) {
    inputs = vectors::inputs_from_json(vectors::Json::parse(existing));
  } else {
    inputs = fresh_inputs();
  }
  auto log = std::make_shared<std::vector<vectors::SignatureRecord>>();
  auto outputs = vectors::run(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey> key) {
    return vectors::recording_signer(std::move(key), role, log);
  });
  outputs.signatures = *log;
  if (!outputs.source_established || !outputs.target_established || !outputs.keys_equal) {
    std::cerr << "u2u-make-vectors: the procedure did not complete with equal keys\n";
    return 1;
  }
  auto discovery_log = std::make_shared<std::vector<vectors::SignatureRecord>>();
  auto discovery =
      vectors::run_discovery(inputs, [&](const std::string& role, std::shared_ptr<const crypto::PrivateKey> key) {
        return vectors::recording_signer(std::move(key), role, discovery_log);
      });
  discovery.signatures = *discovery_log;
  if (!discovery.selected_by_model_a || !discovery.selected_by_model_b) {
    std::cerr << "u2u-make-vectors: discovery did not select the relay\n";
    return 1;
  }
  const auto data = vectors::run_data(inputs, outputs);
  std::ofstream(out_path) << vectors::to_json(inputs, outputs, discovery, data).dump(2) << "\n";
  std::cout << out_path << ": " << outputs.datagrams.size() << " datagrams, session " << outputs.session << "; "
            << discovery.datagrams.size() << " discovery datagrams\n";
  return 0;
}
