#include "transport/udp_runner.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/multicast.hpp>

#include <memory>

namespace u2u::transport {

namespace asio = boost::asio;
using asio::ip::udp;

udp::endpoint to_asio(const Endpoint& e) {
  if (e.v6) {
    asio::ip::address_v6::bytes_type b;
    std::copy(e.address.begin(), e.address.end(), b.begin());
    return {asio::ip::address_v6(b), e.port};
  }
  asio::ip::address_v4::bytes_type b;
  std::copy(e.address.begin(), e.address.begin() + 4, b.begin());
  return {asio::ip::address_v4(b), e.port};
}

Endpoint from_asio(const udp::endpoint& e) {
  Endpoint out;
  out.port = e.port();
  auto address = e.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());  // one name per peer
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.address.begin());
  } else {
    out.v6 = true;
    const auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.address.begin());
  }
  return out;
}

UdpRunner::UdpRunner(asio::io_context& io, protocol::Node& node, logging::EventLog& log)
    : socket_(io), timer_(io), node_(node), log_(log) {}

Status UdpRunner::bind(const Endpoint& local, bool shared) {
  boost::system::error_code ec;
  const udp::endpoint ep = to_asio(local);
  socket_.open(ep.protocol(), ec);
  if (!ec && shared) socket_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) return make_error(Cause::kNone, "bind", "cannot bind UDP " + local.to_string() + ": " + ec.message());
  return {};
}

Status UdpRunner::enable_multicast(const Endpoint& group, const std::vector<Endpoint>& interfaces) {
  boost::system::error_code ec;
  const auto group_address = to_asio(group).address();
  if (!group_address.is_multicast()) {
    return make_error(Cause::kNone, "multicast", group.to_string() + " is not a multicast address");
  }
  for (const auto& iface : interfaces) {
    const auto local = to_asio(iface).address();
    if (group_address.is_v4() && local.is_v4()) {
      socket_.set_option(asio::ip::multicast::join_group(group_address.to_v4(), local.to_v4()), ec);
    } else {
      socket_.set_option(asio::ip::multicast::join_group(group_address), ec);
    }
    if (ec)
      return make_error(Cause::kNone, "multicast",
                        "cannot join " + group.to_string() + " on " + iface.to_string() + ": " + ec.message());
  }
  socket_.set_option(asio::ip::multicast::hops(1), ec);                // one hop: the PC5 range
  socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);  // daemons of one host hear each other
  multicast_group_ = group;
  multicast_interfaces_ = interfaces;
  return {};
}

Endpoint UdpRunner::local_endpoint() const { return from_asio(socket_.local_endpoint()); }

void UdpRunner::start() {
  receive();
  arm_timer();
}

void UdpRunner::stop() {
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

void UdpRunner::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_, [this](boost::system::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (!ec) {
      dispatch(node_.on_datagram(from_asio(sender_), ByteView(buffer_.data(), n), Now::read()));
    }
    receive();
  });
}

void UdpRunner::dispatch(protocol::Output out) {
  // Events first: a step is logged before its datagram leaves, so the three logs merge in causal order.
  for (const auto& e : out.events) {
    log_.emit(e);
    if (hook_) hook_(e);
  }
  for (auto& send : out.send) {
    if (!socket_.is_open()) break;
    if (multicast_group_ && send.to == *multicast_group_ && !multicast_interfaces_.empty()) {
      // Out of each interface in turn (synchronously: the outbound interface is a socket option).
      for (const auto& iface : multicast_interfaces_) {
        boost::system::error_code ec;
        if (iface.v6) continue;
        socket_.set_option(asio::ip::multicast::outbound_interface(to_asio(iface).address().to_v4()), ec);
        if (!ec) socket_.send_to(asio::buffer(send.datagram), to_asio(send.to), 0, ec);
        if (ec) {
          log_.emit(protocol::event(protocol::Level::kWarn, "send_failed")
                        .with("to", send.to.to_string())
                        .with("interface", iface.to_string())
                        .with("reason", ec.message()));
        }
      }
      continue;
    }
    auto datagram = std::make_shared<Bytes>(std::move(send.datagram));
    ++sends_in_flight_;
    socket_.async_send_to(asio::buffer(*datagram), to_asio(send.to),
                          [this, datagram, to = send.to](boost::system::error_code ec, std::size_t) {
                            if (ec && ec != asio::error::operation_aborted) {
                              log_.emit(protocol::event(protocol::Level::kWarn, "send_failed")
                                            .with("to", to.to_string())
                                            .with("reason", ec.message()));
                            }
                            if (--sends_in_flight_ == 0 && on_sent_) std::exchange(on_sent_, nullptr)();
                          });
  }
  if (socket_.is_open()) arm_timer();
}

void UdpRunner::when_sent(std::function<void()> done) {
  if (sends_in_flight_ == 0) {
    done();
    return;
  }
  on_sent_ = std::move(done);
}

void UdpRunner::arm_timer() {
  const auto deadline = node_.next_deadline();
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    dispatch(node_.on_timer(Now::read()));
  });
}

}  // namespace u2u::transport
