// u2u-trace: the merged timeline of the three daemons' JSON logs, per handshake, as a ladder (and an SVG).
#include <iostream>
#include <string>
#include <vector>

#include "trace/cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return u2u::trace::run(args, std::cin, std::cout, std::cerr);
}
