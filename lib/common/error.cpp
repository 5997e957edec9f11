#include "common/error.hpp"

namespace u2u {

std::string_view cause_name(Cause cause) {
  switch (cause) {
    case Cause::kNone: return "none";
    case Cause::kDirectCommunicationNotAllowed: return "direct communication to the target UE not allowed";
    case Cause::kNoLongerNeeded: return "direct communication to the target UE no longer needed";
    case Cause::kLackOfResources: return "lack of resources";
    case Cause::kAuthenticationFailure: return "authentication failure";
    case Cause::kIntegrityFailure: return "integrity failure";
    case Cause::kSecurityCapabilitiesMismatch: return "UE security capabilities mismatch";
    case Cause::kCongestion: return "congestion";
    case Cause::kProtocolErrorUnspecified: return "protocol error, unspecified";
  }
  return "unknown";
}

Cause cause_from_wire(std::uint8_t value) {
  switch (static_cast<Cause>(value)) {
    case Cause::kDirectCommunicationNotAllowed:
    case Cause::kNoLongerNeeded:
    case Cause::kLackOfResources:
    case Cause::kAuthenticationFailure:
    case Cause::kIntegrityFailure:
    case Cause::kSecurityCapabilitiesMismatch:
    case Cause::kCongestion:
    case Cause::kProtocolErrorUnspecified: return static_cast<Cause>(value);
    case Cause::kNone: break;
  }
  return Cause::kProtocolErrorUnspecified;
}

}  // namespace u2u
