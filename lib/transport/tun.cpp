#include "transport/tun.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace u2u::transport {

namespace {

Error tun_error(const std::string& what, int err) {
  std::string reason = what + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) reason += " (a TUN interface needs CAP_NET_ADMIN and access to /dev/net/tun)";
  return make_error(Cause::kNone, "tun", reason);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status configure(const TunSettings& s) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return tun_error("socket", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, s.name.c_str(), IFNAMSIZ - 1);
  auto* addr = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(s.address_v4);
  if (::ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) return tun_error("setting the address of " + s.name, errno);
  addr->sin_addr.s_addr = htonl(s.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - s.prefix));
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) return tun_error("setting the netmask of " + s.name, errno);
  ifr.ifr_mtu = static_cast<int>(s.mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0) return tun_error("setting the MTU of " + s.name, errno);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return tun_error("reading the flags of " + s.name, errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) return tun_error("bringing " + s.name + " up", errno);
  return {};
}

}  // namespace

Result<std::unique_ptr<TunDevice>> TunDevice::open(boost::asio::io_context& io, const TunSettings& settings) {
  Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return tun_error("opening /dev/net/tun", errno);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, settings.name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return tun_error("creating TUN interface " + settings.name, errno);
  if (auto s = configure(settings); !s) return s.error();
  return std::unique_ptr<TunDevice>(new TunDevice(io, fd.release(), ifr.ifr_name));
}

TunDevice::TunDevice(boost::asio::io_context& io, int fd, std::string name) : stream_(io, fd), name_(std::move(name)) {}

TunDevice::~TunDevice() { stop(); }

void TunDevice::start(std::function<void(ByteView packet)> on_packet, std::function<void()> on_batch_end) {
  on_packet_ = std::move(on_packet);
  on_batch_end_ = std::move(on_batch_end);
  read();
}

void TunDevice::stop() {
  boost::system::error_code ignored;
  stream_.close(ignored);
}

void TunDevice::read() {
  stream_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || !stream_.is_open()) return;
    // Drain what is there (bounded, so that other work gets its turn).
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::read(stream_.native_handle(), buffer_.data(), buffer_.size());
      if (n <= 0) break;
      on_packet_(ByteView(buffer_.data(), static_cast<std::size_t>(n)));
    }
    if (on_batch_end_) on_batch_end_();
    read();
  });
}

bool TunDevice::write(ByteView packet) {
  if (!stream_.is_open()) return false;
  return ::write(stream_.native_handle(), packet.data(), packet.size()) == static_cast<ssize_t>(packet.size());
}

}  // namespace u2u::transport
