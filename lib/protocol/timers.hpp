#pragma once
// Every time-based behaviour of the protocol core (docs/protocol.md section 7.2), after TS 24.554:
//   T5080  source: the wait before a DIRECT COMMUNICATION REQUEST (and a LINK CONFIRM, a RELEASE REQUEST) is
//          sent again, identical bytes; doubled after each try, with jitter; after the last try: failure.
//   T5084  source: keep-alive interval; a KEEPALIVE REQUEST when the link has been quiet that long.
//   T5085  source: the wait for the KEEPALIVE RESPONSE before the request is sent again; after the last try
//          the link is lost.
//   relay: pending_timeout (a forwarded request or an answered one awaiting confirmation), link_timeout (a
//          link not heard from).
//   target: session_timeout (an answered request awaiting LINK CONFIRM), link_timeout, release linger.
// The core reads no clock: every function takes the time, and next_deadline() tells the transport when to call.
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "common/bytes.hpp"
#include "common/endpoint.hpp"
#include "common/time.hpp"
#include "protocol/node.hpp"

namespace u2u::protocol {

struct RetransmitPolicy {
  Millis initial{500};
  unsigned max_tries = 8;
  unsigned backoff = 2;          // the wait is multiplied by this after each try (1: a fixed wait, as T5085)
  unsigned jitter_percent = 20;  // each wait is drawn uniformly within +-jitter_percent
  Millis max_wait{2000};         // the wait stops growing here
};

// When a message is sent again: T5080's schedule (the wait multiplied after each try, up to a maximum, with jitter),
// without the message itself, for callers that hold the bytes elsewhere (the relay's routes, issue 13).
class RetransmitSchedule {
 public:
  enum class Tick { kNothing, kResend, kExhausted };

  // The first try is being sent now.
  void start(MonoTime now, const RetransmitPolicy& policy, const RandomSource& random);
  void stop() { active_ = false; }
  bool active() const { return active_; }
  std::optional<MonoTime> deadline() const { return active_ ? std::optional<MonoTime>(deadline_) : std::nullopt; }
  // At or after the deadline: kResend (send the message again) or, after the last try's wait, kExhausted.
  Tick on_timer(MonoTime now, const RandomSource& random);
  unsigned tries() const { return tries_; }

 private:
  MonoTime jittered(MonoTime now, Millis wait, const RandomSource& random) const;

  RetransmitPolicy policy_;
  Millis wait_{};
  MonoTime deadline_{};
  unsigned tries_ = 0;
  bool active_ = false;
};

// One message that is sent again until it is answered or the tries run out.
class Retransmission {
 public:
  using Tick = RetransmitSchedule::Tick;

  // The first try: the caller sends `datagram` now.
  void start(Endpoint to, Bytes datagram, MonoTime now, const RetransmitPolicy& policy, const RandomSource& random) {
    to_ = to;
    datagram_ = std::move(datagram);
    schedule_.start(now, policy, random);
  }
  void stop() { schedule_.stop(); }
  bool active() const { return schedule_.active(); }
  std::optional<MonoTime> deadline() const { return schedule_.deadline(); }
  Tick on_timer(MonoTime now, const RandomSource& random) { return schedule_.on_timer(now, random); }
  Outbound outbound() const { return {to_, datagram_}; }
  unsigned tries() const { return schedule_.tries(); }

 private:
  Endpoint to_;
  Bytes datagram_;
  RetransmitSchedule schedule_;
};

// Deadlines by key: each key has at most one; the earliest comes first.
template <class Key>
class DeadlineQueue {
 public:
  void schedule(const Key& key, MonoTime at) {
    cancel(key);
    by_key_.emplace(key, at);
    by_time_.emplace(at, key);
  }
  void cancel(const Key& key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    by_time_.erase({it->second, key});
    by_key_.erase(it);
  }
  std::optional<MonoTime> next() const {
    if (by_time_.empty()) return std::nullopt;
    return by_time_.begin()->first;
  }
  // Removes and returns the first key due at `now`, if any.
  std::optional<Key> pop_due(MonoTime now) {
    if (by_time_.empty() || by_time_.begin()->first > now) return std::nullopt;
    const Key key = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    by_key_.erase(key);
    return key;
  }
  std::size_t size() const { return by_key_.size(); }

 private:
  std::map<Key, MonoTime> by_key_;
  std::set<std::pair<MonoTime, Key>> by_time_;
};

// The host an address belongs to, as the rate limits and per-address quotas count senders: an IPv4 address (also
// when it arrives IPv4-mapped on a dual-stack socket), or the /64 of an IPv6 address; never the port, so that one
// host's many sockets are one sender.
Endpoint sender_host(const Endpoint& sender);

// A token bucket per sending host (sender_host()), for the relay's limit on new requests (checked before any
// signature). Bounded: a sender idle long enough for its bucket to refill is forgotten (a full bucket and none decide
// the same), so the table holds only the senders of the last burst/per_second seconds; and when it tracks `capacity`
// senders, the one idle longest is forgotten.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst, std::size_t capacity)
      : per_second_(per_second), burst_(burst), capacity_(capacity) {}
  bool admit(const Endpoint& sender, MonoTime now);
  std::size_t senders() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    MonoTime refilled{};
  };
  double per_second_;
  double burst_;
  std::size_t capacity_;
  std::map<Endpoint, Bucket> buckets_;
  DeadlineQueue<Endpoint> idle_;  // last use, for forgetting the idlest
};

}  // namespace u2u::protocol
