#include "unit/harness.hpp"

#include <deque>
#include <stdexcept>

namespace u2u::test {

void InMemoryNetwork::deliver(const Endpoint& from, const std::string& role, protocol::Output out, const Now& now) {
  struct Item {
    Endpoint from;  // the node whose output this is
    std::string role;
    protocol::Output out;
    std::optional<protocol::Job> job;  // a job of that node, run when its turn comes
  };
  std::deque<Item> queue;
  queue.push_back({from, role, std::move(out), std::nullopt});
  int budget = 1000;
  while (!queue.empty() && budget-- > 0) {
    Item item = std::move(queue.front());
    queue.pop_front();
    if (item.job) {
      // The node's signature work, as a worker would run it, after what was queued before it: then its step goes on.
      item.job->run();
      ++jobs_run;
      const auto node = nodes_.find(item.from);
      if (node == nodes_.end()) continue;
      item.out = node->second.second->on_job_done(item.job->id, now);
    }
    for (auto& e : item.out.events) log.push_back({item.role, std::move(e)});
    for (auto& job : item.out.jobs) queue.push_back({item.from, item.role, {}, std::move(job)});
    for (auto& send : item.out.send) {
      InFlight flight{item.from, send.to, std::move(send.datagram)};
      if (on_flight && !on_flight(flight)) continue;
      auto it = nodes_.find(flight.to);
      if (it == nodes_.end()) continue;
      const int copies = 1 + (extra_copies ? extra_copies(flight) : 0);
      for (int c = 0; c < copies; ++c) {
        wire_log.push_back(flight);
        queue.push_back({flight.to, it->second.first, it->second.second->on_datagram(flight.from, flight.datagram, now),
                         std::nullopt});
      }
    }
  }
  if (budget <= 0) throw std::runtime_error("datagram storm in the in-memory network");
}

std::vector<protocol::Event> InMemoryNetwork::events(std::string_view role, std::string_view name) const {
  std::vector<protocol::Event> out;
  for (const auto& l : log) {
    if (l.role == role && l.event.name == name) out.push_back(l.event);
  }
  return out;
}

protocol::SourceConfig source_config(protocol::LocalParty self) {
  return protocol::SourceConfig{.self = std::move(self),
                                .relay_user_info_id = "relay-ue",
                                .relay_layer2_id = kRelayL2,
                                .relay_endpoint = kRelayEndpoint,
                                .target_user_info_id = "target-ue",
                                .target_layer2_id = kTargetL2,
                                .rekeying = {}};
}

protocol::RelayConfig relay_config(protocol::LocalParty self) {
  return protocol::RelayConfig{
      .self = std::move(self), .targets = {{"target-ue", kTargetL2, kTargetEndpoint}}, .directory = nullptr};
}

protocol::TargetConfig target_config(protocol::LocalParty self) {
  return protocol::TargetConfig{.self = std::move(self), .rekeying = {}};
}

Testbed::Testbed(const TestPki& pki)
    : Testbed(pki.party("source-ue", crypto::Role::kUe, kSourceL2),
              pki.party("relay-ue", crypto::Role::kRelay, kRelayL2),
              pki.party("target-ue", crypto::Role::kUe, kTargetL2)) {}

Testbed::Testbed(protocol::LocalParty s, protocol::LocalParty r, protocol::LocalParty t)
    : Testbed(source_config(std::move(s)), relay_config(std::move(r)), target_config(std::move(t))) {}

Testbed::Testbed(protocol::SourceConfig s, protocol::RelayConfig r, protocol::TargetConfig t)
    : source(std::move(s)), relay(std::move(r)), target(std::move(t)) {
  net.attach(kSourceEndpoint, "source-ue", source);
  net.attach(kRelayEndpoint, "relay-ue", relay);
  net.attach(kTargetEndpoint, "target-ue", target);
}

void Testbed::run(const Now& now) { net.deliver(kSourceEndpoint, "source-ue", source.start(now), now); }

Now Testbed::fire_timers(const Now& until) {
  struct Party {
    const Endpoint* at;
    const char* role;
    protocol::Node* node;
  };
  const Party parties[] = {{&kSourceEndpoint, "source-ue", &source},
                           {&kRelayEndpoint, "relay-ue", &relay},
                           {&kTargetEndpoint, "target-ue", &target}};
  Now now = until;
  for (int budget = 100000; budget > 0; --budget) {
    const Party* next = nullptr;
    MonoTime when = until.mono;
    for (const auto& p : parties) {
      const auto d = p.node->next_deadline();
      if (d && *d <= when) {
        when = *d;
        next = &p;
      }
    }
    if (next == nullptr) return now;
    now = Now{when, until.wall - (until.mono - when)};
    net.deliver(*next->at, next->role, next->node->on_timer(now), now);
  }
  throw std::runtime_error("timers keep firing: a deadline does not move forward");
}

Now later(const Now& now, std::chrono::milliseconds by) { return Now{now.mono + by, now.wall + by}; }

std::string str(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  if (v == nullptr || !std::holds_alternative<std::string>(*v)) return "<missing " + std::string(key) + ">";
  return std::get<std::string>(*v);
}

std::int64_t num(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  if (v == nullptr || !std::holds_alternative<std::int64_t>(*v)) return -1;
  return std::get<std::int64_t>(*v);
}

std::vector<std::string> checks(const protocol::Output& out) {
  std::vector<std::string> names;
  for (const auto& e : out.events) {
    if (e.name == "check_failed") names.push_back(str(e, "check"));
  }
  return names;
}

std::optional<Cause> rejected_with(const protocol::Output& out) {
  for (const auto& s : out.send) {
    auto d = wire::decode_datagram(s.datagram);
    if (d && d->message.type() == wire::MessageType::kDirectCommunicationReject) {
      return std::get<wire::DirectCommunicationReject>(d->message.body).cause;
    }
  }
  return std::nullopt;
}

}  // namespace u2u::test
