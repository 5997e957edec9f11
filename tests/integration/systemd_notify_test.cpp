// Type=notify (systemd/u2u-*.service): a daemon started with NOTIFY_SOCKET sends READY=1 once its socket is
// bound and its credentials are loaded, and STOPPING=1 when SIGTERM stops it. The test plays systemd's part:
// it binds the unix datagram socket that NOTIFY_SOCKET names and reads what the daemon sends there.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

// The receiving end of NOTIFY_SOCKET, and the variable itself while the object lives (children inherit it).
class NotifySocket {
 public:
  // `abstract`: a Linux abstract socket, named "@..." in NOTIFY_SOCKET (systemd uses either form).
  NotifySocket(const std::string& dir, bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX) failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string name = abstract ? "@u2u-notify-test-" + std::to_string(::getpid()) : dir + "/notify";
    if (name.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + name);
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (abstract) addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) throw std::runtime_error("bind failed: " + name);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
};

bool has_line(const std::string& message, const std::string& line) {
  return ("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos;
}

void expect_ready_then_stopping(bool abstract) {
  LoopbackTestbed tb;
  NotifySocket notify(tb.dir(), abstract);
  tb.start_target();  // returns once the log shows "started"
  const auto ready = notify.receive(5s);
  ASSERT_TRUE(ready) << "no notification from target-ue\n" << read_file(tb.log("target-ue"));
  EXPECT_TRUE(has_line(*ready, "READY=1")) << *ready;
  // Sent after the bind: the status names the bound endpoint.
  EXPECT_NE(ready->find("STATUS=listening on 127.0.0.1:" + std::to_string(tb.base_port() + 2)), std::string::npos)
      << *ready;

  tb.target->signal(SIGTERM);
  const auto stopping = notify.receive(5s);
  ASSERT_TRUE(stopping) << read_file(tb.log("target-ue"));
  EXPECT_TRUE(has_line(*stopping, "STOPPING=1")) << *stopping;
  EXPECT_EQ(tb.target->wait(5s), 0);
}

TEST(SystemdNotify, TargetSendsReady1AfterBindingAndStopping1OnSigterm) { expect_ready_then_stopping(false); }

TEST(SystemdNotify, AbstractNotifySocketNameIsHonoured) { expect_ready_then_stopping(true); }

TEST(SystemdNotify, DaemonThatCannotBindSendsNoReady1) {
  LoopbackTestbed tb;
  NotifySocket notify(tb.dir(), false);
  std::string out;
  // A port already taken: the bind fails, the daemon exits 2 and must not have claimed readiness.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(tb.base_port() + 2));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(run({bin("target-ue"), "--config", tb.config("target-ue")}, &out), 2) << out;
  ::close(fd);
  while (const auto message = notify.receive(200ms)) {
    EXPECT_FALSE(has_line(*message, "READY=1")) << "READY=1 from a daemon that failed to bind: " << *message;
  }
}

TEST(SystemdNotify, AListenAddressNotOnTheHostIsWaitedForReadyWithItsStatusAndSigtermEndsTheWaitWithExit0) {
  LoopbackTestbed tb;
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface here: EADDRNOTAVAIL, as an address that arrives late.
  set_if_present(tb.config("target-ue"), "address", "192.0.2.1");
  std::string check;
  EXPECT_EQ(run({bin("target-ue"), "--check-config", "--config", tb.config("target-ue")}, &check), 0) << check;
  EXPECT_NE(check.find("warning: listen: 192.0.2.1:" + std::to_string(tb.base_port() + 2) +
                       " is not an address of this host now"),
            std::string::npos)
      << check;

  NotifySocket notify(tb.dir(), false);
  Process target({bin("target-ue"), "--config", tb.config("target-ue")}, tb.log("target-ue"));
  const auto waiting = wait_for_event(tb.log("target-ue"), "waiting_for_address", 5s);
  ASSERT_TRUE(waiting) << read_file(tb.log("target-ue"));
  EXPECT_EQ((*waiting)["key"], "listen");
  EXPECT_EQ((*waiting)["address"], "192.0.2.1:" + std::to_string(tb.base_port() + 2));
  const auto ready = notify.receive(5s);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(has_line(*ready, "READY=1")) << "boot must not wait on a daemon waiting for its address";
  EXPECT_NE(ready->find("STATUS=waiting for listen 192.0.2.1:"), std::string::npos) << *ready;
  // Still waiting, not exited with 2 as a bad configuration would.
  EXPECT_EQ(target.wait(1500ms), std::nullopt) << read_file(tb.log("target-ue"));
  EXPECT_TRUE(events(tb.log("target-ue"), "started").empty());
  target.signal(SIGTERM);
  EXPECT_EQ(target.wait(5s), 0) << read_file(tb.log("target-ue"));
}

}  // namespace
}  // namespace u2u::test
