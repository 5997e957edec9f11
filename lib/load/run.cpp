#include "load/run.hpp"

#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "crypto/hash.hpp"
#include "load/fleet.hpp"
#include "load/flood.hpp"
#include "load/socket.hpp"
#include "provision/provision.hpp"

namespace u2u::load {

namespace asio = boost::asio;

namespace {

constexpr Millis kSampleInterval{1000};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::uint64_t clock_seed() {
  std::array<std::uint8_t, 6> r{};
  crypto::random_bytes(r);
  std::uint64_t s = 0;
  for (const auto b : r) s = (s << 8) | b;  // below 2^48: exact in any JSON reader
  return s;
}

// The phases of run.hpp, driven by callbacks on one io_context.
class Run {
 public:
  Run(const Options& options, Report& report, std::ostream* events)
      : options_(options),
        report_(report),
        fleet_(io_, options, report, events),
        lead_(io_),
        phase_timer_(io_),
        sampler_(io_),
        deadline_(io_),
        signals_(io_, SIGINT, SIGTERM) {}

  Status prepare(std::uint64_t seed) {
    if (!options_.credentials_path.empty()) return prepare_credentials();
    auto ca = provision::load_ca(options_.ca_dir);
    if (!ca) return ca.error();
    auto store = crypto::TrustStore::from_ca(ca->certificate());
    if (!store) return store.error();
    auto trust = std::make_shared<const crypto::TrustStore>(std::move(store).value());
    if (auto s = fleet_.prepare(*ca, trust); !s) return s;
    if (options_.junk_rate > 0 || options_.flooding()) {
      auto flooder = issue_party(*ca, trust, "load-flood-0001", 0xF00000, Now::read().wall);
      if (!flooder) return flooder.error();
      if (options_.junk_rate > 0) {
        wire::Nonce nonce{};
        const Bytes real = signed_request_datagram(*flooder, options_, nonce);
        junk_ = std::make_unique<JunkFlood>(io_, options_, real, seed);
        if (auto s = junk_->open(); !s) return s;
      }
      if (options_.bad_signature_rate > 0 || options_.bad_signature_max) {
        bad_ = std::make_unique<BadSignatureFlood>(io_, options_, *flooder, seed ^ 0x5A5A5A5A);
        if (auto s = bad_->open(); !s) return s;
      }
    }
    return {};
  }

  // --credentials: only the CA's certificate here (the trust in the relay and the target), no key.
  Status prepare_credentials() {
    std::string ca_path = options_.ca_dir;
    if (std::filesystem::is_directory(ca_path)) ca_path += "/cert.pem";
    std::ifstream in(ca_path);
    if (!in) return make_error(Cause::kNone, "credentials", "cannot read the CA certificate " + ca_path);
    std::stringstream pem;
    pem << in.rdbuf();
    auto certificate = crypto::Certificate::from_pem(pem.str());
    if (!certificate) return make_error(Cause::kNone, "credentials", ca_path + ": " + certificate.error().reason);
    auto store = crypto::TrustStore::from_ca(*certificate);
    if (!store) return store.error();
    auto parties =
        load_parties(options_.credentials_path, std::make_shared<const crypto::TrustStore>(std::move(store).value()),
                     options_.layer2_base);
    if (!parties) return parties.error();
    parties->erase(parties->begin() + static_cast<std::ptrdiff_t>(options_.sources), parties->end());
    return fleet_.prepare(std::move(parties).value());
  }

