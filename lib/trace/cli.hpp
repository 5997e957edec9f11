#pragma once
// u2u-trace's command line, apart from main() so that tests drive it with in-memory streams.
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace u2u::trace {

inline constexpr int kExitEstablished = 0;     // every session shown ended with link_established at both ends
inline constexpr int kExitNotEstablished = 1;  // some failed or never completed, or there was none to show
inline constexpr int kExitUsage = 2;           // bad flags, or an input or output file that cannot be used

std::string usage();
// `args` without the program name. Files named "-", or no file at all, mean `in`.
int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace u2u::trace
