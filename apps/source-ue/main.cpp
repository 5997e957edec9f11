// source-ue: the source UE daemon (seed steps 1 and 8).
#include <functional>

#include <boost/asio/post.hpp>

#include "daemon/data_plane.hpp"
#include "daemon/peer_names.hpp"
#include "daemon/service.hpp"

namespace {

using namespace u2u;

const daemon::FlagSpec kSpec{"source-ue",
                             "Source UE: establishes an authenticated link to a target UE through a UE-to-UE relay\n"
                             "(3GPP TR 33.740 Key Issue #2, steps 1 and 8) and logs link_established with the KD IDs.",
                             true};

}  // namespace

// The source's configuration for the protocol core.
protocol::SourceConfig source_config(protocol::LocalParty self, const config::SourceFile& file, const Endpoint& relay) {
  return protocol::SourceConfig{
      .self = std::move(self),
      .relay_user_info_id = file.relay_user_info_id,
      .relay_layer2_id = file.relay_layer2_id,
      .relay_endpoint = relay,
      .target_user_info_id = file.target_user_info_id,
      .target_layer2_id = file.target_layer2_id,
      .t5080 = {file.t5080, file.max_tries, 2, protocol::kJitterPercent, file.t5080_max},
      .keepalive_interval = file.keepalive_interval,
      .t5085 = {file.keepalive_timeout, file.keepalive_max_tries, 1, protocol::kJitterPercent},
      .forward_secrecy = file.forward_secrecy,
      .max_link_lifetime = file.link_max_lifetime,
      .data_suites = file.data.algorithms,
      .rekeying = {file.data.rekey_after, {file.t5080, file.max_tries, 2, protocol::kJitterPercent, file.t5080_max}}};
}

