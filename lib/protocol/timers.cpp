#include "protocol/timers.hpp"

#include <algorithm>

namespace u2u::protocol {

MonoTime RetransmitSchedule::jittered(MonoTime now, Millis wait, const RandomSource& random) const {
  if (policy_.jitter_percent == 0) return now + wait;
  std::array<std::uint8_t, 2> r{};
  random(r);
  const double unit = static_cast<double>((r[0] << 8) | r[1]) / 65535.0;  // [0, 1]
  const double factor = 1.0 + (2.0 * unit - 1.0) * policy_.jitter_percent / 100.0;
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double, std::milli>(static_cast<double>(wait.count()) * factor));
}

void RetransmitSchedule::start(MonoTime now, const RetransmitPolicy& policy, const RandomSource& random) {
  policy_ = policy;
  wait_ = policy.initial;
  tries_ = 1;
  active_ = true;
  deadline_ = jittered(now, wait_, random);
}

RetransmitSchedule::Tick RetransmitSchedule::on_timer(MonoTime now, const RandomSource& random) {
  if (!active_ || now < deadline_) return Tick::kNothing;
  if (tries_ >= policy_.max_tries) {
    active_ = false;
    return Tick::kExhausted;
  }
  ++tries_;
  wait_ = std::min(wait_ * std::max(1u, policy_.backoff), std::max(policy_.max_wait, policy_.initial));
  deadline_ = jittered(now, wait_, random);
  return Tick::kResend;
}

Endpoint sender_host(const Endpoint& sender) {
  constexpr std::array<std::uint8_t, 12> kV4Mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  Endpoint host;
  if (sender.v6 && std::equal(kV4Mapped.begin(), kV4Mapped.end(), sender.address.begin())) {
    std::copy_n(sender.address.begin() + 12, 4, host.address.begin());  // ::ffff:a.b.c.d is the IPv4 host a.b.c.d
  } else if (sender.v6) {
    host.v6 = true;
    std::copy_n(sender.address.begin(), 8, host.address.begin());  // the /64: one host's SLAAC and privacy addresses
  } else {
    std::copy_n(sender.address.begin(), 4, host.address.begin());
  }
  return host;
}

bool RateLimiter::admit(const Endpoint& from, MonoTime now) {
  const Endpoint sender = sender_host(from);
  const auto refill_time =
      std::chrono::duration_cast<MonoTime::duration>(std::chrono::duration<double>(burst_ / per_second_));
  while (auto refilled = idle_.pop_due(now - refill_time)) buckets_.erase(*refilled);
  auto it = buckets_.find(sender);
  if (it == buckets_.end()) {
    if (buckets_.size() >= capacity_) {
      if (auto idlest = idle_.pop_due(MonoTime::max())) buckets_.erase(*idlest);
    }
    it = buckets_.emplace(sender, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * per_second_);
  b.refilled = now;
  idle_.schedule(sender, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace u2u::protocol
