#pragma once
// The protocol core never reads a clock: callers hand it the time.
#include <chrono>

namespace u2u {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

struct Now {
  MonoTime mono;  // for timers and expiry
  WallTime wall;  // for certificate validity
  static Now read() { return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()}; }
};

}  // namespace u2u
