// u2u-trace on the logs of the real daemons (issue #5 item 4): the ladder of a handshake on loopback, a refusal
// named where it happened, the SVG diagram, and the rekeyings of a link.
#include <gtest/gtest.h>
#include <signal.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

// u2u-trace's ladder layout: a 10-character offset ("   +12 ms"), two spaces, then 30 characters per party.
constexpr std::size_t kCellStart = 12;
constexpr std::size_t kColumnWidth = 30;
const std::vector<std::string> kColumns = {"source-ue", "relay-ue", "target-ue"};

struct Cell {
  int step = 0;  // 0 when the cell is no step
  std::string party;
  std::string text;
};

// The ladder rows of u2u-trace's text output, with the party whose column each one is in.
std::vector<Cell> ladder(const std::string& output) {
  std::vector<Cell> cells;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    const auto ms = line.find(" ms  ");
    if (ms == std::string::npos || ms + 5 != kCellStart || line.find_first_not_of(' ') > ms) continue;
    const std::size_t start = line.find_first_not_of(' ', kCellStart);
    if (start == std::string::npos || line[line.find_first_not_of(' ')] != '+') continue;
    const std::size_t column = (start - kCellStart) / kColumnWidth;
    Cell cell;
    cell.party = column < kColumns.size() ? kColumns[column] : "other";
    cell.text = line.substr(start);
    std::string t = cell.text.rfind("<-- ", 0) == 0 ? cell.text.substr(4) : cell.text;
    if (!t.empty() && std::isdigit(static_cast<unsigned char>(t[0]))) cell.step = std::stoi(t);
    cells.push_back(cell);
  }
  return cells;
}

std::string trace_svg_path(const LoopbackTestbed& tb) { return tb.dir() + "/trace.svg"; }

TEST(Trace, RealHandshakeIsTheLadderOfSteps1To8AtTheirPartiesAndExits0) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue"));
  // Every party has logged its part of the handshake before the trace reads the logs.
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "link_established"));
  ASSERT_TRUE(wait_for(tb.log("relay-ue"), [](const Json& e) { return e["event"] == "step" && e["step"] == 7; }));

  std::string out;
  const int code =
      run({bin("u2u-trace"), tb.log("source-ue"), tb.log("relay-ue"), tb.log("target-ue"), "--svg", trace_svg_path(tb)},
          &out);
  EXPECT_EQ(code, 0) << out;
  std::vector<int> steps;
  const std::vector<std::string> performer = {"",          "source-ue", "relay-ue", "relay-ue", "target-ue",
                                              "target-ue", "relay-ue",  "relay-ue", "source-ue"};
  for (const auto& cell : ladder(out)) {
    if (cell.step < 1 || cell.step > 8) continue;
    steps.push_back(cell.step);
    EXPECT_EQ(cell.party, performer[cell.step]) << "step " << cell.step << ": " << cell.text << "\n" << out;
  }
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8})) << out;
  EXPECT_NE(out.find("session "), std::string::npos);
  EXPECT_NE(out.find("outcome: established (link_established at source-ue and target-ue, equal kd_id "),
            std::string::npos)
      << out;
  const auto source_link = events(tb.log("source-ue"), "link_established");
  ASSERT_EQ(source_link.size(), 1u);
  EXPECT_NE(out.find(source_link[0]["kd_id"].get<std::string>()), std::string::npos);
  EXPECT_NE(out.find("session " + source_link[0]["session"].get<std::string>()), std::string::npos);

  const std::string svg = read_file(trace_svg_path(tb));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 200);
  for (const char* label : {"1 REQUEST  +", "3 REQUEST  +", "5 ACCEPT  +", "7 ACCEPT  +", "Legend", "</svg>"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }

  // The three logs in one stream on standard input, in any order, give the same ladder.
  std::string piped;
  EXPECT_EQ(run({"/bin/sh", "-c",
                 "cat '" + tb.log("target-ue") + "' '" + tb.log("source-ue") + "' '" + tb.log("relay-ue") + "' | '" +
                     bin("u2u-trace") + "' -"},
                &piped),
            0)
      << piped;
  std::vector<int> piped_steps;
  for (const auto& cell : ladder(piped)) {
    if (cell.step >= 1 && cell.step <= 8) piped_steps.push_back(cell.step);
  }
  EXPECT_EQ(piped_steps, steps);
}

