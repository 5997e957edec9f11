#include "daemon/service.hpp"

#include "daemon/systemd_notify.hpp"
#include "metrics/constants.hpp"
#include "protocol/constants.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>

namespace u2u::daemon {

std::variant<Options, int> command_line(const FlagSpec& spec, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parse(spec, args);
  if (!options) return kExitUsage;
  if (options->help) {
    std::cout << usage(spec);
    return kExitOk;
  }
  if (options->version) {
    std::cout << version_text(spec.program);
    return kExitOk;
  }
  return *options;
}

int config_error(const FlagSpec& spec, const Error& error) {
  std::cerr << spec.program << ": " << error.reason << "\n";
  return error.check == "stopped" ? kExitOk : kExitUsage;
}

int config_ok(const FlagSpec& spec, const std::string& file, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::cout << spec.program << ": warning: " << w << "\n";
  std::cout << file << ": configuration and credentials OK\n";
  return kExitOk;
}

Service::Service(const FlagSpec& spec, const Options& options, const config::Common& common)
    : spec_(spec), common_(common), signals_(io_, SIGINT, SIGTERM), hangup_(io_, SIGHUP), rekey_signal_(io_, SIGUSR1) {
  const logging::Format format = options.log_format.value_or(common.log.format);
  log_ = std::make_unique<logging::EventLog>(spec.program, format, common.log.level);
  if (common.metrics) {
    const metrics::Role role = spec.program == "relay-ue"    ? metrics::Role::kRelay
                               : spec.program == "target-ue" ? metrics::Role::kTarget
                                                             : metrics::Role::kSource;
    metrics_ = std::make_unique<metrics::DaemonMetrics>(role);
    log_->set_observer([m = metrics_.get()](const protocol::Event& e) { m->observe(e); });
  }
}

Status Service::bind_when_available(transport::UdpRunner& runner, const Endpoint& local, bool shared,
                                    const std::string& key) {
  const auto fail = [&](const Error& e) {
    return make_error(Cause::kNone, e.check, common_.file + ": " + key + ": " + e.reason);
  };
  std::optional<MonoTime> last_said;
  for (;;) {
    auto bound = runner.bind(local, shared);
    if (bound) break;
    if (bound.error().check != "address_not_available") return fail(bound.error());
    const MonoTime now = Now::read().mono;
    if (!last_said || now - *last_said >= protocol::kAddressWaitLogInterval) {
      last_said = now;
      log_->emit(protocol::event(protocol::Level::kWarn, "waiting_for_address")
                     .with("key", key)
                     .with("address", local.to_string())
                     .with("reason", bound.error().reason)
                     .with("retry_ms", static_cast<std::int64_t>(protocol::kAddressRetryInterval.count())));
      // Ready as a service (boot does not wait on it), not yet bound: systemctl status shows why.
      notify_systemd("READY=1\nSTATUS=waiting for " + key + " " + local.to_string() + " to be on this host");
    }
    // The retry interval, or SIGINT/SIGTERM, whichever comes first.
    bool signalled = false;
    boost::asio::steady_timer retry(io_, protocol::kAddressRetryInterval);
    retry.async_wait([this](boost::system::error_code ec) {
      if (!ec) signals_.cancel();
    });
    signals_.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      signalled = true;
      retry.cancel();
    });
    io_.restart();
    io_.run();
    if (signalled) return fail(make_error(Cause::kNone, "stopped", "stopped while waiting for the address"));
  }
  return {};
}

