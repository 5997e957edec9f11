#include "impair/forger.hpp"

#include <utility>
#include <variant>

#include "protocol/transcript.hpp"

namespace u2u::impair {

std::string cause_numbers(std::span<const Cause> causes) {
  std::string numbers;
  for (const Cause c : causes) numbers += (numbers.empty() ? "" : ",") + std::to_string(static_cast<int>(c));
  return numbers;
}

Forger::Forger(std::array<std::vector<Cause>, 2> causes) : causes_(std::move(causes)) {}

std::vector<Forgery> Forger::on_datagram(Direction direction, ByteView datagram) {
  std::vector<Forgery> out;
  if (!active()) return out;
  const auto decoded = wire::decode_datagram(datagram);
  if (!decoded) return out;
  const wire::Body& body = decoded->message.body;
  const Direction back = opposite(direction);
  if (std::holds_alternative<wire::DirectCommunicationRequest>(body)) {
    const wire::Digest digest = protocol::request_digest(decoded->message);
    forge(out, back, Pretext::kRequestRefused, digest, decoded->destination, decoded->source);
    forge(out, direction, Pretext::kRequestWithdrawn, digest, decoded->source, decoded->destination);
  } else if (const auto* accept = std::get_if<wire::DirectCommunicationAccept>(&body)) {
    forge(out, back, Pretext::kAcceptRefused, accept->request_digest, decoded->destination, decoded->source);
  }
  return out;
}

void Forger::forge(std::vector<Forgery>& out, Direction direction, Pretext pretext, const wire::Digest& digest,
                   wire::Layer2Id source, wire::Layer2Id destination) {
  const std::vector<Cause>& causes = causes_[index(direction)];
  if (causes.empty()) return;
  const std::uint64_t n = forged_[index(direction)][static_cast<std::size_t>(pretext)]++;
  const Cause cause = causes[n % causes.size()];
  const wire::RejectedBy by = kForgedRejectedBy[(n / causes.size()) % kForgedRejectedBy.size()];
  const Bytes reject = wire::encode_reject({digest, cause, by});
  out.push_back({direction, pretext, wire::encode_datagram(source, destination, reject)});
}

}  // namespace u2u::impair
