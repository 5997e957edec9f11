#pragma once
// u2u-impair's decisions, sans-I/O: for a datagram received on one flow (a downstream peer) in one direction at
// a given time, which copies leave, with what bytes and after what delay. No sockets and no clock: the proxy
// (proxy.hpp) hands in the time, sends what comes back, and calls on_timer() at next_deadline().
//
// Per datagram, in this order: loss (dropped, nothing else happens); corruption (1-3 distinct bits flipped,
// length kept); duplication (a second, identical copy kDuplicateGapMin-kDuplicateGapMax after the first);
// reordering (held back and sent right after the next datagram of the same flow and direction, or, when none
// comes within reorder_delay, sent then); delay plus uniform jitter on each datagram as it leaves. Besides, and
// before all of it, the forger (forger.hpp) may answer the datagram with forged REJECTs: those leave at once, or
// right after the datagram when they follow it, and draw nothing from the random generators, so that the same
// seed impairs the genuine traffic alike with and without them.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/time.hpp"
#include "impair/direction.hpp"
#include "impair/forger.hpp"

namespace u2u::impair {

using Micros = std::chrono::microseconds;

// Every fixed choice and limit of the tool, in one place.
inline constexpr Micros kDuplicateGapMin{1000};  // a duplicate follows its original by 1 to 10 ms
inline constexpr Micros kDuplicateGapMax{10000};
inline constexpr int kMaxFlippedBits = 3;           // --corrupt flips 1 to 3 bits
inline constexpr Millis kDefaultReorderDelay{50};   // longest a reordered datagram waits for the next one
inline constexpr Millis kMaxDelaySetting{600'000};  // upper bound of every *-ms impairment flag

// The impairments of one direction. Percentages are 0-100 and may have decimals.
struct Settings {
  double loss_pct = 0;
  double duplicate_pct = 0;
  double reorder_pct = 0;
  double corrupt_pct = 0;
  Millis delay{0};
  Millis jitter{0};  // uniform extra delay in [0, jitter]
  Millis reorder_delay = kDefaultReorderDelay;
  std::vector<Cause> forge_reject{};  // causes of the REJECTs forged travelling this way, in turn (forger.hpp)

  bool is_identity() const;
  std::string describe() const;  // one line for the start-up log
};

// What happened in one direction. received = forwarded - duplicated + dropped + (datagrams held right now).
struct Counters {
  std::uint64_t received = 0;
  std::uint64_t forwarded = 0;   // datagrams handed to the socket, duplicates included
  std::uint64_t dropped = 0;     // lost (--loss), or held when its flow was forgotten
  std::uint64_t duplicated = 0;  // extra copies
  std::uint64_t reordered = 0;   // held and sent after a later datagram
  std::uint64_t corrupted = 0;
  std::uint64_t delayed = 0;  // sent later than received (delay/jitter, or held until reorder_delay ran out)
  std::uint64_t forged = 0;   // forged REJECTs sent this way (not in received or forwarded)
};

// xoshiro256** seeded through splitmix64: the same seed gives the same decisions with every compiler and
// standard library (std::uniform_*_distribution does not promise that).
class Prng {
 public:
  explicit Prng(std::uint64_t seed);
  std::uint64_t next();
  bool chance(double pct);               // true with probability pct / 100; draws nothing at 0 or 100
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n); n > 0

 private:
  std::array<std::uint64_t, 4> s_{};
};

// A downstream peer, as the proxy numbers them.
using FlowId = std::uint64_t;

struct Emission {
  FlowId flow = 0;
  Direction direction = Direction::kUp;
  Micros delay{0};  // from the `now` of the call that returned it; equal delays leave in list order
  Bytes datagram;
};

class Impairer {
 public:
  // settings[0] for Direction::kUp, settings[1] for Direction::kDown. Each direction draws from its own
  // generator, derived from `seed`, so that traffic one way does not change the decisions the other way.
  Impairer(std::array<Settings, 2> settings, std::uint64_t seed);

  std::vector<Emission> on_datagram(FlowId flow, Direction direction, Bytes datagram, MonoTime now);
  // Sends the held datagrams whose reorder delay has run out.
  std::vector<Emission> on_timer(MonoTime now);
  std::optional<MonoTime> next_deadline() const;
  // The flow's peer is gone: its held datagrams are dropped.
  void forget(FlowId flow);

  const Counters& counters(Direction direction) const { return counters_[index(direction)]; }
  const Settings& settings(Direction direction) const { return settings_[index(direction)]; }
  std::uint64_t seed() const { return seed_; }

 private:
  struct Held {
    Bytes datagram;
    bool duplicate = false;
    MonoTime deadline;
  };
  static std::size_t index(Direction direction) { return static_cast<std::size_t>(direction); }
  // Loss, corruption, duplication, reordering and delay; the delay of the datagram's first copy if it left now.
  std::optional<Micros> impair(std::vector<Emission>& out, FlowId flow, Direction direction, Bytes datagram,
                               MonoTime now);
  Micros transit_delay(Direction direction);
  // Appends the datagram (and its duplicate) leaving after at least `not_before`; returns the original's delay.
  Micros emit(std::vector<Emission>& out, FlowId flow, Direction direction, Bytes datagram, bool duplicate,
              Micros not_before);
  void corrupt(Direction direction, Bytes& datagram);

  std::array<Settings, 2> settings_;
  std::array<Counters, 2> counters_{};
  std::uint64_t seed_;
  std::array<Prng, 2> prng_;
  Forger forger_;
  std::map<std::pair<FlowId, Direction>, Held> held_;
};

}  // namespace u2u::impair
