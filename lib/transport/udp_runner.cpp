#include "transport/udp_runner.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/post.hpp>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dataplane/pdu.hpp"

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

bool address_on_host(const Endpoint& e) {
  asio::io_context io;
  udp::socket probe(io);
  udp::endpoint any_port = to_asio(e);
  any_port.port(0);
  boost::system::error_code ec;
  probe.open(any_port.protocol(), ec);
  if (!ec) probe.bind(any_port, ec);
  return ec != boost::system::errc::address_not_available;
}

namespace {

Endpoint from_sockaddr(const sockaddr_storage& s) {
  Endpoint e;
  if (s.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
    e.port = ntohs(a.sin6_port);
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.sin6_addr.s6_addr, kMapped, sizeof kMapped) == 0) {  // one name per peer, as from_asio()
      std::memcpy(e.address.data(), a.sin6_addr.s6_addr + 12, 4);
    } else {
      e.v6 = true;
      std::memcpy(e.address.data(), a.sin6_addr.s6_addr, 16);
    }
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    e.port = ntohs(a.sin_port);
    std::memcpy(e.address.data(), &a.sin_addr.s_addr, 4);
  }
  return e;
}

// `e` as the socket of family `family` addresses it (an IPv4 peer IPv4-mapped on an IPv6 socket).
socklen_t to_sockaddr(const Endpoint& e, int family, sockaddr_storage& s) {
  std::memset(&s, 0, sizeof s);
  if (family == AF_INET6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(e.port);
    if (e.v6) {
      std::memcpy(a.sin6_addr.s6_addr, e.address.data(), 16);
    } else {
      a.sin6_addr.s6_addr[10] = 0xff;
      a.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(a.sin6_addr.s6_addr + 12, e.address.data(), 4);
    }
    return sizeof(sockaddr_in6);
  }
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  a.sin_port = htons(e.port);
  std::memcpy(&a.sin_addr.s_addr, e.address.data(), 4);
  return sizeof(sockaddr_in);
}

}  // namespace

constexpr int kSocketBufferSize = 4 << 20;

// One recvmmsg batch and the forwards it produced (which point into the same buffers: a forwarded PDU is sent from
// where it was received, rewritten in place).
struct UdpRunner::Batch {
  static constexpr std::size_t kSize = 64;
  // More than any datagram the protocol allows: a larger one arrives truncated (MSG_TRUNC) and is refused.
  static constexpr std::size_t kBufferSize = 2048;
  static constexpr int kRoundsPerWakeup = 8;  // then timers and the other sockets get their turn
  std::array<std::array<std::uint8_t, kBufferSize>, kSize> buffers{};
  std::array<mmsghdr, kSize> in{};
  std::array<iovec, kSize> in_iov{};
  std::array<sockaddr_storage, kSize> from{};
  std::array<mmsghdr, kSize> out{};
  std::array<iovec, kSize> out_iov{};
  std::array<sockaddr_storage, kSize> to{};
  std::size_t forwards = 0;
};

// Datagrams this end sends in batches (queue_data), copied: each in its own buffer until the batch leaves.
struct UdpRunner::TxBatch {
  static constexpr std::size_t kSize = 64;
  std::array<std::array<std::uint8_t, Batch::kBufferSize>, kSize> buffers{};
  std::array<mmsghdr, kSize> messages{};
  std::array<iovec, kSize> iov{};
  std::array<sockaddr_storage, kSize> to{};
  std::size_t count = 0;
};

UdpRunner::UdpRunner(asio::io_context& io, protocol::Node& node, logging::EventLog& log)
    : socket_(io),
      timer_(io),
      node_(node),
      log_(log),
      batch_(std::make_unique<Batch>()),
      tx_(std::make_unique<TxBatch>()) {}

UdpRunner::~UdpRunner() = default;

Status UdpRunner::bind(const Endpoint& local, bool shared) {
  boost::system::error_code ec;
  const udp::endpoint ep = to_asio(local);
  socket_.open(ep.protocol(), ec);
  if (!ec && shared) socket_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) {
    // EADDRNOTAVAIL: the address is not on this host (yet); the daemon waits for it, unlike any other failure.
    const char* check = ec == boost::system::errc::address_not_available ? "address_not_available" : "bind";
    if (socket_.is_open()) socket_.close();
    return make_error(Cause::kNone, check, "cannot bind UDP " + local.to_string() + ": " + ec.message());
  }
  family_ = local.v6 ? AF_INET6 : AF_INET;
  // Room for bursts of data PDUs (a relay forwards both directions of every link): the kernel's default of about
  // 200 KiB overflows at a few hundred Mbit/s. Root may exceed net.core.[rw]mem_max; others get what it allows.
  for (const auto& [force, plain] : {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
    const int size = kSocketBufferSize;
    if (::setsockopt(socket_.native_handle(), SOL_SOCKET, force, &size, sizeof size) != 0) {
      ::setsockopt(socket_.native_handle(), SOL_SOCKET, plain, &size, sizeof size);
    }
  }
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
  socket_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    drain();
    if (socket_.is_open()) receive();
  });
}

