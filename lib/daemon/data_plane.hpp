#pragma once
// The user data an end's links carry (docs/protocol.md 11; issue 10): the TUN interface (data.tun) and the UDP
// forwards (data.udp_forward) on one side, data PDUs through the relay on the other, with the sans-I/O DataLink
// (lib/dataplane) protecting each. At the source one link at a time; at the target every link receives, and the TUN
// interface and the listening forwards send on the link established last.
#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "dataplane/data_link.hpp"
#include "dataplane/flows.hpp"
#include "logging/event_log.hpp"
#include "metrics/daemon_metrics.hpp"
#include "transport/tun.hpp"
#include "transport/udp_runner.hpp"

namespace u2u::daemon {

class DataPlane {
 public:
  // `direction`: dataplane::kDirectionFromSource at source-ue, kDirectionFromTarget at target-ue.
  DataPlane(boost::asio::io_context& io, transport::UdpRunner& runner, logging::EventLog& log,
            const config::DataFile& data, const std::string& config_file, std::uint8_t direction,
            wire::Layer2Id own_layer2_id);
  ~DataPlane();

  // Opens the TUN interface and binds the listening forwards. The error names the config file and key (exit 2);
  // without CAP_NET_ADMIN a TUN interface cannot be opened, and the error says so.
  Status open();
  // A link is up at both ends: from now on its keys protect what the TUN interface and the forwards carry.
  void link_up(const std::string& session, const wire::Digest& request_digest, const protocol::SessionKeys& keys,
               const Endpoint& relay, wire::Layer2Id relay_layer2_id);
  // The link of `session` is gone (released, lost, expired, replaced, revoked): its keys are dropped.
  void link_down(const std::string& session, const std::string& reason);
  void all_down(const std::string& reason);
  // Rekeying (docs/protocol.md 12.5). A responder's next keys, received from now on (its sending switches on the
  // first PDU under them, or at rekeyed()).
  void rekey_next(const std::string& session, const protocol::SessionKeys& next);
  // The link's keys are now `keys` (both ends' rekeyed event): sent under from now on; the old ones are received
  // kRekeyOldKeysLinger longer, then wiped.
  void rekeyed(const std::string& session, const protocol::SessionKeys& keys);
  // Called when a link sent data.rekey_after_packets PDUs under its keys ("packets") or COUNT nears its end
  // ("count"): the owner starts a rekeying.
  void on_rekey_wanted(std::function<void(const std::string& session, const std::string& trigger)> hook) {
    rekey_wanted_ = std::move(hook);
  }
  // Called when a link's COUNT is exhausted: it can send no more and must be established anew.
  void on_exhausted(std::function<void(const std::string& session)> hook) { exhausted_ = std::move(hook); }
  // The runner's data handler: every data PDU ends here (an end forwards none).
  void on_pdu(const Endpoint& from, std::span<std::uint8_t> datagram);
  bool active() const { return current_ != nullptr; }
  // What every link carried so far, the links gone included (the metrics).
  dataplane::DataCounters totals() const;
  // link_stats (issue 15): one event per link with its counters so far (data.link_stats_interval_ms).
  void log_link_stats();

 private:
  struct Link;
  struct Forward;
  struct ToFlow;
  void send(Link& link, std::uint8_t bearer, ByteView payload);
  void from_tun(ByteView packet);
  void listen_receive(Forward& f);
  void deliver(Link& link, const dataplane::Delivery& d);
  void to_flow_receive(ToFlow& flow);
  void sweep();
  void dropped(std::string_view reason, const std::string& session);
  void retire(const Link& link);  // adds a link's counters to retired_ before it goes
  Link* find(const std::string& session);
  void keep_previous(Link& link);  // the old keys received kRekeyOldKeysLinger longer
  protocol::Event down_event(const Link& link, const std::string& reason) const;
  protocol::Event& with_counters(protocol::Event& e, const Link& link) const;

  boost::asio::io_context& io_;
  transport::UdpRunner& runner_;
  logging::EventLog& log_;
  config::DataFile data_;
  std::string config_file_;
  std::uint8_t direction_;
  wire::Layer2Id own_layer2_id_;
  std::unique_ptr<transport::TunDevice> tun_;
  std::vector<std::unique_ptr<Forward>> forwards_;
  std::map<dataplane::LinkLabel, std::unique_ptr<Link>> links_;
  Link* current_ = nullptr;  // where the TUN interface and the listening forwards send
  std::map<std::pair<dataplane::LinkLabel, std::uint32_t>, std::unique_ptr<ToFlow>>
      to_flows_;  // (link, bearer<<16|flow)
  boost::asio::steady_timer sweeper_;
  std::function<void(const std::string&)> exhausted_;
  std::function<void(const std::string&, const std::string&)> rekey_wanted_;
  std::uint64_t no_link_drops_ = 0;
  std::uint64_t links_up_ = 0;
  // Since the last link went down with none left (issue 15): data_plane_up then reports the gap.
  std::optional<MonoTime> down_since_;
  MonoTime silent_since_{};
  std::uint64_t no_link_drops_at_down_ = 0;
  dataplane::DataCounters retired_;
  std::array<std::uint8_t, wire::kMaxDatagramSize> out_{};
};

// A daemon's data plane, when its configuration has a data: section: opened (TUN, forwards), and the runner's data
// PDUs handed to it. The error names the config file and key (exit 2).
Status start_data_plane(std::optional<DataPlane>& plane, boost::asio::io_context& io, transport::UdpRunner& runner,
                        logging::EventLog& log, const config::DataFile& data, const std::string& config_file,
                        std::uint8_t direction, wire::Layer2Id own_layer2_id);

// The data plane's counters in `m`, read at scrape time: packets and bytes per direction, integrity failures and
// replays of what was received.
void observe_data_plane(metrics::DaemonMetrics& m, const DataPlane& data_plane);

}  // namespace u2u::daemon
