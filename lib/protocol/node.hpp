#pragma once
// What every role's state machine shares: its own identity, and the sans-I/O interface the transport drives.
// A node takes a datagram (or a timer tick) and the time, and returns datagrams to send and events to log.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/endpoint.hpp"
#include "common/time.hpp"
#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "protocol/events.hpp"
#include "wire/messages.hpp"

namespace u2u::protocol {

// Seed step 0: what a party is provisioned with.
struct LocalParty {
  std::string user_info_id;
  wire::Layer2Id layer2_id = 0;
  crypto::Certificate certificate;
  std::shared_ptr<const crypto::PrivateKey> key;
  std::shared_ptr<const crypto::Signer> signer;  // normally `key`; tests substitute recording signers
  std::shared_ptr<const crypto::TrustStore> trust;
};

using RandomSource = std::function<void(std::span<std::uint8_t>)>;
RandomSource system_random();

struct Outbound {
  Endpoint to;
  Bytes datagram;
};

// A step's cryptography handed out (issue 11; s2n-tls's asynchronous private-key operations are the model): `run`
// touches only what it captured, never the node, and may run on any thread. Once it has run, the transport calls
// Node::on_job_done(id) on the node's thread, and the step continues there with what `run` left.
struct Job {
  std::uint64_t id = 0;
  std::function<void()> run;
};

struct Output {
  std::vector<Outbound> send;
  std::vector<Event> events;
  std::vector<Job> jobs;

  void merge(Output&& other);
};

class Node {
 public:
  virtual ~Node() = default;
  virtual Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) = 0;
  virtual Output on_timer(const Now& now) = 0;
  virtual std::optional<MonoTime> next_deadline() const = 0;

  // With a limit, steps hand their signature work out as Output::jobs, at most `limit` of new handshakes at once
  // (beyond it a role refuses new handshakes with #5 before any signature work); 0, the default: the work runs at
  // once, inside the call that needs it, and no job is ever handed out.
  void set_job_limit(std::size_t limit) { job_limit_ = limit; }
  std::size_t jobs_in_flight() const { return resumes_.size(); }
  // Job `id` has run: the step that handed it out continues. An unknown id does nothing.
  Output on_job_done(std::uint64_t id, const Now& now);

 protected:
  // Continues a step on the node's thread, once its job has run.
  using Resume = std::function<Output(Node& self, const Now& now)>;
  bool offloading() const { return job_limit_ != 0; }
  bool jobs_saturated() const { return offloading() && resumes_.size() >= job_limit_; }
  // Runs `work` and then `resume` at once (no limit set), or hands `work` out in `out` and keeps `resume` for
  // on_job_done().
  void run_job(Output& out, std::function<void()> work, Resume resume, const Now& now);

 private:
  std::size_t job_limit_ = 0;
  std::uint64_t next_job_id_ = 0;
  std::unordered_map<std::uint64_t, Resume> resumes_;
};

// Events every role emits the same way.
Event dropped_event(std::string_view reason, const Endpoint& from);
// The same for a message that names a request (by its digest), so that the drop shows in that session's ladder.
Event dropped_event(std::string_view reason, const Endpoint& from, const wire::Digest& request_digest);
// A datagram that does not decode: dropped at debug level, at info when it is larger than the protocol allows
// (docs/protocol.md section 2), so that a peer sending too much learns why it gets no answer.
Event undecodable_event(const Error& error, ByteView datagram, const Endpoint& from);
Event check_failed_event(int step, std::string_view session, const Error& error);
// A refusal answered with a reject: check_failed (with `reject_to`, the role the reject goes to) and the reject.
void refuse(Output& out, int step, std::string_view session, const Error& error, Outbound reject,
            std::string_view reject_to);
// A step that sends a message: its event names the message and the role it goes to.
Event sent_event(int step, std::string_view session, std::string_view message, std::string_view to, std::string detail);

}  // namespace u2u::protocol
