#include "protocol/node.hpp"

#include "crypto/hash.hpp"
#include "protocol/constants.hpp"

namespace u2u::protocol {

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) { crypto::random_bytes(out); };
}

void Output::merge(Output&& other) {
  for (auto& s : other.send) send.push_back(std::move(s));
  for (auto& e : other.events) events.push_back(std::move(e));
  for (auto& j : other.jobs) jobs.push_back(std::move(j));
}

void Node::run_job(Output& out, std::function<void()> work, Resume resume, const Now& now) {
  if (!offloading()) {
    work();
    out.merge(resume(*this, now));
    return;
  }
  const std::uint64_t id = ++next_job_id_;
  resumes_.emplace(id, std::move(resume));
  out.jobs.push_back({id, std::move(work)});
}

Output Node::on_job_done(std::uint64_t id, const Now& now) {
  const auto it = resumes_.find(id);
  if (it == resumes_.end()) return {};
  const Resume resume = std::move(it->second);
  resumes_.erase(it);
  return resume(*this, now);
}

Event dropped_event(std::string_view reason, const Endpoint& from) {
  return event(Level::kDebug, "datagram_dropped").with("from", from.to_string()).with("reason", std::string(reason));
}

Event dropped_event(std::string_view reason, const Endpoint& from, const wire::Digest& request_digest) {
  return dropped_event(reason, from).with("session", to_hex(ByteView(request_digest).first(kSessionIdSize)));
}

Event undecodable_event(const Error& error, ByteView datagram, const Endpoint& from) {
  Event e = dropped_event(error.reason, from).with("check", error.check);
  if (datagram.size() > wire::kMaxDatagramSize) e.level = Level::kInfo;
  return e;
}

Event check_failed_event(int step, std::string_view session, const Error& error) {
  return event(Level::kWarn, "check_failed")
      .with("step", step)
      .with("session", std::string(session))
      .with("check", error.check)
      .with("cause", static_cast<std::int64_t>(error.cause))
      .with("cause_name", std::string(cause_name(error.cause)))
      .with("reason", error.reason);
}

void refuse(Output& out, int step, std::string_view session, const Error& error, Outbound reject,
            std::string_view reject_to) {
  out.events.push_back(check_failed_event(step, session, error).with("reject_to", std::string(reject_to)));
  out.send.push_back(std::move(reject));
}

Event sent_event(int step, std::string_view session, std::string_view message, std::string_view to,
                 std::string detail) {
  return event(Level::kInfo, "step")
      .with("step", step)
      .with("session", std::string(session))
      .with("message", std::string(message))
      .with("to", std::string(to))
      .with("detail", std::move(detail));
}

}  // namespace u2u::protocol
