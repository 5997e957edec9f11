#pragma once
// u2u-impair's I/O: a UDP proxy on a single-threaded io_context. Datagrams from downstream peers arrive on the
// listen socket and go to the upstream through one connected socket per peer (made on the peer's first
// datagram, closed when idle), so that the upstream sees each peer as a distinct address and its answers come
// back on the socket that names the peer. Every datagram, both ways, goes through the Impairer first.
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/endpoint.hpp"
#include "common/error.hpp"
#include "impair/impairer.hpp"
#include "logging/event_log.hpp"

namespace u2u::impair {

inline constexpr Millis kDefaultIdleTimeout{60'000};   // a peer's upstream socket closes after this long unused
inline constexpr std::size_t kDefaultMaxPeers = 1024;  // beyond it, the least recently active peer is evicted
inline constexpr std::size_t kMaxDatagram = 65535;
inline constexpr int kReceiveBatch = 64;  // datagrams read from one socket before the others get a turn

struct ProxyConfig {
  Endpoint listen;
  Endpoint upstream;
  std::array<Settings, 2> settings{};  // [Direction::kUp], [Direction::kDown]
  std::uint64_t seed = 0;
  Millis stats_interval{0};  // 0: no periodic "stats" line
  Millis idle_timeout = kDefaultIdleTimeout;
  std::size_t max_peers = kDefaultMaxPeers;
};

class Proxy {
 public:
  Proxy(boost::asio::io_context& io, ProxyConfig config, logging::EventLog& log);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds the listen socket; the error names the address and the system's reason.
  Status bind();
  // Logs "started" and begins forwarding.
  void start();
  // Closes every socket and timer; datagrams still waiting for their delay are discarded.
  void stop();

  Endpoint local_endpoint() const;
  const Impairer& impairer() const { return impairer_; }
  std::size_t peers() const { return peers_.size(); }
  // An event named `name` with every counter of both directions (up_received, ..., down_forged).
  protocol::Event counters_event(std::string name) const;

 private:
  struct Peer;
  using PeerPtr = std::shared_ptr<Peer>;

  void wait_listen();
  void wait_upstream(const PeerPtr& peer);
  PeerPtr find_or_add(const boost::asio::ip::udp::endpoint& from, MonoTime now);
  void remove(const PeerPtr& peer, const char* event, MonoTime now);
  void schedule(std::vector<Emission> emissions, MonoTime now);
  void send(Emission emission);
  void send_failed(const Peer& peer, Direction direction, const boost::system::error_code& ec);
  void arm_send_timer();
  void arm_hold_timer();
  void arm_sweep_timer();
  void arm_stats_timer();

  boost::asio::io_context& io_;
  ProxyConfig config_;
  logging::EventLog& log_;
  Impairer impairer_;
  boost::asio::ip::udp::socket listen_;
  boost::asio::ip::udp::endpoint upstream_;
  boost::asio::steady_timer send_timer_;
  boost::asio::steady_timer hold_timer_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer stats_timer_;
  std::optional<MonoTime> send_timer_at_;
  std::optional<MonoTime> hold_timer_at_;
  // Datagrams waiting for their delay; equal times keep their order (multimap inserts after equal keys).
  std::multimap<MonoTime, Emission> delayed_;
  std::map<Endpoint, PeerPtr> peers_;
  std::unordered_map<FlowId, PeerPtr> by_flow_;
  FlowId next_flow_ = 1;
  std::uint64_t send_errors_ = 0;
  std::uint64_t evicted_ = 0;
  std::uint64_t send_errors_unlogged_ = 0;
  std::optional<MonoTime> last_send_error_log_;
  // One receive buffer: every read is synchronous, once the socket is readable.
  std::array<std::uint8_t, kMaxDatagram> buffer_{};
};

}  // namespace u2u::impair
