#pragma once
// A daemon's metrics (issue 14): counted by observing the events its node, transport and data plane already emit
// (every event passes EventLog::emit, whatever the log level), plus values read from the daemon at scrape time
// (pending requests, links, data plane counters). The label values are fixed tables: a free-text reason is mapped
// to one of them, never exported as it is, and no identity or address becomes a label.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/registry.hpp"
#include "protocol/events.hpp"

namespace u2u::metrics {

// The bounded label of a datagram_dropped (or data_dropped) reason: "rate_limited", "duplicate", "malformed", ...;
// "other" for a reason no table entry knows. `check`: the event's check field, when it has one (a decode error).
std::string_view drop_reason_label(std::string_view reason, std::string_view check = {});
// The bounded label of a failed check's name: the name itself when it is one of the project's checks, else "other".
std::string_view check_label(std::string_view check);
// Every label value of the two tables above (for declaring the series).
const std::vector<std::string>& drop_reason_labels();
const std::vector<std::string>& check_labels();

enum class Role { kSource, kRelay, kTarget };

class DaemonMetrics {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DaemonMetrics(Role role);

  // Counts what `event` says, at time `now` (durations).
  void observe(const protocol::Event& event, Clock::time_point now = Clock::now());

  // Values read at scrape time.
  void gauges(std::function<double()> pending_requests, std::function<double()> links_established);
  // Data plane packets and bytes by direction ("sent", "received"; at the relay "received", "forwarded"), and the
  // PDUs refused as integrity failures and replays (received only).
  struct DataTotals {
    double packets_sent = 0, packets_received = 0, bytes_sent = 0, bytes_received = 0;
    double integrity_failures = 0, replays = 0;
  };
  void data_plane(std::function<DataTotals()> read);
  // relay-ue: the rekeyings it has relayed (u2u_rekeyings_total{result="relayed"}); the ends count theirs from their
  // rekeyed and rekey_failed events.
  void rekeyings_relayed(std::function<double()> read);

  Registry& registry() { return registry_; }
  const Registry& registry() const { return registry_; }
  std::string render() const { return registry_.render(); }

  // The families, for tests.
  struct Ids {
    Registry::Id handshakes, handshake_failures, verifications, signings, dropped, rate_limited, replayed, duration;
    Registry::Id rekeyings;  // source-ue and target-ue
  };
  const Ids& ids() const { return ids_; }

 private:
  void started(const std::string& session, Clock::time_point now);
  void ended(const std::string& session, Clock::time_point now, bool established);

  Role role_;
  Registry registry_;
  Ids ids_{};
  std::map<std::string, Clock::time_point> begun_;  // handshakes timed, by session ID (at most kMaxTimedHandshakes)
  std::pair<std::string, std::string> last_check_failed_;  // session and check of the last check_failed
};

}  // namespace u2u::metrics
