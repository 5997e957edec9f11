// target-ue: the target UE daemon (seed steps 4 and 5).
#include <boost/asio/post.hpp>

#include "daemon/data_plane.hpp"
#include "daemon/service.hpp"

namespace {

using namespace u2u;

const daemon::FlagSpec kSpec{
    "target-ue",
    "Target UE: answers Direct Communication Requests that arrive through an authenticated UE-to-UE\n"
    "relay (3GPP TR 33.740 Key Issue #2, steps 4 and 5) and logs link_established with the KD IDs.",
    false};

}  // namespace

int main(int argc, char** argv) {
  auto prepared = daemon::prepare(kSpec, argc, argv, &config::load_target, crypto::Role::kUe);
  if (const int* exit_code = std::get_if<int>(&prepared)) return *exit_code;
  auto& [options, file, self, listen, warnings] = std::get<0>(prepared);
  std::optional<protocol::TargetDiscovery> discovery;
  if (file.discovery) {
    auto d = config::discovery_config(*file.discovery, file.common.file, listen.port);
    if (!d) return daemon::config_error(kSpec, d.error());
    discovery.emplace(self, std::move(d).value());
  }
  daemon::data_warnings(file.data, warnings);
  if (options.check_config) return daemon::config_ok(kSpec, file.common.file, warnings);

  protocol::RekeyingConfig rekeying;  // T5080's default schedule for its messages (docs/protocol.md 12.4)
  rekeying.after = file.data.rekey_after;
  protocol::TargetUe target(protocol::TargetConfig{.self = std::move(self),
                                                   .session_timeout = file.session_timeout,
                                                   .max_sessions = file.max_sessions,
                                                   .max_sessions_per_source = file.max_sessions_per_source,
                                                   .max_sessions_per_relay = file.max_sessions_per_relay,
                                                   .require_forward_secrecy = file.forward_secrecy,
                                                   .replay_window = file.replay_window,
                                                   .replay_cache_size = file.replay_cache_size,
                                                   .link_timeout = file.link_timeout,
                                                   .max_link_lifetime = file.link_max_lifetime,
                                                   .data_suites = file.data.algorithms,
                                                   .rekeying = rekeying});
  daemon::Service service(kSpec, options, file.common);
  if (auto s = service.bind(target, listen); !s) return daemon::config_error(kSpec, s.error());
  if (discovery) {
    if (auto s = service.bind_discovery(*discovery, *file.discovery); !s) return daemon::config_error(kSpec, s.error());
  }
  const std::size_t workers = service.use_workers(target, file.workers);
  // The user data the links carry (data:): every link receives; the TUN interface and the listening forwards send
  // on the link established last.
  std::optional<daemon::DataPlane> data_plane;
  if (auto s = daemon::start_data_plane(data_plane, service.io(), service.runner(), service.log(), file.data,
                                        file.common.file, dataplane::kDirectionFromTarget, file.common.layer2_id);
      !s) {
    return daemon::config_error(kSpec, s.error());
  }
  service.runner().set_event_hook([&](const protocol::Event& e) {
    const std::string session = daemon::event_text(e, "session");
    if (e.name == "link_established") {
      const std::string peer = daemon::event_text(e, "peer");
      service.record_keys(e, target.keys_for(peer));
      if (data_plane) {
        if (const auto link = target.link_of(peer)) {
          data_plane->link_up(session, link->digest, *link->keys, link->relay_endpoint, link->relay_layer2_id);
        }
      }
    } else if (data_plane && (e.name == "rekey_answered" || e.name == "rekeyed")) {
      const auto link = target.link_of(daemon::event_text(e, "peer"));
      if (!link || link->keys == nullptr) return;
      if (e.name == "rekeyed") {
        service.record_keys(e, link->keys);
        data_plane->rekeyed(session, *link->keys);
      } else if (link->next_keys != nullptr) {
        data_plane->rekey_next(session, *link->next_keys);
      }
    } else if (data_plane && (e.name == "link_released" || e.name == "link_expired" || e.name == "link_replaced" ||
                              e.name == "link_revoked")) {
      data_plane->link_down(session, e.name);
    }
  });
  if (data_plane) {
    service.every(file.data.link_stats_interval, [&] { data_plane->log_link_stats(); });
    // Rekeying (docs/protocol.md 12): by count for one link, and SIGUSR1 for every link.
    data_plane->on_rekey_wanted([&](const std::string& session, const std::string& trigger) {
      service.runner().dispatch(target.rekey(session, trigger, Now::read()));
    });
  }
  service.on_rekey_request([&] { service.runner().dispatch(target.rekey({}, "signal", Now::read())); });
  if (auto* m = service.metrics()) {
    m->gauges([&] { return static_cast<double>(target.session_count()); },
              [&] { return static_cast<double>(target.link_count()); });
    if (data_plane) daemon::observe_data_plane(*m, *data_plane);
  }
  service.started(warnings, protocol::event(protocol::Level::kInfo, "started")
                                .with("forward_secrecy", file.forward_secrecy ? "required" : "offered")
                                .with("workers", static_cast<std::int64_t>(workers)));
  service.on_status([&](protocol::Event& e) {
    e.with("sessions", static_cast<std::int64_t>(target.session_count()))
        .with("links", static_cast<std::int64_t>(target.link_count()))
        .with("released", static_cast<std::int64_t>(target.released_count()));
  });
  service.on_reload([&]() -> Status {
    std::vector<std::string> reload_warnings;
    auto party = config::load_party(file.common, crypto::Role::kUe, Now::read().wall, reload_warnings);
    if (!party) return party.error();
    if (discovery) discovery->reload(*party);
    target.reload(std::move(party).value());
    boost::asio::post(service.io(), [&] { service.runner().dispatch(target.recheck(Now::read())); });
    return {};
  });
  return service.run();
}
