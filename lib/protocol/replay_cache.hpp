#pragma once
// Replay refusal before the expensive work: the (source User Info ID, Nonce_1) pairs of requests whose
// signatures verified, remembered for a window. Bounded: when full, the oldest pair is forgotten first (a
// request replayed after that still cannot complete: it never yields the source's key confirmation).
#include <deque>
#include <set>
#include <string>
#include <utility>

#include "common/time.hpp"
#include "wire/messages.hpp"

namespace u2u::protocol {

class ReplayCache {
 public:
  ReplayCache(Millis window, std::size_t capacity) : window_(window), capacity_(capacity) {}

  bool seen(std::string_view source_user_info_id, const wire::Nonce& nonce_1, MonoTime now);
  void remember(std::string_view source_user_info_id, const wire::Nonce& nonce_1, MonoTime now);
  std::size_t size() const { return keys_.size(); }

 private:
  using Key = std::pair<std::string, wire::Nonce>;
  void expire(MonoTime now);

  Millis window_;
  std::size_t capacity_;
  std::set<Key, std::less<>> keys_;
  std::deque<std::pair<MonoTime, Key>> order_;  // one window for all: insertion order is expiry order
};

}  // namespace u2u::protocol