void UdpRunner::drain() {
  Batch& b = *batch_;
  const int fd = socket_.native_handle();
  for (int round = 0; round < Batch::kRoundsPerWakeup && socket_.is_open(); ++round) {
    for (std::size_t i = 0; i < Batch::kSize; ++i) {
      b.in_iov[i] = {b.buffers[i].data(), Batch::kBufferSize};
      b.in[i].msg_hdr = {};
      b.in[i].msg_hdr.msg_name = &b.from[i];
      b.in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      b.in[i].msg_hdr.msg_iov = &b.in_iov[i];
      b.in[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd, b.in.data(), Batch::kSize, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    ++data_stats_.batches;
    const Now now = Now::read();
    for (int i = 0; i < n && socket_.is_open(); ++i) {
      const Endpoint from = from_sockaddr(b.from[i]);
      const std::span<std::uint8_t> datagram(b.buffers[i].data(), b.in[i].msg_len);
      if ((b.in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        protocol::Output out;
        out.events.push_back(
            protocol::dropped_event("datagram of more than " + std::to_string(Batch::kBufferSize) + " octets", from));
        out.events.back().level = protocol::Level::kInfo;  // too large: said at info (docs/protocol.md section 2)
        dispatch(std::move(out));
        continue;
      }
      if (data_handler_ && dataplane::is_data_pdu(datagram)) {
        ++data_stats_.received;
        if (const auto to = data_handler_(from, datagram)) {
          const std::size_t k = b.forwards++;
          b.out_iov[k] = {datagram.data(), datagram.size()};
          b.out[k].msg_hdr = {};
          b.out[k].msg_hdr.msg_name = &b.to[k];
          b.out[k].msg_hdr.msg_namelen = to_sockaddr(*to, b.from[i].ss_family, b.to[k]);
          b.out[k].msg_hdr.msg_iov = &b.out_iov[k];
          b.out[k].msg_hdr.msg_iovlen = 1;
        }
        continue;
      }
      // More datagrams wait when this one is not the last of the batch, or the batch was full.
      datagrams_waiting_ = i + 1 < n || static_cast<std::size_t>(n) == Batch::kSize;
      dispatch(node_.on_datagram(from, datagram, now));
      datagrams_waiting_ = false;
    }
    flush_forwards();  // before the buffers are received into again
    if (static_cast<std::size_t>(n) < Batch::kSize) return;
  }
}

void UdpRunner::send_batch(mmsghdr* messages, std::size_t count) {
  std::size_t sent = 0;
  while (sent < count && socket_.is_open()) {
    const int n =
        ::sendmmsg(socket_.native_handle(), messages + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    if (n <= 0) {
      // The socket's buffer is full (or the first datagram was refused): drop that one, try the rest.
      ++data_stats_.send_dropped;
      ++sent;
      continue;
    }
    data_stats_.forwarded += static_cast<std::uint64_t>(n);
    sent += static_cast<std::size_t>(n);
  }
}

void UdpRunner::flush_forwards() {
  send_batch(batch_->out.data(), batch_->forwards);
  batch_->forwards = 0;
}

void UdpRunner::queue_data(const Endpoint& to, ByteView datagram) {
  TxBatch& t = *tx_;
  if (datagram.size() > Batch::kBufferSize) {
    ++data_stats_.send_dropped;
    return;
  }
  const std::size_t k = t.count++;
  std::copy(datagram.begin(), datagram.end(), t.buffers[k].begin());
  t.iov[k] = {t.buffers[k].data(), datagram.size()};
  t.messages[k].msg_hdr = {};
  t.messages[k].msg_hdr.msg_name = &t.to[k];
  t.messages[k].msg_hdr.msg_namelen = to_sockaddr(to, family_, t.to[k]);
  t.messages[k].msg_hdr.msg_iov = &t.iov[k];
  t.messages[k].msg_hdr.msg_iovlen = 1;
  if (t.count == TxBatch::kSize) flush_data();
}

void UdpRunner::flush_data() {
  send_batch(tx_->messages.data(), tx_->count);
  tx_->count = 0;
}

bool UdpRunner::send_data(const Endpoint& to, ByteView datagram) {
  if (!socket_.is_open()) return false;
  sockaddr_storage s{};
  const socklen_t len = to_sockaddr(to, family_, s);
  if (::sendto(socket_.native_handle(), datagram.data(), datagram.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&s), len) < 0) {
    ++data_stats_.send_dropped;
    return false;
  }
  return true;
}

void UdpRunner::dispatch(protocol::Output out) {
  // Events first: a step is logged before its datagram leaves, so the three logs merge in causal order.
  for (const auto& e : out.events) {
    log_.emit(e);
    if (hook_) hook_(e);
  }
  // A job runs on the pool when another is running there or more datagrams wait: then the pool adds cores. Alone,
  // it runs here at once: handing it to a thread and back would only add two wake-ups to its latency, and what
  // arrives meanwhile finds it busy and goes to the pool.
  std::vector<protocol::Output> resumed;
  for (auto& job : out.jobs) {
    if (pool_ == nullptr) std::abort();  // a node given a job limit without a pool: a wiring error
    if (jobs_on_pool_ == 0 && !datagrams_waiting_ && !socket_readable()) {
      job.run();
      resumed.push_back(node_.on_job_done(job.id, Now::read()));
      continue;
    }
    ++jobs_on_pool_;
    pool_->post([this, job = std::move(job)] {
      job.run();
      asio::post(socket_.get_executor(), [this, id = job.id] {
        --jobs_on_pool_;
        if (socket_.is_open()) dispatch(node_.on_job_done(id, Now::read()));
      });
    });
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
  for (auto& r : resumed) dispatch(std::move(r));
  if (socket_.is_open()) arm_timer();
}

bool UdpRunner::socket_readable() {
  int queued = 0;
  return socket_.is_open() && ::ioctl(socket_.native_handle(), FIONREAD, &queued) == 0 && queued > 0;
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
