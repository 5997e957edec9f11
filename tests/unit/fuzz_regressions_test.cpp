// The fuzz targets' own code (tests/fuzz/fuzz_harness.hpp) under the normal test suite: every input a fuzzer ever
// crashed on (tests/fuzz/regressions/<target>/, one file per crash as libFuzzer wrote it), the committed seed corpus
// (tests/fuzz/corpus/<target>/) and the seeds the current vectors give, each through the same function and the same
// checks as in the fuzzer. A property violation throws here instead of aborting.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "fuzz/fuzz_harness.hpp"

namespace u2u {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(U2U_SOURCE_DIR) / "tests" / "fuzz";

[[noreturn]] void throw_failure(const std::string& what) { throw std::runtime_error(what); }

class FuzzHarness : public ::testing::Test {
 protected:
  void SetUp() override { fuzz::set_failure_handler(throw_failure); }
  void TearDown() override { fuzz::set_failure_handler(nullptr); }
};

// The input files of a directory, sorted; README and dot files are not inputs. A missing directory has none.
std::vector<fs::path> inputs_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.starts_with('.') || name.ends_with(".md")) continue;
    out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Bytes slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs every file of `dir` through `target`; returns how many there were.
std::size_t replay(const std::string& target, const fs::path& dir) {
  const auto files = inputs_in(dir);
  for (const auto& file : files) {
    const Bytes input = slurp(file);
    try {
      (void)fuzz::run_one(target, input);
    } catch (const std::exception& e) {
      ADD_FAILURE() << target << " on " << file.string() << ": " << e.what();
    }
  }
  return files.size();
}

TEST_F(FuzzHarness, EveryInputAFuzzerCrashedOnRunsCleanly) {
  std::size_t total = 0;
  for (const auto& target : fuzz::target_names()) total += replay(target, kFuzzDir / "regressions" / target);
  RecordProperty("regression_inputs", static_cast<int>(total));  // none is fine: the seeds below still run
}

TEST_F(FuzzHarness, EveryCommittedSeedRunsCleanly) {
  for (const auto& target : fuzz::target_names()) {
    EXPECT_GT(replay(target, kFuzzDir / "corpus" / target), 0u)
        << "no seeds in tests/fuzz/corpus/" << target << " (run scripts/fuzz-corpus)";
  }
}

TEST_F(FuzzHarness, SeedsFromTheCurrentVectorsRunCleanly) {
  for (const auto& target : fuzz::target_names()) {
    for (const auto& seed : fuzz::seeds(target)) {
      try {
        (void)fuzz::run_one(target, seed.data);
      } catch (const std::exception& e) {
        ADD_FAILURE() << target << " on seed " << seed.name << ": " << e.what();
      }
    }
  }
}

// The fuzzers are only useful behind the front door: the genuine datagrams of the vectors must decode and pass every
// signature check in the harness's fixture (same parties, keys, nonces and time as the vectors).
TEST_F(FuzzHarness, GenuineSeedsGetPastEverySignatureCheck) {
  for (const auto& seed : fuzz::seeds("fuzz_decode")) {
    EXPECT_TRUE(fuzz::fuzz_decode_one(seed.data)) << seed.name << " does not decode";
  }
  const auto progressing = [](const std::string& target) {
    std::size_t n = 0;
    for (const auto& seed : fuzz::seeds(target)) n += fuzz::run_one(target, seed.data).progress > 0 ? 1 : 0;
    return n;
  };
  EXPECT_GE(progressing("fuzz_relay"), 2u) << "the relay verifies no genuine request and accept (steps 2 and 6)";
  EXPECT_GE(progressing("fuzz_target"), 1u) << "the target verifies no genuine request (step 4)";
  EXPECT_GE(progressing("fuzz_source"), 1u) << "the source verifies no genuine accept (step 8)";
  // fuzz_discovery: each agent (the first input octet) accepts the genuine discovery messages it takes.
  std::size_t discovery_progress[4] = {};
  for (const auto& seed : fuzz::seeds("fuzz_discovery")) {
    ASSERT_GE(seed.data.size(), 2u) << seed.name;
    if (fuzz::run_one("fuzz_discovery", seed.data).progress > 0) ++discovery_progress[seed.data[0] % 4];
  }
  EXPECT_GE(discovery_progress[0], 3u) << "the relay accepts no genuine target announcement, solicitation or response";
  EXPECT_GE(discovery_progress[1], 1u) << "the target accepts no genuine target solicitation";
  EXPECT_GE(discovery_progress[2], 1u) << "a Model A source accepts no genuine relay announcement";
  EXPECT_GE(discovery_progress[3], 2u) << "a Model B source accepts no genuine announcement or response";
}

// A splice reaches the checks: the step 1 request with one bit of the Source User Info ID flipped is refused at
// step 2, without progress and without a property violation.
TEST_F(FuzzHarness, ASplicedRequestIsRefusedByTheRelay) {
  // control: splice, no priming, sender from the header; base 0 (step 1), field 1 (first IE), op 3 (XOR).
  const Bytes input{0x01, 0x00, 0x01, 0x03, 0x01};
  const auto outcome = fuzz::fuzz_relay_one(input);
  EXPECT_TRUE(outcome.decoded);
  EXPECT_EQ(outcome.progress, 0u);
  EXPECT_NE(std::find(outcome.events.begin(), outcome.events.end(), "check_failed"), outcome.events.end());
}

// The timestamp is checked before the certificate and the signature, so a splice reaches the clock-skew arithmetic
// with any 64-bit value: the relay announcement (base 1) with its timestamp (field 5) replaced is refused as stale,
// without progress (and, in the sanitizer build, without signed overflow).
TEST_F(FuzzHarness, ADiscoveryTimestampAnywhereInSixtyFourBitsIsRefusedAsStale) {
  for (const std::uint64_t t : {std::uint64_t{0}, std::uint64_t{0x7fffffffffffffff}, std::uint64_t{1} << 63,
                                (std::uint64_t{1} << 63) + 1780272000000u, ~std::uint64_t{0}}) {
    // agent 2 (Model A source); control: splice; base 1, field 5, op 0 (replace the value).
    Bytes input{0x02, 0x01, 0x01, 0x05, 0x00};
    for (int shift = 56; shift >= 0; shift -= 8) input.push_back(static_cast<std::uint8_t>(t >> shift));
    const auto outcome = fuzz::fuzz_discovery_one(input);
    EXPECT_TRUE(outcome.decoded) << t;
    EXPECT_EQ(outcome.progress, 0u) << t;
    EXPECT_NE(std::find(outcome.events.begin(), outcome.events.end(), "discovery_refused"), outcome.events.end()) << t;
  }
}

}  // namespace
}  // namespace u2u
