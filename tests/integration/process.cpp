#include "integration/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace u2u::test {

std::string bin(const std::string& program) { return std::string(U2U_BIN_DIR) + "/" + program; }

namespace {

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = spawn(argv, fd);
  ::close(fd);
}

Process::~Process() {
  if (status_ || pid_ < 0) return;
  signal(SIGTERM);
  if (!wait(2s)) {
    signal(SIGKILL);
    wait(2s);
  }
}

void Process::signal(int sig) const {
  if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = decode_status(status);
      return status_;
    }
    std::this_thread::sleep_for(10ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

int run(const std::vector<std::string>& argv, std::string* output) {
  char name[] = "/tmp/u2u-run-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  const pid_t pid = spawn(argv, fd);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (output != nullptr) *output = read_file(name);
  ::unlink(name);
  return decode_status(status);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<Json> events(const std::string& log_path) {
  std::vector<Json> out;
  std::istringstream lines(read_file(log_path));
  std::string line;
  while (std::getline(lines, line)) {
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

std::vector<Json> events(const std::string& log_path, const std::string& name) {
  std::vector<Json> out;
  for (auto& e : events(log_path)) {
    if (e.value("event", "") == name) out.push_back(std::move(e));
  }
  return out;
}

std::optional<Json> wait_for(const std::string& log_path, const std::function<bool(const Json&)>& match,
                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    for (const auto& e : events(log_path)) {
      if (match(e)) return e;
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

std::optional<Json> wait_for_event(const std::string& log_path, const std::string& name,
                                   std::chrono::milliseconds timeout) {
  return wait_for(
      log_path, [&](const Json& e) { return e.value("event", "") == name; }, timeout);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "u2u-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("U2U_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// Ports a test hands to a daemon are checked free, released, and bound again by the daemon a moment later. They are
// taken below the kernel's ephemeral range (ip_local_port_range), which any socket bound to port 0 may get in that
// moment (a probe, a daemon's sender, another test), and never twice in one process.
int pick_ports(int type, std::initializer_list<int> offsets) {
  static std::mutex mutex;
  static std::set<int> handed_out;
  int ephemeral_low = 32768, ephemeral_high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low >> ephemeral_high;
  const int span = std::max(offsets) + 1;
  int low = 10000, high = ephemeral_low - span;
  if (high - low < 2000) low = ephemeral_high + 1, high = 65536 - span;
  std::random_device rd;
  std::mt19937 rng(rd());
  std::uniform_int_distribution<int> dist(low, high);
  const std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 500; ++attempt) {
    const int base = dist(rng);
    bool free = true;
    for (int i : offsets) {
      if (!free) break;
      if (handed_out.count(base + i) != 0) {
        free = false;
        break;
      }
      const int fd = ::socket(AF_INET, type, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<std::uint16_t>(base + i));
      free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
    }
    if (!free) continue;
    for (int i : offsets) handed_out.insert(base + i);
    return base;
  }
  throw std::runtime_error("no free ports on 127.0.0.1");
}

}  // namespace

int free_base_port() { return pick_ports(SOCK_DGRAM, {0, 1, 2, 10, 11, 12}); }  // daemons' and discovery ports

int free_udp_port() { return pick_ports(SOCK_DGRAM, {0}); }

int free_tcp_port() { return pick_ports(SOCK_STREAM, {0}); }

LoopbackTestbed::LoopbackTestbed(const std::vector<std::string>& provision_options) : base_port_(free_base_port()) {
  std::string out;
  std::vector<std::string> argv{bin("u2u-provision"), "testbed", "--out", dir(), "--log-format", "json"};
  argv.insert(argv.end(), {"--base-port", std::to_string(base_port_)});
  argv.insert(argv.end(), provision_options.begin(), provision_options.end());
  const int rc = run(argv, &out);
  if (rc != 0) throw std::runtime_error("u2u-provision testbed failed: " + out);
}

void LoopbackTestbed::start_relay() {
  relay.emplace(std::vector<std::string>{bin("relay-ue"), "--config", config("relay-ue")}, log("relay-ue"));
  if (!wait_for_event(log("relay-ue"), "started"))
    throw std::runtime_error("relay-ue did not start:\n" + read_file(log("relay-ue")));
}

void LoopbackTestbed::start_target() {
  target.emplace(std::vector<std::string>{bin("target-ue"), "--config", config("target-ue")}, log("target-ue"));
  if (!wait_for_event(log("target-ue"), "started"))
    throw std::runtime_error("target-ue did not start:\n" + read_file(log("target-ue")));
}

int LoopbackTestbed::run_source_once(std::chrono::milliseconds timeout) {
  Process source({bin("source-ue"), "--config", config("source-ue"), "--once"}, log("source-ue"));
  const auto rc = source.wait(timeout);
  return rc.value_or(-1000);
}

void LoopbackTestbed::set_source_t5080(int t5080_ms, unsigned max_tries) {
  std::string cfg = read_file(config("source-ue"));
  const auto set = [&](const std::string& key, const std::string& value) {
    const auto at = cfg.find("  " + key + ": ");
    if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + config("source-ue"));
    cfg.replace(at, cfg.find('\n', at) - at, "  " + key + ": " + value);
  };
  set("t5080_ms", std::to_string(t5080_ms));
  set("max_tries", std::to_string(max_tries));
  std::ofstream(config("source-ue")) << cfg;
}

void LoopbackTestbed::reissue(const std::string& role_dir, const std::string& ca_dir, const std::string& role,
                              const std::string& user_info_id, const std::vector<std::string>& extra) {
  std::vector<std::string> argv{
      bin("u2u-provision"),   "issue",  "--ca", ca_dir, "--role", role, "--user-info-id", user_info_id, "--out",
      dir() + "/" + role_dir, "--force"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::string out;
  if (run(argv, &out) != 0) throw std::runtime_error("u2u-provision issue failed: " + out);
}

Impair::Impair(const std::string& log, int upstream_port, std::vector<std::string> impairments)
    : process(
          [&] {
            std::vector<std::string> argv{bin("u2u-impair"),
                                          "--listen",
                                          "127.0.0.1:0",
                                          "--upstream",
                                          "127.0.0.1:" + std::to_string(upstream_port),
                                          "--seed",
                                          "1"};
            argv.insert(argv.end(), impairments.begin(), impairments.end());
            return argv;
          }(),
          log) {
  const auto started = wait_for_event(log, "started", 5s);
  if (!started) throw std::runtime_error("u2u-impair did not start:\n" + read_file(log));
  const std::string listen = (*started)["listen"];
  port = std::stoi(listen.substr(listen.rfind(':') + 1));
}

LoadRun run_load(const LoopbackTestbed& tb, const std::vector<std::string>& args, int relay_port) {
  LoadRun r;
  const std::string json_path = tb.dir() + "/load.json";
  r.events_path = tb.dir() + "/load-sources.log";
  std::vector<std::string> argv{bin("u2u-load"),
                                "--ca",
                                tb.dir() + "/ca",
                                "--relay",
                                "127.0.0.1:" + std::to_string(relay_port != 0 ? relay_port : tb.base_port() + 1),
                                "--relay-pid",
                                std::to_string(tb.relay->pid()),
                                "--json",
                                json_path,
                                "--events",
                                r.events_path,
                                "--seed",
                                "1",
                                "--timeout-ms",
                                "90000"};
  argv.insert(argv.end(), args.begin(), args.end());
  r.exit_code = run(argv, &r.output);
  const std::string json = read_file(json_path);
  r.report = json.empty() ? Json::object() : Json::parse(json);
  return r;
}

Json Impair::stop() {
  process.signal(SIGTERM);
  process.wait(5s);
  const auto last = events(process.log_path(), "stopping");
  return last.empty() ? Json::object() : last.back();
}

void repoint(const std::string& config, int from, int to) {
  std::string text = read_file(config);
  const std::string old_line = "port: " + std::to_string(from) + "\n";
  const auto at = text.find(old_line);
  if (at == std::string::npos || text.find(old_line, at + 1) != std::string::npos) {
    throw std::runtime_error("no single line \"" + old_line + "\" in " + config);
  }
  text.replace(at, old_line.size(), "port: " + std::to_string(to) + "\n");
  std::ofstream(config, std::ios::trunc) << text;
}

void set_if_present(const std::string& config, const std::string& key, const std::string& value) {
  std::string text = read_file(config);
  // The key at the start of a line, indented or not.
  std::size_t start = std::string::npos;
  for (std::size_t at = text.find(key + ": "); at != std::string::npos; at = text.find(key + ": ", at + 1)) {
    const auto line = text.rfind('\n', at);
    const auto indent = line == std::string::npos ? 0 : line + 1;
    if (text.find_first_not_of(' ', indent) == at) {
      start = at;
      break;
    }
  }
  if (start == std::string::npos) return;
  const auto end = text.find('\n', start);
  text.replace(start, end - start, key + ": " + value);
  std::ofstream(config, std::ios::trunc) << text;
}

UdpSocket::UdpSocket(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  int size = 4 << 20;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

UdpSocket::~UdpSocket() { ::close(fd_); }

int UdpSocket::port() const {
  sockaddr_in a{};
  socklen_t n = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
  return ntohs(a.sin_port);
}

void UdpSocket::send_to(int port, ByteView data) const {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

std::optional<std::pair<Bytes, int>> UdpSocket::receive(std::chrono::milliseconds timeout) const {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  Bytes buf(65536);
  sockaddr_in from{};
  socklen_t n = sizeof from;
  const ssize_t got = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &n);
  if (got < 0) return std::nullopt;
  buf.resize(static_cast<std::size_t>(got));
  return std::pair{std::move(buf), static_cast<int>(ntohs(from.sin_port))};
}

std::optional<std::pair<std::string, int>> UdpSocket::receive_text(std::chrono::milliseconds timeout) const {
  auto d = receive(timeout);
  if (!d) return std::nullopt;
  return std::pair{std::string(d->first.begin(), d->first.end()), d->second};
}

}  // namespace u2u::test
