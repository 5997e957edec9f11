#pragma once
// What the three daemons share around their protocol node: flags, config errors, the event log, the UDP
// runner, SIGINT/SIGTERM, and the exit code. apps/<program>/main.cpp wires a role's node into this.
#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <memory>
#include <variant>

#include "config/config.hpp"
#include "daemon/cli.hpp"
#include "transport/udp_runner.hpp"

namespace u2u::daemon {

// Options to run with, or the exit code when the command line was --help, --version or wrong.
std::variant<Options, int> command_line(const FlagSpec& spec, int argc, char** argv);

// Prints "program: reason" to stderr and gives exit code 2.
int config_error(const FlagSpec& spec, const Error& error);
// --check-config success: prints the file, OK, and each warning; exit code 0.
int config_ok(const FlagSpec& spec, const std::string& file, const std::vector<std::string>& warnings);

class Service {
 public:
  Service(const FlagSpec& spec, const Options& options, const config::Common& common);

  logging::EventLog& log() { return *log_; }
  boost::asio::io_context& io() { return io_; }
  transport::UdpRunner& runner() { return *runner_; }

  // Binds the node's socket; on failure the error names the config file and its listen key (exit 2).
  Status bind(protocol::Node& node, const Endpoint& listen);
  // Logs "started" (and each credential warning) once the socket is bound and the credentials are loaded.
  void started(const std::vector<std::string>& warnings, protocol::Event details);
  void stop(int exit_code);
  // Runs until stop() or SIGINT/SIGTERM; returns the exit code.
  int run();

 private:
  FlagSpec spec_;
  config::Common common_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  std::unique_ptr<logging::EventLog> log_;
  std::unique_ptr<transport::UdpRunner> runner_;
  int exit_code_ = kExitOk;
};

}  // namespace u2u::daemon
