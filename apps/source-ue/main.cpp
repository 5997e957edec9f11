// source-ue: the source UE daemon (seed steps 1 and 8).
#include "daemon/service.hpp"

namespace {

using namespace u2u;

const daemon::FlagSpec kSpec{"source-ue",
                             "Source UE: establishes an authenticated link to a target UE through a UE-to-UE relay\n"
                             "(3GPP TR 33.740 Key Issue #2, steps 1 and 8) and logs link_established with the KD IDs.",
                             true};

}  // namespace

int main(int argc, char** argv) {
  auto prepared = daemon::prepare(kSpec, argc, argv, &config::load_source, crypto::Role::kUe);
  if (const int* exit_code = std::get_if<int>(&prepared)) return *exit_code;
  auto& [options, file, self, listen, warnings] = std::get<0>(prepared);
  auto relay = config::resolve(file.relay, file.common.file, "relay");
  if (!relay) return daemon::config_error(kSpec, relay.error());
  if (options.check_config) return daemon::config_ok(kSpec, file.common.file, warnings);

  protocol::SourceUe source(protocol::SourceConfig{.self = std::move(self),
                                                   .relay_user_info_id = file.relay_user_info_id,
                                                   .relay_layer2_id = file.relay_layer2_id,
                                                   .relay_endpoint = *relay,
                                                   .target_user_info_id = file.target_user_info_id,
                                                   .target_layer2_id = file.target_layer2_id,
                                                   .handshake_timeout = file.handshake_timeout,
                                                   .forward_secrecy = file.forward_secrecy});
  daemon::Service service(kSpec, options, file.common);
  if (auto s = service.bind(source, listen); !s) return daemon::config_error(kSpec, s.error());
  service.started(warnings, protocol::event(protocol::Level::kInfo, "started")
                                .with("relay", file.relay_user_info_id)
                                .with("relay_address", relay->to_string())
                                .with("target", file.target_user_info_id)
                                .with("mode", options.once ? "once" : "daemon")
                                .with("forward_secrecy", file.forward_secrecy ? "on" : "off"));

  // With --once the first result decides the exit code; otherwise a failed attempt is retried.
  boost::asio::steady_timer retry(service.io());
  const bool once = options.once;
  const Millis retry_interval = file.retry_interval;
  service.runner().set_event_hook([&](const protocol::Event& e) {
    service.record_keys(e, source.keys());
    if (e.name == "link_established" && once) service.stop(daemon::kExitOk);
    if (e.name != "link_failed") return;
    if (once) {
      service.stop(daemon::kExitFailure);
      return;
    }
    retry.expires_after(retry_interval);
    retry.async_wait([&](boost::system::error_code ec) {
      if (!ec) service.runner().dispatch(source.start(Now::read()));
    });
  });
  service.runner().dispatch(source.start(Now::read()));
  return service.run();
}
