#pragma once
// What the three daemons share around their protocol node: flags, config errors, the event log, the UDP
// runner, SIGINT/SIGTERM, and the exit code. apps/<program>/main.cpp wires a role's node into this.
#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <variant>

#include "config/config.hpp"
#include "daemon/cli.hpp"
#include "logging/key_log.hpp"
#include "metrics/daemon_metrics.hpp"
#include "metrics/http_server.hpp"
#include "protocol/key_schedule.hpp"
#include "transport/udp_runner.hpp"
#include "transport/worker_pool.hpp"

namespace u2u::daemon {

// Options to run with, or the exit code when the command line was --help, --version or wrong.
std::variant<Options, int> command_line(const FlagSpec& spec, int argc, char** argv);

// Prints "program: reason" to stderr and gives exit code 2 (0 when a signal stopped the daemon before it started).
int config_error(const FlagSpec& spec, const Error& error);
// --check-config success: prints the file, OK, and each warning; exit code 0.
int config_ok(const FlagSpec& spec, const std::string& file, const std::vector<std::string>& warnings);
// The warnings a data: section deserves (the null cipher allowed).
void data_warnings(const config::DataFile& data, std::vector<std::string>& warnings);
// A text field of an event, or "".
std::string event_text(const protocol::Event& e, std::string_view key);

// A daemon's configuration, loaded and cross-checked: flags, the file, its own credentials, its socket address.
template <class File>
struct Prepared {
  Options options;
  File file;
  protocol::LocalParty self;
  Endpoint listen;
  std::vector<std::string> warnings;
};

// Flags, config file and credentials for `role`; the exit code instead when the program should stop here.
template <class File>
std::variant<Prepared<File>, int> prepare(const FlagSpec& spec, int argc, char** argv,
                                          Result<File> (*load)(const std::string&), crypto::Role role) {
  auto parsed = command_line(spec, argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  auto options = std::get<Options>(std::move(parsed));
  auto file = load(options.config);
  if (!file) return config_error(spec, file.error());
  std::vector<std::string> warnings;
  auto self = config::load_party(file->common, role, Now::read().wall, warnings);
  if (!self) return config_error(spec, self.error());
  auto listen = config::resolve(file->common.listen, file->common.file, "listen");
  if (!listen) return config_error(spec, listen.error());
  if (file->common.metrics) {
    auto metrics = config::resolve(*file->common.metrics, file->common.file, "metrics.listen");
    if (!metrics) return config_error(spec, metrics.error());
  }
  if (options.check_config && !transport::address_on_host(*listen))
    warnings.push_back("listen: " + listen->to_string() +
                       " is not an address of this host now: the daemon will wait for it (waiting_for_address)");
  return Prepared<File>{std::move(options), std::move(file).value(), std::move(self).value(), *listen,
                        std::move(warnings)};
}

class Service {
 public:
  Service(const FlagSpec& spec, const Options& options, const config::Common& common);
  ~Service();

  logging::EventLog& log() { return *log_; }
  boost::asio::io_context& io() { return io_; }
  transport::UdpRunner& runner() { return *runner_; }
  // With metrics.listen: the daemon's metrics (fed by every event of its log), to add what is read at scrape time
  // to; nullptr otherwise. The endpoint listens from bind() on.
  metrics::DaemonMetrics* metrics() { return metrics_.get(); }

  // Binds the node's socket; on failure the error names the config file and its listen key (exit 2). An address
  // not on this host yet is waited for (waiting_for_address), until it appears or a signal stops the daemon.
  Status bind(protocol::Node& node, const Endpoint& listen);
  // The discovery socket (a second one), for a discovery agent; the error names the config's discovery keys.
  Status bind_discovery(protocol::Node& node, const config::DiscoveryFile& discovery);
  transport::UdpRunner* discovery_runner() { return discovery_runner_.get(); }
  // The node's signature work on `workers` threads (nullopt: one per core; 0: on the I/O thread), at most
  // kJobsPerWorker new handshakes per thread at once. After bind(); returns the number of threads.
  std::size_t use_workers(protocol::Node& node, std::optional<std::size_t> workers);
  // Logs "started" (and each credential warning) once the socket is bound and the credentials are loaded.
  void started(const std::vector<std::string>& warnings, protocol::Event details);
  void stop(int exit_code);
  // SIGINT/SIGTERM: without a hook, stop at once; with one, the hook runs (and must call stop() in time); a
  // second signal stops at once.
  void on_shutdown(std::function<void()> hook) { shutdown_ = std::move(hook); }
  // SIGHUP: the hook reloads credentials and trust; its error is logged and the old ones stay.
  void on_reload(std::function<Status()> hook) { reload_ = std::move(hook); }
  // SIGUSR1: the hook starts a rekeying of every link (docs/protocol.md 12); without one (relay-ue) the signal is
  // logged and ignored (never the default action, which would end the daemon).
  void on_rekey_request(std::function<void()> hook) { rekey_request_ = std::move(hook); }
  // Adds the daemon's table sizes to the "stopping" event, so that a log shows what it held at the end.
  void on_status(std::function<void(protocol::Event&)> hook) { status_ = std::move(hook); }
  // With log.key_log_file: appends the link's KD-sess to the key log (link_established and rekeyed events only).
  void record_keys(const protocol::Event& established, const protocol::SessionKeys* keys);
  // Calls `tick` every `interval` from run() on (link_stats); a zero interval: never.
  void every(Millis interval, std::function<void()> tick);
  // Runs until stop() or SIGINT/SIGTERM; returns the exit code.
  int run();

 private:
  void wait_for_hangup();
  void wait_for_rekey_request();
  Status bind_when_available(transport::UdpRunner& runner, const Endpoint& local, bool shared, const std::string& key);
  FlagSpec spec_;
  config::Common common_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;
  boost::asio::signal_set rekey_signal_;
  std::function<void()> shutdown_;
  std::function<void()> rekey_request_;
  std::function<Status()> reload_;
  std::function<void(protocol::Event&)> status_;
  bool shutting_down_ = false;
  std::unique_ptr<metrics::DaemonMetrics> metrics_;  // before log_, whose observer it is
  std::unique_ptr<logging::EventLog> log_;
  std::unique_ptr<metrics::HttpServer> metrics_server_;
  std::unique_ptr<transport::UdpRunner> runner_;
  std::unique_ptr<transport::UdpRunner> discovery_runner_;
  std::unique_ptr<transport::WorkerPool> workers_;  // destroyed (joined) before the runners its jobs report to
  std::optional<logging::KeyLog> key_log_;
  struct Periodic;
  std::vector<std::unique_ptr<Periodic>> periodic_;
  int exit_code_ = kExitOk;
};

}  // namespace u2u::daemon