Status Service::bind(protocol::Node& node, const Endpoint& listen) {
  runner_ = std::make_unique<transport::UdpRunner>(io_, node, *log_);
  if (auto s = bind_when_available(*runner_, listen, false, "listen"); !s) return s;
  io_.restart();
  if (!common_.log.key_log_file.empty()) {
    auto key_log = logging::KeyLog::open(common_.log.key_log_file);
    if (!key_log)
      return make_error(Cause::kNone, "key_log", common_.file + ": log.key_log_file: " + key_log.error().reason);
    key_log_.emplace(std::move(key_log).value());
  }
  if (metrics_) {
    // metrics.listen was checked by prepare(); a port in use is an error naming the key (exit 2).
    metrics_server_ = std::make_unique<metrics::HttpServer>(io_, [m = metrics_.get()] { return m->render(); });
    if (auto s = metrics_server_->listen(common_.metrics->address, common_.metrics->port); !s)
      return make_error(Cause::kNone, "bind", common_.file + ": metrics.listen: " + s.error().reason);
  }
  return {};
}

Status Service::bind_discovery(protocol::Node& node, const config::DiscoveryFile& d) {
  const auto fail = [&](const std::string& key, const std::string& reason) {
    return make_error(Cause::kNone, "bind", common_.file + ": discovery." + key + ": " + reason);
  };
  auto listen = config::resolve(d.listen, common_.file, "discovery.listen");
  if (!listen) return listen.error();
  discovery_runner_ = std::make_unique<transport::UdpRunner>(io_, node, *log_);
  if (auto s = bind_when_available(*discovery_runner_, *listen, d.multicast_group.has_value(), "discovery.listen"); !s)
    return s;
  io_.restart();
  if (d.multicast_group) {
    auto group = config::resolve(*d.multicast_group, common_.file, "discovery.multicast.group");
    if (!group) return group.error();
    std::vector<Endpoint> interfaces;
    for (const auto& i : d.interfaces) {
      auto e = Endpoint::parse(i, 0);
      if (!e) return fail("multicast.interfaces", "\"" + i + "\" is not a numeric address");
      interfaces.push_back(*e);
    }
    if (auto s = discovery_runner_->enable_multicast(*group, interfaces); !s)
      return fail("multicast", s.error().reason);
  }
  return {};
}

std::size_t Service::use_workers(protocol::Node& node, std::optional<std::size_t> workers) {
  const std::size_t threads = workers.value_or(transport::cores_available());
  if (threads == 0) return 0;
  workers_ = std::make_unique<transport::WorkerPool>(threads);
  runner_->set_worker_pool(workers_.get());
  node.set_job_limit(threads * protocol::kJobsPerWorker);
  return threads;
}

void Service::started(const std::vector<std::string>& warnings, protocol::Event details) {
  for (const auto& w : warnings)
    log_->emit(protocol::event(protocol::Level::kWarn, "credential_warning").with("reason", w));
  if (key_log_) {
    log_->emit(protocol::event(protocol::Level::kWarn, "key_log_enabled")
                   .with("path", key_log_->path())
                   .with("reason", "session keys (KD-sess) are written to this file for decrypting captures"));
  }
  protocol::Event e = protocol::event(protocol::Level::kInfo, "started")
                          .with("user_info_id", common_.user_info_id)
                          .with("layer2_id", static_cast<std::int64_t>(common_.layer2_id))
                          .with("listen", runner_->local_endpoint().to_string())
                          .with("config", common_.file);
  if (discovery_runner_) e.with("discovery", discovery_runner_->local_endpoint().to_string());
  if (metrics_server_)
    e.with("metrics", "http://" + common_.metrics->address + ":" + std::to_string(metrics_server_->local_port()) +
                          std::string(metrics::kPath));
  for (auto& f : details.fields) e.fields.push_back(std::move(f));
  log_->emit(e);
  // Type=notify: ready once the socket is bound and the credentials are loaded.
  notify_systemd("READY=1\nSTATUS=listening on " + runner_->local_endpoint().to_string());
}

