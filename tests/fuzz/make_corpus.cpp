// u2u-fuzz-corpus: writes the seed corpus of every fuzz target, from the genuine run of
// tests/vectors/protocol-v1.json, into OUT_DIR/<target>/<name>. scripts/fuzz-corpus runs it into tests/fuzz/corpus;
// scripts/fuzz runs it into its working corpus, so that fuzzing starts from the current wire format.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "fuzz/fuzz_harness.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: u2u-fuzz-corpus OUT_DIR\n";
    return 2;
  }
  const std::filesystem::path out_dir = argv[1];
  std::size_t written = 0;
  for (const auto& target : u2u::fuzz::target_names()) {
    const auto dir = out_dir / target;
    std::filesystem::create_directories(dir);
    for (const auto& seed : u2u::fuzz::seeds(target)) {
      std::ofstream out(dir / seed.name, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(seed.data.data()), static_cast<std::streamsize>(seed.data.size()));
      if (!out) {
        std::cerr << "u2u-fuzz-corpus: cannot write " << (dir / seed.name) << "\n";
        return 1;
      }
      ++written;
    }
  }
  std::cout << out_dir.string() << ": " << written << " seed files\n";
  return 0;
}
