#pragma once
// u2u-impair's on-path attacker (--forge-reject), sans-I/O: for each DIRECT COMMUNICATION REQUEST or ACCEPT the
// proxy carries, the DIRECT COMMUNICATION REJECTs that anyone in radio range who holds no credential could send:
// unsigned, naming the request by its digest (docs/protocol.md 3.3, 3.5), with any cause. The forger reads
// the datagram as its sender sent it; what it forges is never lost or corrupted by the impairments, and the
// genuine datagram goes on as if there were no forger.
//
// Which way a forgery goes, for a trigger that passed the proxy travelling one way:
//   back     (the other way):  refuses a request or an accept, as if its addressee answered REJECT;
//   onwards  (the same way):   withdraws a request, as if its sender sent REJECT after it.
// Each direction has its own list of causes; a direction without one gets no forgeries.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "impair/direction.hpp"
#include "wire/messages.hpp"

namespace u2u::impair {

enum class Pretext : std::uint8_t {
  kRequestRefused = 0,    // back to a request's sender (Layer-2 IDs swapped), as if its addressee refused it
  kRequestWithdrawn = 1,  // after a request, to its addressee (same Layer-2 IDs), as if its sender withdrew it
  kAcceptRefused = 2,     // back to an accept's sender (Layer-2 IDs swapped), as if its addressee refused it
};
inline constexpr std::size_t kPretexts = 3;

// The Rejected-by values a forger names in turn: each after a full round of causes, so that one run of
// 3 x (number of causes) forgeries of one pretext tries every pair.
inline constexpr std::array<wire::RejectedBy, 3> kForgedRejectedBy = {
    wire::RejectedBy::kRelay, wire::RejectedBy::kTarget, wire::RejectedBy::kSource};

// "5,6,111": cause numbers separated by commas (the form --forge-reject takes and the start-up log shows).
std::string cause_numbers(std::span<const Cause> causes);

struct Forgery {
  Direction direction = Direction::kUp;
  Pretext pretext = Pretext::kRequestRefused;
  Bytes datagram;  // Layer-2 header and DIRECT COMMUNICATION REJECT
};

class Forger {
 public:
  // causes[d]: the causes of the REJECTs forged travelling in Direction d, used in turn (per pretext);
  // empty: none forged that way.
  explicit Forger(std::array<std::vector<Cause>, 2> causes);

  bool active() const { return !causes_[0].empty() || !causes_[1].empty(); }
  // The REJECTs answering `datagram`, received travelling `direction`. Anything but a request or an accept
  // that decodes gets none.
  std::vector<Forgery> on_datagram(Direction direction, ByteView datagram);

 private:
  static std::size_t index(Direction direction) { return static_cast<std::size_t>(direction); }
  void forge(std::vector<Forgery>& out, Direction direction, Pretext pretext, const wire::Digest& digest,
             wire::Layer2Id source, wire::Layer2Id destination);

  std::array<std::vector<Cause>, 2> causes_;
  std::array<std::array<std::uint64_t, kPretexts>, 2> forged_{};  // per direction and pretext, so far
};

}  // namespace u2u::impair
