#include "protocol/link_credentials.hpp"

#include <algorithm>

namespace u2u::protocol {

void LinkCredentials::add(std::string who, std::string user_info_id, ByteView certificate_der, crypto::Role role,
                          WallTime not_after) {
  parties_.push_back({std::move(who), std::move(user_info_id), Bytes(certificate_der.begin(), certificate_der.end()),
                      role, not_after});
}

Status LinkCredentials::recheck(const crypto::TrustStore& trust, WallTime now) const {
  for (const Party& p : parties_) {
    if (auto peer = trust.verify(p.certificate, p.user_info_id, p.role, now); !peer) {
      Error e = peer.error();
      e.check = p.who + "_" + e.check;
      e.cause = Cause::kAuthenticationFailure;
      return e;
    }
  }
  return {};
}

namespace {

MonoTime::duration until(WallTime from, WallTime to) {
  return std::chrono::duration_cast<MonoTime::duration>(std::max(to - from, WallTime::duration::zero()));
}

}  // namespace

MonoTime LinkCredentials::end_of_life(const Now& established, Millis max_lifetime) const {
  auto life = std::chrono::duration_cast<MonoTime::duration>(max_lifetime);
  for (const Party& p : parties_) life = std::min(life, until(established.wall, p.not_after));
  return established.mono + life;
}

std::string LinkCredentials::end_of_life_reason(const Now& established, Millis max_lifetime) const {
  const auto max = std::chrono::duration_cast<MonoTime::duration>(max_lifetime);
  const Party* earliest = nullptr;
  for (const Party& p : parties_) {
    if (until(established.wall, p.not_after) < max && (earliest == nullptr || p.not_after < earliest->not_after)) {
      earliest = &p;
    }
  }
  if (earliest != nullptr) {
    return "the certificate of \"" + earliest->user_info_id + "\" (" + earliest->who + ") expires";
  }
  return "the link's maximum lifetime of " + std::to_string(max_lifetime.count()) + " ms has passed";
}

Status recheck_if_reloaded(const LinkCredentials& credentials, const crypto::TrustStore& used,
                           const crypto::TrustStore& current, WallTime now) {
  if (&used == &current) return {};
  return credentials.recheck(current, now);
}

}  // namespace u2u::protocol
