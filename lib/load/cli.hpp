#pragma once
// u2u-load's program: flags, the run, the summary on stdout and the JSON file.
#include <ostream>
#include <string>
#include <vector>

namespace u2u::load {

// `args` without the program name; returns the exit code (options.hpp).
int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace u2u::load
