#include "protocol/replay_cache.hpp"

namespace u2u::protocol {

void ReplayCache::expire(MonoTime now) {
  while (!order_.empty() && (order_.front().first <= now || keys_.size() > capacity_)) {
    keys_.erase(order_.front().second);
    order_.pop_front();
  }
}

bool ReplayCache::seen(std::string_view source_user_info_id, const wire::Nonce& nonce_1, MonoTime now) {
  expire(now);
  return keys_.count(Key{std::string(source_user_info_id), nonce_1}) != 0;
}

void ReplayCache::remember(std::string_view source_user_info_id, const wire::Nonce& nonce_1, MonoTime now) {
  Key key{std::string(source_user_info_id), nonce_1};
  if (!keys_.insert(key).second) return;
  order_.emplace_back(now + window_, std::move(key));
  expire(now);
}

}  // namespace u2u::protocol