void Service::record_keys(const protocol::Event& established, const protocol::SessionKeys* keys) {
  if (!key_log_ || keys == nullptr || (established.name != "link_established" && established.name != "rekeyed")) return;
  const auto* session = established.find("session");
  const std::string id = session != nullptr && std::holds_alternative<std::string>(*session)
                             ? std::get<std::string>(*session)
                             : std::string("-");
  if (auto s = key_log_->write(id, keys->kd_sess_id, keys->kd_sess); !s) {
    log_->emit(protocol::event(protocol::Level::kError, "key_log_failed").with("reason", s.error().reason));
  }
}

void Service::stop(int exit_code) {
  exit_code_ = exit_code;
  // After the handler that asked: what it sent (a LINK CONFIRM, say) must leave before the socket closes.
  boost::asio::post(io_, [this] {
    const auto halt = [this] {
      notify_systemd("STOPPING=1");
      if (runner_) runner_->stop();
      if (discovery_runner_) discovery_runner_->stop();
      if (metrics_server_) metrics_server_->stop();
      signals_.cancel();
      hangup_.cancel();
      rekey_signal_.cancel();
      io_.stop();
    };
    if (runner_) {
      runner_->when_sent(halt);
    } else {
      halt();
    }
  });
}

void Service::wait_for_hangup() {
  hangup_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (reload_) {
      if (auto s = reload_(); s) {
        log_->emit(protocol::event(protocol::Level::kInfo, "reloaded")
                       .with("detail", "credentials and trust reloaded; established links kept"));
      } else {
        log_->emit(protocol::event(protocol::Level::kError, "reload_failed")
                       .with("reason", s.error().reason)
                       .with("detail", "the previous credentials stay in use"));
      }
    }
    wait_for_hangup();
  });
}

void Service::wait_for_rekey_request() {
  rekey_signal_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (rekey_request_) {
      rekey_request_();
    } else {
      log_->emit(protocol::event(protocol::Level::kInfo, "rekey_request_ignored")
                     .with("detail", "SIGUSR1 rekeys links at source-ue and target-ue; relay-ue holds no link keys"));
    }
    wait_for_rekey_request();
  });
}

void data_warnings(const config::DataFile& data, std::vector<std::string>& warnings) {
  if (std::find(data.algorithms.begin(), data.algorithms.end(), dataplane::Suite::kNullNia2) != data.algorithms.end()) {
    warnings.push_back(
        "data.algorithms lists null-nia2: when the other end allows it too, user data travels integrity protected but "
        "unciphered, readable by the relay");
  }
}

std::string event_text(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : std::string();
}

struct Service::Periodic {
  Periodic(boost::asio::io_context& io, Millis every, std::function<void()> f)
      : timer(io), interval(every), tick(std::move(f)) {}
  void arm() {
    timer.expires_after(interval);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      tick();
      arm();
    });
  }
  boost::asio::steady_timer timer;
  Millis interval;
  std::function<void()> tick;
};

Service::~Service() = default;

void Service::every(Millis interval, std::function<void()> tick) {
  if (interval.count() <= 0) return;
  periodic_.push_back(std::make_unique<Periodic>(io_, interval, std::move(tick)));
}

int Service::run() {
  std::function<void(boost::system::error_code, int)> on_signal = [this, &on_signal](boost::system::error_code ec,
                                                                                     int signal) {
    if (ec) return;
    auto stopping =
        protocol::event(protocol::Level::kInfo, "stopping").with("signal", static_cast<std::int64_t>(signal));
    if (status_) status_(stopping);
    log_->emit(std::move(stopping));
    if (shutdown_ && !shutting_down_) {
      shutting_down_ = true;
      shutdown_();
      signals_.async_wait(on_signal);  // a second signal stops at once
      return;
    }
    stop(exit_code_);
  };
  signals_.async_wait(on_signal);
  wait_for_hangup();
  wait_for_rekey_request();
  runner_->start();
  if (discovery_runner_) discovery_runner_->start();
  if (metrics_server_) metrics_server_->start();
  for (auto& p : periodic_) p->arm();
  io_.run();
  return exit_code_;
}

}  // namespace u2u::daemon
