#pragma once
// The receiver's replay and reordering window over COUNT (docs/protocol.md 11.5), after RFC 6479: a bitmap of the
// last kReplayWindowSize COUNT values, kept as a ring of 64-bit words so that sliding forward clears whole words.
// A COUNT is checked first (cheap, before the MAC), and marked only after its PDU's integrity verified.
#include <array>
#include <cstdint>

#include "dataplane/constants.hpp"

namespace u2u::dataplane {

class ReplayWindow {
 public:
  enum class Verdict { kFresh, kDuplicate, kTooOld };

  // May `count` still be delivered? Changes nothing.
  Verdict check(std::uint64_t count) const;
  // Marks `count` as delivered (after its integrity verified); returns false when check() would not say kFresh.
  bool mark(std::uint64_t count);
  // The highest COUNT marked so far plus one (0 before the first).
  std::uint64_t next_expected() const { return top_; }

 private:
  static constexpr std::size_t kWords = kReplayWindowBits / 64;
  // Bit (c mod kReplayWindowBits) of the ring stands for COUNT c, for c in (top_ - kReplayWindowSize, top_).
  std::array<std::uint64_t, kWords> bits_{};
  std::uint64_t top_ = 0;  // one past the highest COUNT marked
};

}  // namespace u2u::dataplane
