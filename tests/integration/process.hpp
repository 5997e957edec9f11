#pragma once
// Child processes and their JSON logs, for integration tests of the real daemons.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"

namespace u2u::test {

using Json = nlohmann::json;
using namespace std::chrono_literals;

std::string bin(const std::string& program);  // path of a built program

class Process {
 public:
  // Starts argv[0] with stdout and stderr appended to `log_path`.
  Process(std::vector<std::string> argv, std::string log_path);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // SIGTERM, then SIGKILL after 2 s

  void signal(int sig) const;
  // The exit code, or nullopt when it did not exit within `timeout` (-signal when killed by a signal).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// Runs to completion; returns the exit code and fills `output` with stdout+stderr.
int run(const std::vector<std::string>& argv, std::string* output = nullptr);

std::string read_file(const std::string& path);
// Every line of the file that parses as a JSON object.
std::vector<Json> events(const std::string& log_path);
std::vector<Json> events(const std::string& log_path, const std::string& name);
// Polls the log until an event matches or `timeout` passes.
std::optional<Json> wait_for(const std::string& log_path, const std::function<bool(const Json&)>& match,
                             std::chrono::milliseconds timeout = 10s);
std::optional<Json> wait_for_event(const std::string& log_path, const std::string& name,
                                   std::chrono::milliseconds timeout = 10s);

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A base port N with N .. N+2 (the daemons) and N+10 .. N+12 (their discovery sockets) free for UDP on 127.0.0.1.
int free_base_port();
// A port free on 127.0.0.1 for a daemon to bind (a data-plane forward, a metrics endpoint), outside the ephemeral
// range and not handed out before in this process.
int free_udp_port();
int free_tcp_port();

// A provisioned loopback testbed (u2u-provision testbed --log-format json) and its daemons.
class LoopbackTestbed {
 public:
  // `provision_options`: more options for u2u-provision testbed (e.g. --discovery neighbours).
  explicit LoopbackTestbed(const std::vector<std::string>& provision_options = {});
  std::string dir() const { return tmp_.path(); }
  std::string config(const std::string& role) const { return dir() + "/" + role + ".yaml"; }
  std::string log(const std::string& role) const { return dir() + "/" + role + ".log"; }
  int base_port() const { return base_port_; }

  // Starts relay-ue / target-ue and waits for their "started" event.
  void start_relay();
  void start_target();
  // source-ue --once; returns its exit code.
  int run_source_once(std::chrono::milliseconds timeout = 20s);
  // The source's T5080 schedule in its config (timers.t5080_ms, timers.max_tries). A refusal is a hint (issue 13):
  // the source reports it once T5080 runs out, so tests of refusals shorten it (e.g. 3 tries: 0.5 + 1 + 1 s).
  void set_source_t5080(int t5080_ms, unsigned max_tries);
  // Replaces a party's credential: `u2u-provision issue` with the given CA dir and role.
  void reissue(const std::string& role_dir, const std::string& ca_dir, const std::string& role,
               const std::string& user_info_id, const std::vector<std::string>& extra = {});

  std::optional<Process> relay;
  std::optional<Process> target;

 private:
  TempDir tmp_;
  int base_port_;
};

// u2u-impair in front of 127.0.0.1:upstream_port, listening on a port of its choosing (read from "started").
struct Impair {
  Impair(const std::string& log, int upstream_port, std::vector<std::string> impairments);
  // SIGTERM; the counters of the last line ("stopping").
  Json stop();

  Process process;
  int port = 0;
};

// A u2u-load run: its exit code, output and JSON report, and the sources' events (as source-ue logs them).
struct LoadRun {
  int exit_code = 0;
  std::string output;
  Json report;
  std::string events_path;
};
// u2u-load from `tb`'s CA to its relay (or to `relay_port`, e.g. a u2u-impair proxy in front of it), measuring the
// relay's memory; `args` say what to send.
LoadRun run_load(const LoopbackTestbed& tb, const std::vector<std::string>& args, int relay_port = 0);

// A UDP socket on 127.0.0.1 (port 0: any), for playing a peer, an upstream or a server.
class UdpSocket {
 public:
  explicit UdpSocket(int port = 0);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  int port() const;
  int fd() const { return fd_; }
  void send_to(int port, ByteView data) const;
  void send_to(int port, std::string_view text) const { send_to(port, as_bytes(text)); }
  // A datagram and its sender's port, or nullopt after `timeout`.
  std::optional<std::pair<Bytes, int>> receive(std::chrono::milliseconds timeout = 2s) const;
  std::optional<std::pair<std::string, int>> receive_text(std::chrono::milliseconds timeout = 2s) const;

 private:
  int fd_;
};

// Replaces the one line "port: FROM" of a config with "port: TO".
void repoint(const std::string& config, int from, int to);
// Sets `key: value` where the config has a line for `key` (keys the daemons do not know are left alone).
void set_if_present(const std::string& config, const std::string& key, const std::string& value);

}  // namespace u2u::test
