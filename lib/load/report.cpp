#include "load/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <unistd.h>

namespace u2u::load {

namespace {

std::string fixed(double v, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

std::string mib(std::optional<std::int64_t> kib) {
  return kib ? fixed(static_cast<double>(*kib) / 1024.0, 1) + " MiB" : std::string("-");
}

// "timeout 3, rejected 1", most frequent first; "none" when empty.
std::string by_check(const std::map<std::string, std::size_t>& counts) {
  std::vector<std::pair<std::string, std::size_t>> v(counts.begin(), counts.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [check, n] : v) {
    if (!out.empty()) out += ", ";
    out += (check.empty() ? std::string("?") : check) + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

double rate(std::size_t n, double seconds) { return seconds > 0 ? static_cast<double>(n) / seconds : 0; }

struct Percentiles {
  std::int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<std::int64_t> v) {
  Percentiles p;
  p.p50 = percentile(v, 50);
  p.p90 = percentile(v, 90);
  p.p99 = percentile(v, 99);
  p.max = percentile(v, 100);
  return p;
}

}  // namespace

std::int64_t percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::optional<std::int64_t> resident_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    std::int64_t kib = 0;
    if (fields >> kib) return kib;
  }
  return std::nullopt;  // gone (or a zombie, which has no VmRSS)
}

std::optional<double> cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // The fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14
  // and stime 15 (proc(5)).
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  if (!fields) return std::nullopt;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t Report::bad_signature_rejects() const {
  std::size_t n = 0;
  for (const auto& [cause, count] : bad_signature_rejects_by_cause) n += count;
  return n;
}

void print_summary(std::ostream& out, const Options& o, Report r) {
  out << "u2u-load" << (r.label.empty() ? "" : " (" + r.label + ")") << ": relay " << o.relay_id << " at "
      << o.relay.to_string() << ", target " << o.target_id << ", started " << r.started_utc << ", seed " << r.seed
      << "\n";
  if (r.sources > 0) {
    out << "  sources: " << r.sources << " (";
    if (o.credentials_path.empty()) {
      out << o.id_prefix << "0001..., each its own credential, Layer-2 ID and socket; credentials issued in "
          << fixed(r.credential_seconds, 2) << " s";
    } else {
      out << "each its own credential from " << o.credentials_path << ", Layer-2 ID and socket";
    }
    out << "), concurrency " << o.concurrency
        << (o.hold ? ", links held until the end" : ", each link released once confirmed") << "\n";
    out << "  handshakes: " << r.started << " started, " << r.confirmed << " confirmed ("
        << fixed(100.0 * r.success_rate(), 1) << " %), " << r.failed << " failed";
    if (r.failed > 0) out << " (" << by_check(r.failures_by_check) << ")";
    if (r.incomplete > 0) out << ", " << r.incomplete << " incomplete";
    out << "; " << r.established << " link_established at the source\n";
    const auto c = percentiles(r.confirm_ms);
    const auto e = percentiles(r.establish_ms);
    out << "  time to link_confirmed: p50 " << c.p50 << " ms, p90 " << c.p90 << " ms, p99 " << c.p99 << " ms, max "
        << c.max << " ms (link_established: p50 " << e.p50 << " ms, p99 " << e.p99 << " ms)\n";
    out << "  rate: " << fixed(rate(r.confirmed, r.handshake_seconds), 1) << " handshakes/s confirmed over "
        << fixed(r.handshake_seconds, 2) << " s; " << r.retransmissions << " requests sent again (T5080)\n";
    out << "  links: at most " << r.held_peak << " up at once; released " << r.releases_acknowledged
        << " acknowledged, " << r.releases_unacknowledged << " unacknowledged";
    if (!r.lost_while_held_by_check.empty()) out << "; lost while held: " << by_check(r.lost_while_held_by_check);
    if (o.reestablish) out << "; " << r.reestablished << " established anew";
    out << "\n";
    if (r.send_errors > 0) out << "  send errors: " << r.send_errors << "\n";
  }
  if (r.junk_rate > 0) {
    out << "  junk: " << r.junk_sent << " datagrams in " << fixed(r.flood_seconds, 1) << " s ("
        << fixed(rate(r.junk_sent, r.flood_seconds), 0) << "/s of " << fixed(r.junk_rate, 0) << "/s asked) from "
        << o.junk_sockets << " ports: random bytes, valid header + garbage, truncated real requests";
    if (r.junk_not_sent > 0) out << "; " << r.junk_not_sent << " not sent (socket buffer full)";
    out << "\n";
  }
  if (r.bad_signature_sockets > 0) {
    const std::size_t rejects = r.bad_signature_rejects();
    out << "  bad signatures: " << r.bad_signature_sent << " requests ("
        << (r.bad_signature_max ? "as fast as the relay answers" : fixed(r.bad_signature_rate, 0) + "/s asked")
        << ") from " << r.bad_signature_sockets << " addresses in " << fixed(r.flood_seconds, 1) << " s; " << rejects
        << " REJECTs back (" << fixed(rate(rejects, r.flood_seconds), 0) << "/s: the relay's verification rate), "
        << r.bad_signature_unanswered << " unanswered within 1 s, " << r.bad_signature_in_flight
        << " still in flight at the end\n";
    out << "    the relay admits at most " << fixed(o.relay_rate_per_second, 0) << " new requests/s per address, "
        << "bursts of " << fixed(o.relay_rate_burst, 0) << " (rate_limit): " << r.bad_signature_sockets
        << " addresses reach at most " << fixed(r.bad_signature_cap, 0) << "/s";
    if (!r.bad_signature_reject_us.empty()) {
      auto us = r.bad_signature_reject_us;
      out << "; REJECT after p50 " << fixed(static_cast<double>(percentile(us, 50)) / 1000.0, 2) << " ms, p99 "
          << fixed(static_cast<double>(percentile(us, 99)) / 1000.0, 2) << " ms";
    }
    out << "\n";
  }
  if (r.relay_pid) {
    out << "  relay RSS (pid " << *r.relay_pid << "): before " << mib(r.rss_before_kib) << ", peak "
        << mib(r.rss_peak_kib) << ", after the releases " << mib(r.rss_after_release_kib) << ", after "
        << fixed(static_cast<double>(r.settle.count()) / 1000.0, 0) << " s more " << mib(r.rss_after_kib)
        << (r.relay_alive ? "" : "; THE RELAY PROCESS IS GONE") << "\n";
    if (r.relay_cpu_percent) {
      out << "  relay CPU: " << fixed(*r.relay_cpu_percent, 0) << " % of one core from the first datagram to the "
          << "end of the last handshake\n";
    }
  }
  if (r.timed_out) out << "  the run timed out (--timeout-ms) or was interrupted\n";
}

std::string to_json(const Options& o, Report r) {
  nlohmann::ordered_json j;
  const auto optional = [](std::optional<std::int64_t> v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  const auto c = percentiles(r.confirm_ms);
  const auto e = percentiles(r.establish_ms);
  j["tool"] = "u2u-load";
  j["label"] = r.label;
  j["started"] = r.started_utc;
  j["seed"] = r.seed;
  j["relay"] = o.relay.to_string();
  j["relay_id"] = o.relay_id;
  j["target_id"] = o.target_id;
  j["sources"] = r.sources;
  j["concurrency"] = o.concurrency;
  j["hold"] = o.hold;
  j["hold_ms"] = o.hold ? o.hold_time.count() : 0;
  j["t5080_ms"] = o.t5080.initial.count();
  j["t5080_max_ms"] = o.t5080.max_wait.count();
  j["max_tries"] = o.t5080.max_tries;
  j["keepalive_interval_ms"] = o.keepalive_interval.count();
  j["keepalive_timeout_ms"] = o.t5085.initial.count();
  j["keepalive_max_tries"] = o.t5085.max_tries;
  j["credential_seconds"] = r.credential_seconds;
  j["started_handshakes"] = r.started;
  j["established"] = r.established;
  j["confirmed"] = r.confirmed;
  j["failed"] = r.failed;
  j["incomplete"] = r.incomplete;
  j["success_rate"] = r.success_rate();
  j["failures"] = by_check(r.failures_by_check);
  j["failures_by_check"] = r.failures_by_check;
  j["lost_while_held"] = by_check(r.lost_while_held_by_check);
  j["lost_while_held_by_check"] = r.lost_while_held_by_check;
  j["held_peak"] = r.held_peak;
  j["reestablished"] = r.reestablished;
  j["confirm_ms_p50"] = c.p50;
  j["confirm_ms_p90"] = c.p90;
  j["confirm_ms_p99"] = c.p99;
  j["confirm_ms_max"] = c.max;
  j["establish_ms_p50"] = e.p50;
  j["establish_ms_p90"] = e.p90;
  j["establish_ms_p99"] = e.p99;
  j["establish_ms_max"] = e.max;
  j["handshake_seconds"] = r.handshake_seconds;
  j["handshakes_per_second"] = rate(r.confirmed, r.handshake_seconds);
  j["retransmissions"] = r.retransmissions;
  j["releases_acknowledged"] = r.releases_acknowledged;
  j["releases_unacknowledged"] = r.releases_unacknowledged;
  j["send_errors"] = r.send_errors;
  j["flood_seconds"] = r.flood_seconds;
  j["junk_rate"] = r.junk_rate;
  j["junk_sockets"] = r.junk_rate > 0 ? o.junk_sockets : 0;
  j["junk_sent"] = r.junk_sent;
  j["junk_not_sent"] = r.junk_not_sent;
  j["junk_rate_achieved"] = rate(r.junk_sent, r.flood_seconds);
  j["bad_signature_rate"] = r.bad_signature_max ? nlohmann::json("max") : nlohmann::json(r.bad_signature_rate);
  j["bad_signature_sockets"] = r.bad_signature_sockets;
  j["bad_signature_window"] = r.bad_signature_max ? o.bad_signature_window : 0;
  j["relay_rate_limit_per_second"] = o.relay_rate_per_second;
  j["relay_rate_limit_burst"] = o.relay_rate_burst;
  j["bad_signature_cap_per_second"] = r.bad_signature_cap;
  j["bad_signature_sent"] = r.bad_signature_sent;
  j["bad_signature_rejects"] = r.bad_signature_rejects();
  nlohmann::ordered_json causes = nlohmann::ordered_json::object();
  for (const auto& [cause, n] : r.bad_signature_rejects_by_cause) causes[std::to_string(cause)] = n;
  j["bad_signature_rejects_by_cause"] = causes;
  j["bad_signature_unanswered"] = r.bad_signature_unanswered;
  j["bad_signature_in_flight"] = r.bad_signature_in_flight;
  j["bad_signature_verify_rate"] = rate(r.bad_signature_rejects(), r.flood_seconds);
  {
    auto us = r.bad_signature_reject_us;
    j["bad_signature_reject_us_p50"] = percentile(us, 50);
    j["bad_signature_reject_us_p99"] = percentile(us, 99);
  }
  j["relay_pid"] = r.relay_pid ? nlohmann::json(*r.relay_pid) : nlohmann::json();
  j["relay_rss_kib_before"] = optional(r.rss_before_kib);
  j["relay_rss_kib_peak"] = optional(r.rss_peak_kib);
  j["relay_rss_kib_after_release"] = optional(r.rss_after_release_kib);
  j["relay_rss_kib_after"] = optional(r.rss_after_kib);
  j["settle_ms"] = r.settle.count();
  j["relay_alive"] = r.relay_alive;
  j["relay_rss_kib_samples"] = r.rss_samples_kib;
  j["relay_cpu_percent"] = r.relay_cpu_percent ? nlohmann::json(*r.relay_cpu_percent) : nlohmann::json();
  j["timed_out"] = r.timed_out;
  j["run_seconds"] = r.run_seconds;
  return j.dump(2) + "\n";
}

}  // namespace u2u::load
