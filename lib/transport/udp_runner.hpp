#pragma once
// Drives one sans-I/O protocol node over a UDP socket (PC5 Layer 2 stand-in) on a single-threaded
// io_context: receive -> node -> send, and one timer armed at the node's next deadline.
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "logging/event_log.hpp"
#include "protocol/node.hpp"
#include "transport/worker_pool.hpp"

struct mmsghdr;

namespace u2u::transport {

boost::asio::ip::udp::endpoint to_asio(const Endpoint& e);
Endpoint from_asio(const boost::asio::ip::udp::endpoint& e);
// Whether `e`'s address is on this host now (a UDP socket can bind it, on any port): --check-config's probe.
bool address_on_host(const Endpoint& e);

// Datagrams are received in batches (recvmmsg): signalling goes to the node; data PDUs (docs/protocol.md 11), when a
// data handler is set, go to it in place, and what it returns an address for is forwarded, in batches (sendmmsg).
class UdpRunner {
 public:
  using EventHook = std::function<void(const protocol::Event&)>;
  // Takes a data PDU (mutable, in the receive buffer); returns where to forward it (rewritten in place), if anywhere.
  using DataHandler = std::function<std::optional<Endpoint>(const Endpoint& from, std::span<std::uint8_t> datagram)>;
  struct DataStats {
    std::uint64_t received = 0;      // data PDUs handed to the handler
    std::uint64_t forwarded = 0;     // sent on by the handler's answer
    std::uint64_t send_dropped = 0;  // not sent: the socket's buffer was full (EAGAIN) or another error
    std::uint64_t batches = 0;       // recvmmsg calls that returned datagrams
  };

  UdpRunner(boost::asio::io_context& io, protocol::Node& node, logging::EventLog& log);
  ~UdpRunner();

  // Opens and binds the socket; the error names the address and the system's reason. `shared`: SO_REUSEADDR, so
  // that several daemons of one host can listen on a discovery multicast port.
  Status bind(const Endpoint& local, bool shared = false);
  // Discovery over multicast: joins `group` on each local interface address, and sends what goes to the group
  // out of each of them (a relay has a leg on each network).
  Status enable_multicast(const Endpoint& group, const std::vector<Endpoint>& interfaces);
  void start();
  void stop();
  // Sends what a node produced, logs its events, and re-arms the timer.
  void dispatch(protocol::Output out);
  void set_event_hook(EventHook hook) { hook_ = std::move(hook); }
  void set_data_handler(DataHandler handler) { data_handler_ = std::move(handler); }
  // The node's jobs (protocol::Output::jobs) run on `pool`, and each result comes back to this thread; a job with no
  // other on the pool and no datagram waiting behind it runs here at once. Without a pool the node must not hand out
  // jobs (its job limit is 0). The pool must stop before this runner is destroyed.
  void set_worker_pool(WorkerPool* pool) { pool_ = pool; }
  // Sends a data datagram at once, without blocking: when the socket's buffer is full it is dropped and counted.
  bool send_data(const Endpoint& to, ByteView datagram);
  // The same, batched: the datagram is copied into the next sendmmsg batch, which leaves when it is full or on
  // flush_data() (call it once what is at hand has been queued).
  void queue_data(const Endpoint& to, ByteView datagram);
  void flush_data();
  const DataStats& data_stats() const { return data_stats_; }
  // Runs `done` once every datagram handed to dispatch() so far has left (at once when none is in flight).
  void when_sent(std::function<void()> done);
  Endpoint local_endpoint() const;

 private:
  void receive();
  void drain();
  void flush_forwards();
  void send_batch(mmsghdr* messages, std::size_t count);
  void arm_timer();
  bool socket_readable();  // a datagram is queued on the socket

  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  protocol::Node& node_;
  logging::EventLog& log_;
  EventHook hook_;
  std::size_t sends_in_flight_ = 0;
  std::optional<Endpoint> multicast_group_;
  std::vector<Endpoint> multicast_interfaces_;
  std::function<void()> on_sent_;
  DataHandler data_handler_;
  DataStats data_stats_;
  WorkerPool* pool_ = nullptr;
  std::size_t jobs_on_pool_ = 0;    // handed to the pool, not yet resumed
  bool datagrams_waiting_ = false;  // while a datagram of a batch is handled: others are behind it
  int family_ = 0;                  // AF_INET or AF_INET6, once bound
  struct Batch;                     // recvmmsg/sendmmsg buffers
  std::unique_ptr<Batch> batch_;
  struct TxBatch;  // queue_data()'s sendmmsg buffers
  std::unique_ptr<TxBatch> tx_;
};

}  // namespace u2u::transport
