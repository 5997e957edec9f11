#pragma once
// The two ways through one u2u-impair proxy.
#include <array>
#include <cstdint>
#include <string_view>

namespace u2u::impair {

// Up: from a downstream peer towards --upstream. Down: from the upstream back to the peer.
enum class Direction : std::uint8_t { kUp = 0, kDown = 1 };
inline constexpr std::array<Direction, 2> kDirections = {Direction::kUp, Direction::kDown};

inline std::string_view direction_name(Direction direction) { return direction == Direction::kUp ? "up" : "down"; }
inline Direction opposite(Direction direction) {
  return direction == Direction::kUp ? Direction::kDown : Direction::kUp;
}

}  // namespace u2u::impair
