#pragma once
// Drives one sans-I/O protocol node over a UDP socket (PC5 Layer 2 stand-in) on a single-threaded
// io_context: receive -> node -> send, and one timer armed at the node's next deadline.
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <functional>

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

  // Opens and binds the socket; the error names the address and the system's reason.
  Status bind(const Endpoint& local);
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
  std::function<void()> on_sent_;
  boost::asio::ip::udp::endpoint sender_;
  // Larger than any datagram the protocol allows, so that oversize input is seen and refused, not truncated.
  std::array<std::uint8_t, 65536> buffer_{};
};

}  // namespace u2u::transport
