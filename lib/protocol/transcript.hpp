#pragma once
// Signature coverage and the request digest (docs/protocol.md section 4).
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "protocol/constants.hpp"
#include "wire/messages.hpp"

namespace u2u::protocol {

// label || 0x00 || covered
Bytes signing_input(std::string_view label, ByteView covered);
Result<wire::Signature> sign_step(const crypto::Signer& signer, const StepSignature& step, ByteView covered);

// The request digest: SHA-256 over the DIRECT COMMUNICATION REQUEST exactly as the source sent it (message type
// octet through the SIGN-Source UE IE). The target's accept carries it, so that the accept answers that request.
wire::Digest request_digest(const wire::Message& request);
// The first octets of the request digest as hex: the label of one handshake in every party's log.
std::string session_id(const wire::Digest& digest);

// Key confirmation. The accept's MAC covers  kLabelAcceptMac || 0x00 || the accept bytes before the MAC IE; the
// link confirmation's covers  kLabelLinkConfirmMac || 0x00 || SHA-256(the accept as the target sent it) ||
// the LINK CONFIRM bytes before its MAC IE.
wire::Mac accept_mac(const crypto::SecretBytes& k_int, ByteView covered);
wire::Mac link_confirm_mac(const crypto::SecretBytes& k_int, ByteView accept_as_sent, ByteView covered);
// The MAC of any other link message (docs/protocol.md 6.4).
wire::Mac link_mac(const crypto::SecretBytes& k_int, std::string_view label, ByteView covered);
// Constant-time comparison.
bool mac_equal(const wire::Mac& a, const wire::Mac& b);

// One party's Authentication_Info checked: its certificate against the trust store (chain, validity,
// CN == user_info_id, role) and then its signature over label || 0x00 || covered. `who` prefixes the
// certificate check names in errors ("source" -> "source_certificate_chain"). Every failure is cause #6.
Result<crypto::VerifiedPeer> authenticate(const crypto::TrustStore& trust, ByteView certificate_der,
                                          std::string_view user_info_id, crypto::Role role, const StepSignature& step,
                                          ByteView covered, const wire::Signature& signature, WallTime now,
                                          std::string_view who);

}  // namespace u2u::protocol
