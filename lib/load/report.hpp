#pragma once
// What a u2u-load run measured, and its two renderings: a summary for a person and one JSON object.
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "load/options.hpp"

namespace u2u::load {

// Nearest-rank percentile (p in 0..100) of `values`, which it sorts; 0 when empty.
std::int64_t percentile(std::vector<std::int64_t>& values, double p);

// VmRSS of a process in KiB from /proc/PID/status; nullopt when the process is gone.
std::optional<std::int64_t> resident_kib(int pid);
// CPU time (user + system) a process has used, in seconds, from /proc/PID/stat; nullopt when it is gone.
std::optional<double> cpu_seconds(int pid);

struct Report {
  std::string label;
  std::string started_utc;
  std::uint64_t seed = 0;

  // Handshakes. Each source makes one (T5080 retransmissions included); it ends confirmed (LINK CONFIRM ACK: the
  // link is up at both ends), failed (link_failed, or link_lost before the ACK), or incomplete (the run timed out).
  std::size_t sources = 0;
  std::size_t started = 0;
  std::size_t established = 0;  // link_established at the source (KD verified, LINK CONFIRM sent)
  std::size_t confirmed = 0;
  std::size_t failed = 0;
  std::size_t incomplete = 0;
  std::map<std::string, std::size_t> failures_by_check;
  std::map<std::string, std::size_t> lost_while_held_by_check;  // link_lost after link_confirmed (keep-alive)
  std::size_t held_peak = 0;                                    // confirmed links up at once
  std::size_t reestablished = 0;           // --reestablish: links lost while held and confirmed again
  std::vector<std::int64_t> confirm_ms;    // start -> link_confirmed, per confirmed handshake
  std::vector<std::int64_t> establish_ms;  // start -> link_established
  double handshake_seconds = 0;            // first start -> last handshake ended
  std::size_t retransmissions = 0;         // requests sent again on T5080
  std::size_t releases_acknowledged = 0;
  std::size_t releases_unacknowledged = 0;
  std::size_t send_errors = 0;
  double credential_seconds = 0;  // issuing every source's credential

  // Floods.
  double junk_rate = 0;
  std::size_t junk_sent = 0;
  std::size_t junk_not_sent = 0;  // the socket's buffer was full
  double flood_seconds = 0;
  bool bad_signature_max = false;
  double bad_signature_rate = 0;
  std::size_t bad_signature_sockets = 0;
  double bad_signature_cap = 0;  // sockets x the relay's per-address rate
  std::size_t bad_signature_sent = 0;
  std::map<int, std::size_t> bad_signature_rejects_by_cause;
  std::size_t bad_signature_unanswered = 0;           // no REJECT within a second
  std::size_t bad_signature_in_flight = 0;            // sent less than a second before the run ended, no REJECT yet
  std::vector<std::int64_t> bad_signature_reject_us;  // request -> its REJECT

  // The relay's memory.
  std::optional<int> relay_pid;
  std::optional<std::int64_t> rss_before_kib;
  std::optional<std::int64_t> rss_peak_kib;
  std::optional<std::int64_t> rss_after_release_kib;
  std::optional<std::int64_t> rss_after_kib;
  std::vector<std::int64_t> rss_samples_kib;  // one a second, from the start to the end
  std::optional<double> relay_cpu_percent;    // its CPU time over the wall time from the first datagram to the
                                              // end of the last handshake (100: one core; the relay has one thread)
  Millis settle{0};
  bool relay_alive = true;

  bool timed_out = false;
  double run_seconds = 0;

  std::size_t bad_signature_rejects() const;
  double success_rate() const {
    return sources == 0 ? 0 : static_cast<double>(confirmed) / static_cast<double>(sources);
  }
};

void print_summary(std::ostream& out, const Options& options, Report report);
std::string to_json(const Options& options, Report report);

}  // namespace u2u::load
