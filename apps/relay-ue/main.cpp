// relay-ue: the UE-to-UE relay daemon (seed steps 2, 3, 6 and 7).
#include <boost/asio/post.hpp>

#include "daemon/peer_names.hpp"
#include "daemon/service.hpp"

namespace {

using namespace u2u;

const daemon::FlagSpec kSpec{
    "relay-ue",
    "UE-to-UE relay: verifies, countersigns and forwards the Direct Communication Request and Accept\n"
    "between source and target UEs (3GPP TR 33.740 Key Issue #2, steps 2, 3, 6 and 7).",
    false};

}  // namespace

int main(int argc, char** argv) {
  auto prepared = daemon::prepare(kSpec, argc, argv, &config::load_relay, crypto::Role::kRelay);
  if (const int* exit_code = std::get_if<int>(&prepared)) return *exit_code;
  auto& [options, file, self, listen, warnings] = std::get<0>(prepared);
  std::vector<protocol::RelayTarget> targets;
  std::vector<std::pair<std::size_t, config::PeerAddress>> named;  // targets given by host name: file.targets[first]
  for (std::size_t i = 0; i < file.targets.size(); ++i) {
    const auto& t = file.targets[i];
    const std::string key = "targets[" + std::to_string(i) + "]";
    auto peer = config::peer_address(t.endpoint, file.common.file, key);
    if (!peer) return daemon::config_error(kSpec, peer.error());
    if (peer->endpoint) {
      targets.push_back({t.user_info_id, t.layer2_id, *peer->endpoint});
    } else if (file.discovery) {
      return daemon::config_error(
          kSpec, make_error(Cause::kNone, "config",
                            file.common.file + ": " + key + ".address: \"" + peer->host +
                                "\" is a host name; with discovery, give the target's numeric address"));
    } else {
      named.emplace_back(i, std::move(peer).value());
    }
  }
  std::optional<protocol::DiscoveryConfig> discovery_config;
  if (file.discovery) {
    auto d = config::discovery_config(*file.discovery, file.common.file, listen.port);
    if (!d) return daemon::config_error(kSpec, d.error());
    discovery_config = std::move(d).value();
  }
  if (options.check_config) return daemon::config_ok(kSpec, file.common.file, warnings);

  // With discovery, the relay announces itself and the targets it reaches, and routes to discovered targets too.
  std::optional<protocol::RelayDiscovery> discovery;
  if (discovery_config) discovery.emplace(self, *discovery_config, targets);
  protocol::RelayUe relay(protocol::RelayConfig{
      .self = std::move(self),
      .targets = std::move(targets),
      .directory = discovery ? std::function<std::optional<protocol::RelayTarget>(std::string_view)>(
                                   [&discovery](std::string_view id) { return discovery->find(id); })
                             : nullptr,
      .max_pending = file.max_pending,
      .max_pending_per_source = file.max_pending_per_source,
      .max_pending_per_host = file.max_pending_per_host,
      .pending_timeout = file.pending_timeout,
      .max_links = file.max_links,
      .link_timeout = file.link_timeout,
      .max_link_lifetime = file.link_max_lifetime,
      .replay_window = file.replay_window,
      .replay_cache_size = file.replay_cache_size,
      .rate_limit_per_second = file.rate_limit_per_second,
      .rate_limit_burst = file.rate_limit_burst});
  daemon::Service service(kSpec, options, file.common);
  if (auto s = service.bind(relay, listen); !s) return daemon::config_error(kSpec, s.error());
  if (discovery) {
    if (auto s = service.bind_discovery(*discovery, *file.discovery); !s) return daemon::config_error(kSpec, s.error());
  }
  const std::size_t workers = service.use_workers(relay, file.workers);
  // Data PDUs (docs/protocol.md 11.5): routed by their link's label, forwarded unchanged but for the Layer-2 header.
  service.runner().set_data_handler([&](const Endpoint& from, std::span<std::uint8_t> d) -> std::optional<Endpoint> {
    const auto route = relay.route_data(from, d);
    if (!route.to) service.log().emit(protocol::dropped_event(route.drop_reason, from));
    return route.to;
  });
  if (auto* m = service.metrics()) {
    m->gauges([&] { return static_cast<double>(relay.pending_count()); },
              [&] { return static_cast<double>(relay.link_count()); });
    m->data_plane([&] {
      const auto& s = service.runner().data_stats();
      return metrics::DaemonMetrics::DataTotals{.packets_sent = static_cast<double>(s.forwarded),
                                                .packets_received = static_cast<double>(s.received)};
    });
    m->rekeyings_relayed([&] { return static_cast<double>(relay.rekeyings_relayed()); });
  }
  service.started(warnings, protocol::event(protocol::Level::kInfo, "started")
                                .with("targets", static_cast<std::int64_t>(file.targets.size()))
                                .with("max_pending", static_cast<std::int64_t>(file.max_pending))
                                .with("workers", static_cast<std::int64_t>(workers)));
  // Targets named by host name: resolved now and every kPeerResolveInterval; requests for one whose name never
  // resolved are refused (unknown_target) until it does.
  daemon::PeerNames names(service.log(), daemon::PeerNames::system(service.io()), listen.v6);
  for (const auto& [i, peer] : named) names.add("targets[" + std::to_string(i) + "]", peer.host, peer.port);
  const auto resolve_targets = [&] {
    names.refresh([&](std::size_t n) {
      const auto& t = file.targets[named[n].first];
      relay.set_target({t.user_info_id, t.layer2_id, *names.endpoint(n)});
    });
  };
  if (names.size() > 0) {
    resolve_targets();
    service.every(daemon::kPeerResolveInterval, resolve_targets);
  }
  service.every(file.link_stats_interval, [&] {
    for (auto& e : relay.link_stats()) service.log().emit(std::move(e));
  });
  service.on_status([&](protocol::Event& e) {
    e.with("pending", static_cast<std::int64_t>(relay.pending_count()))
        .with("links", static_cast<std::int64_t>(relay.link_count()))
        .with("released", static_cast<std::int64_t>(relay.released_count()));
  });
  service.on_reload([&]() -> Status {
    std::vector<std::string> reload_warnings;
    auto party = config::load_party(file.common, crypto::Role::kRelay, Now::read().wall, reload_warnings);
    if (!party) return party.error();
    if (discovery) discovery->reload(*party);
    relay.reload(std::move(party).value());
    boost::asio::post(service.io(), [&] { service.runner().dispatch(relay.recheck(Now::read())); });
    return {};
  });
  return service.run();
}
