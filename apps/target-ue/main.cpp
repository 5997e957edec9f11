// target-ue: the target UE daemon (seed steps 4 and 5).
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
  if (options.check_config) return daemon::config_ok(kSpec, file.common.file, warnings);

  protocol::TargetUe target(protocol::TargetConfig{
      .self = std::move(self), .session_timeout = file.session_timeout, .max_sessions = file.max_sessions});
  daemon::Service service(kSpec, options, file.common);
  if (auto s = service.bind(target, listen); !s) return daemon::config_error(kSpec, s.error());
  service.started(warnings, protocol::event(protocol::Level::kInfo, "started"));
  return service.run();
}
