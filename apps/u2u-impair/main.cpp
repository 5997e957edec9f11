// u2u-impair: a UDP proxy that loses, duplicates, reorders, delays and corrupts datagrams on one testbed hop.
#include <iostream>
#include <string>
#include <vector>

#include "impair/cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return u2u::impair::run(args, std::cout, std::cerr);
}