int main(int argc, char** argv) {
  auto prepared = daemon::prepare(kSpec, argc, argv, &config::load_source, crypto::Role::kUe);
  if (const int* exit_code = std::get_if<int>(&prepared)) return *exit_code;
  auto& [options, file, self, listen, warnings] = std::get<0>(prepared);
  Endpoint relay_endpoint;
  std::optional<config::PeerAddress> relay_host;  // relay.address a host name
  if (!file.relay_user_info_id.empty()) {
    auto relay = config::peer_address(file.relay, file.common.file, "relay");
    if (!relay) return daemon::config_error(kSpec, relay.error());
    if (relay->endpoint) {
      relay_endpoint = *relay->endpoint;
    } else {
      relay_host = std::move(relay).value();
    }
  }
  std::optional<protocol::SourceDiscovery> discovery;
  if (file.discovery) {
    auto d = config::discovery_config(*file.discovery, file.common.file, listen.port);
    if (!d) return daemon::config_error(kSpec, d.error());
    discovery.emplace(self, std::move(d).value(), file.target_user_info_id, file.discovery->model,
                      file.discovery->selection, file.discovery->preference);
  }
  daemon::data_warnings(file.data, warnings);
  if (options.check_config) return daemon::config_ok(kSpec, file.common.file, warnings);

  protocol::SourceUe source(source_config(std::move(self), file, relay_endpoint));
  daemon::Service service(kSpec, options, file.common);
  if (auto s = service.bind(source, listen); !s) return daemon::config_error(kSpec, s.error());
  if (discovery) {
    if (auto s = service.bind_discovery(*discovery, *file.discovery); !s) return daemon::config_error(kSpec, s.error());
  }
  // The user data the link carries (data:), once the target has acknowledged the LINK CONFIRM.
  std::optional<daemon::DataPlane> data_plane;
  if (auto s = daemon::start_data_plane(data_plane, service.io(), service.runner(), service.log(), file.data,
                                        file.common.file, dataplane::kDirectionFromSource, file.common.layer2_id);
      !s) {
    return daemon::config_error(kSpec, s.error());
  }
  if (data_plane) service.every(file.data.link_stats_interval, [&] { data_plane->log_link_stats(); });
  if (auto* m = service.metrics()) {
    m->gauges([&] { return source.state() == protocol::SourceUe::State::kAwaitingAccept ? 1.0 : 0.0; },
              [&] { return source.state() == protocol::SourceUe::State::kEstablished ? 1.0 : 0.0; });
    if (data_plane) daemon::observe_data_plane(*m, *data_plane);
  }
  service.started(warnings, protocol::event(protocol::Level::kInfo, "started")
                                .with("relay", discovery ? std::string("(discovery)") : file.relay_user_info_id)
                                .with("target", file.target_user_info_id)
                                .with("mode", options.once ? "once" : "daemon")
                                .with("forward_secrecy", file.forward_secrecy ? "on" : "off"));

  // --once: a link up at both ends (the target acknowledged the LINK CONFIRM), released again, exits 0; any
  // failure exits 1. Otherwise the link is kept: a failed handshake is tried again after retry_interval_ms, a
  // lost link (keep-alive) at once; SIGTERM releases the link before the daemon stops. With discovery, each
  // handshake goes through the selected relay, and a failed or lost link makes discovery select another.
  const bool once = options.once;
  bool stopping = false;
  int result = daemon::kExitOk;
  boost::asio::steady_timer retry(service.io());
  const auto now = [] { return Now::read(); };
  const auto start = [&] {
    if (data_plane) data_plane->all_down("a new handshake");
    service.runner().dispatch(source.start(now()));
  };
  // A relay named by host name is resolved before each handshake: a relay that comes back at another address (a
  // container replaced elsewhere) is reached there. Until its name first resolves, the handshake waits.
  daemon::PeerNames relay_name(service.log(), daemon::PeerNames::system(service.io()), listen.v6);
  if (relay_host) relay_name.add("relay", relay_host->host, relay_host->port);
  std::function<void()> begin;
  const auto begin_after = [&](Millis wait) {
    retry.expires_after(wait);
    retry.async_wait([&](boost::system::error_code ec) {
      if (!ec) begin();
    });
  };
  begin = [&] {
    if (stopping) return;
    if (discovery) {
      const auto& selected = discovery->selected();
      if (!selected) return;  // wait for relay_selected
      source.select_relay(selected->user_info_id, selected->layer2_id, selected->endpoint, selected->target_layer2_id);
    }
    if (relay_name.size() == 0) return start();
    relay_name.refresh({}, [&] {
      if (stopping) return;
      if (!relay_name.endpoint(0)) {  // peer_unresolved says why
        if (once) return service.stop(daemon::kExitFailure);
        return begin_after(file.retry_interval);
      }
      source.select_relay(file.relay_user_info_id, file.relay_layer2_id, *relay_name.endpoint(0),
                          source.config().target_layer2_id);
      start();
    });
  };
  const auto release_and_stop = [&](int exit_code) {
    result = exit_code;
    stopping = true;
    if (source.state() == protocol::SourceUe::State::kEstablished) {
      service.runner().dispatch(source.release(now()));
    } else {
      service.stop(result);
    }
  };
  service.runner().set_event_hook([&](const protocol::Event& e) {
    service.record_keys(e, source.keys());
    if (data_plane && e.name == "link_confirmed" && source.keys() != nullptr) {
      data_plane->link_up(daemon::event_text(e, "session"), *source.link_digest(), *source.keys(),
                          source.config().relay_endpoint, source.config().relay_layer2_id);
    }
    if (data_plane && e.name == "rekey_answered" && source.next_keys() != nullptr) {
      data_plane->rekey_next(daemon::event_text(e, "session"), *source.next_keys());
    }
    if (data_plane && e.name == "rekeyed" && source.keys() != nullptr) {
      data_plane->rekeyed(daemon::event_text(e, "session"), *source.keys());
    }
    if (data_plane && (e.name == "link_lost" || e.name == "link_released")) {
      data_plane->link_down(daemon::event_text(e, "session"), e.name);
    }
    if (e.name == "link_confirmed" && once) return release_and_stop(daemon::kExitOk);
    if (e.name == "link_released" && stopping) return service.stop(result);
    if (e.name != "link_failed" && e.name != "link_lost") return;
    if (once || stopping) return service.stop(stopping ? result : daemon::kExitFailure);
    if (discovery) {
      // Tell discovery, which avoids that relay for a while; a new selection (relay_selected) begins again.
      const std::string relay = source.config().relay_user_info_id;
      const auto* reason = e.find("reason");
      boost::asio::post(service.io(), [&, relay, why = reason ? std::get<std::string>(*reason) : e.name] {
        service.discovery_runner()->dispatch(discovery->relay_failed(relay, why, now()));
        if (discovery->selected())
          begin_after(discovery->selected()->user_info_id == relay ? file.retry_interval : Millis(0));
      });
      return;
    }
    begin_after(e.name == "link_lost" ? Millis(0) : file.retry_interval);
  });
  if (discovery) {
    service.discovery_runner()->set_event_hook([&](const protocol::Event& e) {
      if (e.name != "relay_selected") return;
      // A relay (newly) selected: a handshake through it, unless the link already goes through it.
      const bool linked_through_it = source.state() == protocol::SourceUe::State::kEstablished &&
                                     source.config().relay_user_info_id == discovery->selected()->user_info_id;
      if (!linked_through_it) boost::asio::post(service.io(), begin);
    });
  }
  if (data_plane) {
    // COUNT exhausted under this KD-sess: a new handshake gives new keys (rekeying will do this without one).
    data_plane->on_exhausted([&](const std::string&) {
      if (!once && !stopping) begin_after(Millis(0));
    });
    data_plane->on_rekey_wanted([&](const std::string&, const std::string& trigger) {
      service.runner().dispatch(source.rekey(trigger, now()));
    });
  }
  service.on_rekey_request([&] { service.runner().dispatch(source.rekey("signal", now())); });
  service.on_shutdown([&] { release_and_stop(result); });
  service.on_reload([&]() -> Status {
    std::vector<std::string> reload_warnings;
    auto party = config::load_party(file.common, crypto::Role::kUe, now().wall, reload_warnings);
    if (!party) return party.error();
    if (discovery) discovery->reload(*party);
    source.reload(std::move(party).value());
    boost::asio::post(service.io(), [&] { service.runner().dispatch(source.recheck(now())); });
    return {};
  });
  if (!discovery) begin();
  return service.run();
}
