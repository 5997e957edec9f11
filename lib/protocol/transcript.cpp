#include "protocol/transcript.hpp"

#include "crypto/hash.hpp"
#include "protocol/constants.hpp"

namespace u2u::protocol {

Bytes signing_input(std::string_view label, ByteView covered) {
  Bytes input;
  input.reserve(label.size() + 1 + covered.size());
  append(input, as_bytes(label));
  input.push_back(0x00);
  append(input, covered);
  return input;
}

Result<wire::Signature> sign_step(const crypto::Signer& signer, const StepSignature& step, ByteView covered) {
  return signer.sign(signing_input(step.label, covered));
}

namespace {
wire::Mac to_mac(const crypto::SecretBytes& tag) {
  wire::Mac mac{};
  std::copy(tag.reveal().begin(), tag.reveal().end(), mac.begin());
  return mac;
}
}  // namespace

wire::Mac accept_mac(const crypto::SecretBytes& k_int, ByteView covered) {
  return to_mac(crypto::hmac_sha256(k_int.reveal(), signing_input(kLabelAcceptMac, covered)));
}

wire::Mac link_confirm_mac(const crypto::SecretBytes& k_int, ByteView accept_as_sent, ByteView covered) {
  const auto accept_digest = crypto::sha256(accept_as_sent);
  Bytes input = signing_input(kLabelLinkConfirmMac, accept_digest);
  append(input, covered);
  return to_mac(crypto::hmac_sha256(k_int.reveal(), input));
}

wire::Mac link_mac(const crypto::SecretBytes& k_int, std::string_view label, ByteView covered) {
  return to_mac(crypto::hmac_sha256(k_int.reveal(), signing_input(label, covered)));
}

bool mac_equal(const wire::Mac& a, const wire::Mac& b) { return crypto::constant_time_equal(a, b); }

wire::Digest request_digest(const wire::Message& request) { return crypto::sha256(request.originator_part()); }

std::string session_id(const wire::Digest& digest) { return to_hex(ByteView(digest).first(kSessionIdSize)); }

Result<crypto::VerifiedPeer> authenticate(const crypto::TrustStore& trust, ByteView certificate_der,
                                          std::string_view user_info_id, crypto::Role role, const StepSignature& step,
                                          ByteView covered, const wire::Signature& signature, WallTime now,
                                          std::string_view who) {
  auto peer = trust.verify(certificate_der, user_info_id, role, now);
  if (!peer) {
    Error e = peer.error();
    e.check = std::string(who) + "_" + e.check;
    e.cause = Cause::kAuthenticationFailure;
    return e;
  }
  if (auto s = peer->public_key.verify(signing_input(step.label, covered), signature); !s) {
    const bool high_s = s.error().check == "signature_high_s";
    return make_error(Cause::kAuthenticationFailure, std::string(step.check),
                      std::string(step.name) + " of \"" + std::string(user_info_id) + "\" " +
                          (high_s ? "is not low-S (section 4.1): " + s.error().reason : "does not verify"));
  }
  return peer;
}

}  // namespace u2u::protocol
