// u2u-load: many simulated source UEs, each with its own credential, through one relay-ue to a target-ue; junk and
// bad-signature floods; the relay's resident memory. docs/reliability.md shows what it measured.
#include <iostream>
#include <string>
#include <vector>

#include "load/cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return u2u::load::main(args, std::cout, std::cerr);
}
