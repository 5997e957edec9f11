#pragma once
// What every role's state machine shares: its own identity, and the sans-I/O interface the transport drives.
// A node takes a datagram (or a timer tick) and the time, and returns datagrams to send and events to log.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
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

struct Output {
  std::vector<Outbound> send;
  std::vector<Event> events;

  void merge(Output&& other);
};

class Node {
 public:
  virtual ~Node() = default;
  virtual Output on_datagram(const Endpoint& from, ByteView datagram, const Now& now) = 0;
  virtual Output on_timer(const Now& now) = 0;
  virtual std::optional<MonoTime> next_deadline() const = 0;
};

// Events every role emits the same way.
Event dropped_event(std::string_view reason, const Endpoint& from);
// The same for a message that names a request (by its digest), so that the drop shows in that session's ladder.
Event dropped_event(std::string_view reason, const Endpoint& from, const wire::Digest& request_digest);
Event check_failed_event(int step, std::string_view session, const Error& error);
// A refusal answered with a reject: check_failed (with `reject_to`, the role the reject goes to) and the reject.
void refuse(Output& out, int step, std::string_view session, const Error& error, Outbound reject,
            std::string_view reject_to);
// A step that sends a message: its event names the message and the role it goes to.
Event sent_event(int step, std::string_view session, std::string_view message, std::string_view to, std::string detail);

}  // namespace u2u::protocol
