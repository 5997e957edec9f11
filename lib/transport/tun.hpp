#pragma once
// A TUN interface (Linux /dev/net/tun, IFF_TUN | IFF_NO_PI): IP packets routed into it are read here, and packets
// written here come out of it. Opening one needs CAP_NET_ADMIN (docs/protocol.md 11.1, config data.tun).
#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace u2u::transport {

struct TunSettings {
  std::string name;
  std::uint32_t address_v4 = 0;  // host order
  unsigned prefix = 24;
  std::uint32_t mtu = 1400;
};

class TunDevice {
 public:
  // Creates (or attaches to) the interface, gives it the address and MTU and brings it up. The error says what is
  // missing (CAP_NET_ADMIN, /dev/net/tun).
  static Result<std::unique_ptr<TunDevice>> open(boost::asio::io_context& io, const TunSettings& settings);
  ~TunDevice();

  // Reads packets until stop(), handing each to `on_packet`, and calls `on_batch_end` after each run of packets
  // read at one wake-up (where the caller sends what it batched).
  void start(std::function<void(ByteView packet)> on_packet, std::function<void()> on_batch_end = nullptr);
  void stop();
  // Writes one packet without blocking; false when it could not (counted by the caller).
  bool write(ByteView packet);
  const std::string& name() const { return name_; }

 private:
  TunDevice(boost::asio::io_context& io, int fd, std::string name);
  void read();

  boost::asio::posix::stream_descriptor stream_;
  std::string name_;
  std::function<void(ByteView)> on_packet_;
  std::function<void()> on_batch_end_;
  std::array<std::uint8_t, 65536> buffer_{};
};

}  // namespace u2u::transport
