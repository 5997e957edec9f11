#pragma once
// Drives one sans-I/O protocol node over a UDP socket (PC5 Layer 2 stand-in) on a single-threaded
// io_context: receive -> node -> send, and one timer armed at the node's next deadline.
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "logging/event_log.hpp"
#include "protocol/node.hpp"

namespace u2u::transport {

boost::asio::ip::udp::endpoint to_asio(const Endpoint& e);
Endpoint from_asio(const boost::asio::ip::udp::endpoint& e);

class UdpRunner {
 public:
  using EventHook = std::function<void(const protocol::Event&)>;

  UdpRunner(boost::asio::io_context& io, protocol::Node& node, logging::EventLog& log);

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
  // Runs `done` once every datagram handed to dispatch() so far has left (at once when none is in flight).
  void when_sent(std::function<void()> done);
  Endpoint local_endpoint() const;

 private:
  void receive();
  void arm_timer();

  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  protocol::Node& node_;
  logging::EventLog& log_;
  EventHook hook_;
  std::size_t sends_in_flight_ = 0;
  std::optional<Endpoint> multicast_group_;
  std::vector<Endpoint> multicast_interfaces_;
  std::function<void()> on_sent_;
  boost::asio::ip::udp::endpoint sender_;
  // Larger than any datagram the protocol allows, so that oversize input is seen and refused, not truncated.
  std::array<std::uint8_t, 65536> buffer_{};
};

}  // namespace u2u::transport