  void go() {
    started_ = std::chrono::steady_clock::now();
    if (options_.relay_pid) {
      report_.rss_before_kib = sample();
      relay_cpu_before_ = cpu_seconds(*options_.relay_pid);
      arm_sampler();
    }
    deadline_.expires_after(options_.timeout);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (!ec) give_up();
    });
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (!ec) give_up();
    });
    if (junk_) junk_->start();
    if (bad_) bad_->start();
    flood_started_ = std::chrono::steady_clock::now();
    lead_.expires_after(options_.flooding() ? options_.flood_lead : Millis(0));
    lead_.async_wait([this](boost::system::error_code ec) {
      if (!ec) lead_ended();
    });
    io_.run();
    report_.run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

 private:
  std::size_t flood_sent() const { return (junk_ ? junk_->sent() : 0) + (bad_ ? bad_->sent() : 0); }

  // The lead lasts --flood-lead-ms and until the floods have sent --flood-lead-datagrams.
  void lead_ended() {
    if (options_.flooding() && flood_sent() < options_.flood_lead_datagrams) {
      lead_.expires_after(Millis(1));
      lead_.async_wait([this](boost::system::error_code ec) {
        if (!ec) lead_ended();
      });
      return;
    }
    if (options_.sources == 0) {
      phase_timer_.expires_after(options_.duration);
      phase_timer_.async_wait([this](boost::system::error_code e) {
        if (!e) handshakes_ended();
      });
    } else {
      fleet_.start([this] { handshakes_ended(); });
    }
  }

  std::optional<std::int64_t> sample() {
    const auto kib = resident_kib(*options_.relay_pid);
    if (!kib) {
      report_.relay_alive = false;
      return std::nullopt;
    }
    report_.rss_samples_kib.push_back(*kib);
    report_.rss_peak_kib = std::max(report_.rss_peak_kib.value_or(0), *kib);
    return kib;
  }

  void arm_sampler() {
    sampler_.expires_after(kSampleInterval);
    sampler_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      sample();
      arm_sampler();
    });
  }

  void measure_relay_cpu() {
    if (!options_.relay_pid || !relay_cpu_before_) return;
    const auto now = cpu_seconds(*options_.relay_pid);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (now && wall > 0) report_.relay_cpu_percent = 100.0 * (*now - *relay_cpu_before_) / wall;
  }

  void stop_floods() {
    if (junk_) junk_->stop();
    if (bad_) bad_->stop();
    if (options_.flooding()) {
      report_.flood_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - flood_started_).count();
    }
  }

  void handshakes_ended() {
    stop_floods();
    measure_relay_cpu();
    phase_timer_.expires_after(options_.hold ? options_.hold_time : Millis(0));
    phase_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) fleet_.release_all([this] { released(); });
    });
  }

  void released() {
    if (options_.relay_pid) report_.rss_after_release_kib = sample();
    report_.settle = options_.settle;
    phase_timer_.expires_after(options_.settle);
    phase_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (options_.relay_pid) report_.rss_after_kib = sample();
      finish();
    });
  }

  void give_up() {
    report_.timed_out = true;
    fleet_.abort();
    stop_floods();
    if (options_.relay_pid) report_.rss_after_kib = sample();
    finish();
  }

  void finish() {
    // Late REJECTs of the bad-signature flood are counted until here.
    if (junk_) junk_->fill(report_);
    if (bad_) bad_->fill(report_);
    io_.stop();
  }

  const Options& options_;
  Report& report_;
  asio::io_context io_;
  Fleet fleet_;
  std::unique_ptr<JunkFlood> junk_;
  std::unique_ptr<BadSignatureFlood> bad_;
  asio::steady_timer lead_;
  asio::steady_timer phase_timer_;
  asio::steady_timer sampler_;
  asio::steady_timer deadline_;
  asio::signal_set signals_;
  MonoTime started_{};
  MonoTime flood_started_{};
  std::optional<double> relay_cpu_before_;
};

}  // namespace

int run(Options& options, Report& report, std::ostream& err) {
  if (!options.relay_host.empty()) {
    asio::io_context io;
    auto relay = resolve_relay(io, options);
    if (!relay) {
      err << "u2u-load: --relay: " << relay.error().reason << "\n";
      return kExitUsage;
    }
    options.relay = *relay;
  }
  if (!options.credentials_path.empty()) {  // --sources: at most the credentials given, by default all of them
    std::size_t pairs = 0;
    std::ifstream in(options.credentials_path);
    for (std::string line; std::getline(in, line);) pairs += line.rfind("-----BEGIN CERTIFICATE-----", 0) == 0;
    if (options.sources > pairs) {
      err << "u2u-load: --sources " << options.sources << ": " << options.credentials_path << " holds " << pairs
          << " credentials\n";
      return kExitUsage;
    }
    if (options.sources == 0) options.sources = pairs;
    if (static_cast<std::uint64_t>(options.layer2_base) + options.sources > 0xFFFFFF) {
      err << "u2u-load: --layer2-base + the credentials go beyond the 24-bit Layer-2 ID 0xFFFFFF\n";
      return kExitUsage;
    }
  }
  std::size_t sockets = options.sources + 64;
  if (options.junk_rate > 0) sockets += options.junk_sockets;
  if (options.bad_signature_rate > 0 || options.bad_signature_max) sockets += options.bad_signature_sockets;
  if (auto s = raise_file_limit(sockets); !s) {
    err << "u2u-load: " << s.error().reason << "\n";
    return kExitUsage;
  }
  const std::uint64_t seed = options.seed.value_or(clock_seed());
  report.seed = seed;
  report.label = options.label;
  report.started_utc = utc_now();
  report.sources = options.sources;
  report.relay_pid = options.relay_pid;

  std::ofstream events_file;
  if (!options.events_path.empty()) {
    events_file.open(options.events_path, std::ios::trunc);
    if (!events_file) {
      err << "u2u-load: cannot write " << options.events_path << "\n";
      return kExitUsage;
    }
  }
  Run r(options, report, events_file.is_open() ? &events_file : nullptr);
  if (auto s = r.prepare(seed); !s) {
    err << "u2u-load: " << s.error().reason << "\n";
    return kExitUsage;
  }
  r.go();
  return report.timed_out || !report.relay_alive ? kExitIncomplete : kExitOk;
}

}  // namespace u2u::load
