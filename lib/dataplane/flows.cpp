#include "dataplane/flows.hpp"

namespace u2u::dataplane {

std::optional<std::uint16_t> ListenFlows::flow_of(const Endpoint& client, MonoTime now) {
  if (auto it = by_client_.find(client); it != by_client_.end()) {
    by_flow_[it->second].used = now;
    return it->second;
  }
  if (by_flow_.size() >= capacity_) {
    expire(now);
    if (by_flow_.size() >= capacity_) return std::nullopt;
  }
  // The next ID not in use: IDs are reused only after 65,535 others, so a late answer rarely meets a new client.
  while (by_flow_.count(next_) != 0 || next_ == 0) ++next_;
  const std::uint16_t flow = next_++;
  by_flow_[flow] = {client, now};
  by_client_[client] = flow;
  return flow;
}

std::optional<Endpoint> ListenFlows::client_of(std::uint16_t flow, MonoTime now) {
  auto it = by_flow_.find(flow);
  if (it == by_flow_.end()) return std::nullopt;
  it->second.used = now;
  return it->second.client;
}

void ListenFlows::expire(MonoTime now) {
  for (auto it = by_flow_.begin(); it != by_flow_.end();) {
    if (now - it->second.used > idle_) {
      by_client_.erase(it->second.client);
      it = by_flow_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace u2u::dataplane