TEST(Trace, RelayCredentialFromAnotherCaIsNamedAtTheTargetAndExits1) {
  LoopbackTestbed tb;
  std::string out;
  ASSERT_EQ(run({bin("u2u-provision"), "ca", "--out", tb.dir() + "/other-ca", "--name", "rogue-ca"}, &out), 0) << out;
  tb.reissue("relay-ue", tb.dir() + "/other-ca", "relay", "relay-ue");
  tb.set_source_t5080(500, 3);
  tb.start_relay();
  tb.start_target();
  EXPECT_EQ(tb.run_source_once(), 1);
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "check_failed"));
  ASSERT_TRUE(wait_for_event(tb.log("relay-ue"), "reject_forwarded"));

  const int code =
      run({bin("u2u-trace"), tb.log("relay-ue"), tb.log("target-ue"), tb.log("source-ue"), "--svg", trace_svg_path(tb)},
          &out);
  EXPECT_EQ(code, 1) << out;
  bool refused_at_target = false;
  for (const auto& cell : ladder(out)) {
    if (cell.text.find("FAILED relay_certificate_chain (#6)") != std::string::npos) {
      refused_at_target = cell.party == "target-ue" && cell.step == 4;
    }
  }
  EXPECT_TRUE(refused_at_target) << out;
  EXPECT_NE(out.find("failure: target-ue at step 4, check relay_certificate_chain, cause #6 (authentication failure)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("outcome: failed (refused by target-ue at step 4; link_failed at source-ue"), std::string::npos)
      << out;
  const std::string svg = read_file(trace_svg_path(tb));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  for (const char* label : {"1 REQUEST  +", "3 REQUEST  +", "REJECT #6  +", "FAILED relay_certificate_chain"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

// Issue 15: a link that carries user data rekeys on SIGUSR1 at either end; with the ends' logs at debug level the
// ladder shows each rekeying's REQUEST, RESPONSE and CONFIRM between the ends, and both ends' switch with the same
// kd_sess_id as the logs have it.
TEST(Trace, RekeyingsOfARealLinkAreInTheLadderWithTheSameKdSessAtBothEnds) {
  LoopbackTestbed tb;
  const int listen_port = free_udp_port(), to_port = free_udp_port();  // a UDP forward nobody uses: user data
  for (const std::string role : {"source-ue", "target-ue"}) {
    std::string cfg = read_file(tb.config(role));
    const auto level = cfg.find("  level: info");
    ASSERT_NE(level, std::string::npos) << cfg;
    cfg.replace(level, 13, "  level: debug");
    cfg += role == "source-ue"
               ? "data:\n  udp_forward:\n    - name: test\n      bearer: 1\n      listen:\n        address: 127.0.0.1\n"
                 "        port: " +
                     std::to_string(listen_port) + "\n"
               : "data:\n  udp_forward:\n    - name: test\n      bearer: 1\n      to:\n        address: 127.0.0.1\n"
                 "        port: " +
                     std::to_string(to_port) + "\n";
    std::ofstream(tb.config(role)) << cfg;
  }
  tb.start_relay();
  tb.start_target();
  Process source({bin("source-ue"), "--config", tb.config("source-ue")}, tb.log("source-ue"));
  ASSERT_TRUE(wait_for_event(tb.log("source-ue"), "data_plane_up", 20s)) << read_file(tb.log("source-ue"));
  source.signal(SIGUSR1);
  ASSERT_TRUE(wait_for(
      tb.log("target-ue"), [](const Json& e) { return e["event"] == "rekeyed" && e["generation"] == 1; }, 10s))
      << read_file(tb.log("source-ue"));
  tb.target->signal(SIGUSR1);
  ASSERT_TRUE(wait_for(
      tb.log("source-ue"), [](const Json& e) { return e["event"] == "rekeyed" && e["generation"] == 2; }, 10s))
      << read_file(tb.log("target-ue"));
  ASSERT_TRUE(wait_for(
      tb.log("target-ue"), [](const Json& e) { return e["event"] == "rekeyed" && e["generation"] == 2; }, 10s));
  source.signal(SIGTERM);
  source.wait(15s);
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "link_released", 10s));

  std::string out;
  EXPECT_EQ(run({bin("u2u-trace"), tb.log("source-ue"), tb.log("relay-ue"), tb.log("target-ue")}, &out), 0) << out;
  const auto ids = events(tb.log("source-ue"), "rekeyed");
  ASSERT_EQ(ids.size(), 2u);
  const std::string id1 = ids[0]["kd_sess_id"], id2 = ids[1]["kd_sess_id"];
  std::vector<std::string> rekeying;  // party: text, for every rekeying cell of the ladder
  for (const auto& cell : ladder(out)) {
    if (cell.text.find("REKEYING") != std::string::npos || cell.text.rfind("rekeyed", 0) == 0) {
      rekeying.push_back(cell.party + ": " + cell.text);
    }
  }
  EXPECT_EQ(rekeying, (std::vector<std::string>{
                          "source-ue: R1 REKEYING REQUEST gen 1 --> target-ue",
                          "target-ue: source-ue <-- R2 REKEYING RESPONSE gen 1",
                          "source-ue: R3 REKEYING CONFIRM gen 1 --> target-ue",
                          "source-ue: rekeyed gen 1 kd_sess_id " + id1 + " as initiator (signal)",
                          "target-ue: rekeyed gen 1 kd_sess_id " + id1 + " as responder, same at source-ue",
                          "target-ue: source-ue <-- R1 REKEYING REQUEST gen 2",
                          "source-ue: R2 REKEYING RESPONSE gen 2 --> target-ue",
                          "target-ue: source-ue <-- R3 REKEYING CONFIRM gen 2",
                          "target-ue: rekeyed gen 2 kd_sess_id " + id2 + " as initiator (signal)",
                          "source-ue: rekeyed gen 2 kd_sess_id " + id2 + " as responder, same at target-ue",
                      }))
      << out;
  EXPECT_NE(out.find("  rekeyings: 2 (generation 2 last, kd_sess_id " + id2 +
                     " at both ends); started by source-ue 1, target-ue 1; the same keys at both ends in 2 of 2\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("warning:"), std::string::npos) << out;
}

TEST(Trace, TextLogsAreSkippedWithACountAndAMissingLogIsExit2) {
  TempDir dir;
  const std::string path = dir.path() + "/relay-ue.log";
  std::ofstream(path) << "2026-11-28T00:16:56.427Z info  relay-ue started user_info_id=relay-ue\n";
  std::string out;
  EXPECT_EQ(run({bin("u2u-trace"), path}, &out), 1);  // no session to show
  EXPECT_NE(out.find("skipped 1 line that is not JSON (run the daemons with --log-format json)"), std::string::npos)
      << out;
  EXPECT_EQ(run({bin("u2u-trace"), dir.path() + "/target-ue.log"}, &out), 2);
  EXPECT_NE(out.find("cannot read"), std::string::npos) << out;
}

}  // namespace
}  // namespace u2u::test
