#include "dataplane/replay_window.hpp"

namespace u2u::dataplane {

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t count) const {
  if (count >= top_) return Verdict::kFresh;
  if (top_ - count > kReplayWindowSize) return Verdict::kTooOld;
  const std::uint64_t bit = count % kReplayWindowBits;
  return (bits_[bit / 64] >> (bit % 64)) & 1U ? Verdict::kDuplicate : Verdict::kFresh;
}

bool ReplayWindow::mark(std::uint64_t count) {
  if (check(count) != Verdict::kFresh) return false;
  if (count >= top_) {
    // Slide: clear every word after the old highest COUNT's, up to the new one's (all of them when the jump is that
    // large), as RFC 6479 does.
    const std::uint64_t first_word = top_ == 0 ? 0 : (top_ - 1) / 64;
    const std::uint64_t last_word = count / 64;
    const std::uint64_t clear = last_word - first_word;
    for (std::uint64_t w = 1; w <= clear && w <= kWords; ++w) bits_[(first_word + w) % kWords] = 0;
    top_ = count + 1;
  }
  const std::uint64_t bit = count % kReplayWindowBits;
  bits_[bit / 64] |= std::uint64_t{1} << (bit % 64);
  return true;
}

}  // namespace u2u::dataplane
