// u2u-trace's parser, timeline and renderers on in-memory log lines shaped like the daemons' (lib/protocol,
// lib/logging/event_log.cpp): a success, a refusal at the target, interleaved sessions, three logs merged by
// time, junk, events this reader does not know, and rekeyings of the link.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "trace/cli.hpp"
#include "trace/parser.hpp"
#include "trace/render.hpp"
#include "trace/timeline.hpp"

namespace u2u::test {
namespace {

using nlohmann::ordered_json;
using namespace trace;

constexpr const char* kSession = "5c1e0f3a9b2d7e41";
constexpr const char* kOther = "0d9a7c4e11b2f360";

// 2026-11-28T00:16:56.427Z plus `ms`.
std::string at(int ms) {
  const int t = 56427 + ms;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-11-28T00:16:%02d.%03dZ", t / 1000, t % 1000);
  return buf;
}

std::string line(int ms, const std::string& role, const std::string& event,
                 ordered_json fields = ordered_json::object()) {
  ordered_json j;
  j["time"] = at(ms);
  j["level"] = event == "check_failed" ? "warn" : event == "link_failed" ? "error" : "info";
  j["role"] = role;
  j["event"] = event;
  for (auto& [k, v] : fields.items()) j[k] = v;
  return j.dump();
}

std::string step(int ms, const std::string& role, int n, const std::string& session, const std::string& detail,
                 ordered_json extra = ordered_json::object()) {
  ordered_json f = {{"step", n}, {"session", session}, {"detail", detail}};
  for (auto& [k, v] : extra.items()) f[k] = v;
  return line(ms, role, "step", f);
}

std::string established(int ms, const std::string& role, const std::string& session, const std::string& kd_id,
                        const std::string& peer) {
  return line(ms, role, "link_established",
              {{"user_info_id", role},
               {"peer", peer},
               {"relay", "relay-ue"},
               {"session", session},
               {"kd_id", kd_id},
               {"kd_sess_id", "77aa88bb99cc0011"},
               {"elapsed_ms", role == "source-ue" ? 4 : 0}});
}

struct Logs {
  std::vector<std::string> source, relay, target;
};

// Steps 1-3 as the source and the relay log them, from `t0` ms.
Logs request_forwarded(const std::string& session, int t0) {
  Logs l;
  l.source.push_back(step(t0, "source-ue", 1, session,
                          "DIRECT COMMUNICATION REQUEST with Authentication_Info sent to relay",
                          {{"peer", "target-ue"}, {"relay", "relay-ue"}}));
  l.relay.push_back(
      step(t0 + 1, "relay-ue", 2, session, "SIGN-Source UE verified; SIGN1-relay generated", {{"peer", "source-ue"}}));
  l.relay.push_back(step(t0 + 1, "relay-ue", 3, session,
                         "DIRECT COMMUNICATION REQUEST with both Authentication_Info sent to target",
                         {{"peer", "target-ue"}}));
  return l;
}

// A whole handshake as the three daemons log it, from `t0` ms.
Logs success(const std::string& session, int t0, const std::string& kd_at_target = "1f2e3d4c5b6a7988") {
  Logs l = request_forwarded(session, t0);
  l.target.push_back(step(t0 + 1, "target-ue", 4, session, "SIGN-Source UE and SIGN1-relay verified; KD derived",
                          {{"peer", "source-ue"}, {"relay", "relay-ue"}}));
  l.target.push_back(
      step(t0 + 2, "target-ue", 5, session, "DIRECT COMMUNICATION ACCEPT with Authentication_Info sent to relay"));
  l.target.push_back(established(t0 + 2, "target-ue", session, kd_at_target, "source-ue"));
  l.relay.push_back(
      step(t0 + 3, "relay-ue", 6, session, "SIGN-Target UE verified; SIGN2-relay generated", {{"peer", "target-ue"}}));
  l.relay.push_back(step(t0 + 3, "relay-ue", 7, session,
                         "DIRECT COMMUNICATION ACCEPT with both Authentication_Info sent to source",
                         {{"peer", "source-ue"}}));
  l.source.push_back(step(t0 + 4, "source-ue", 8, session, "SIGN-Target UE and SIGN2-relay verified; KD derived"));
  l.source.push_back(established(t0 + 4, "source-ue", session, "1f2e3d4c5b6a7988", "target-ue"));
  return l;
}

// The relay's credential from another CA: the target refuses at step 4, the relay forwards the reject.
Logs refused_at_target(const std::string& session, int t0) {
  Logs l = request_forwarded(session, t0);
  l.target.push_back(line(t0 + 1, "target-ue", "check_failed",
                          {{"step", 4},
                           {"session", session},
                           {"check", "relay_certificate_chain"},
                           {"cause", 6},
                           {"cause_name", "authentication failure"},
                           {"reason", "certificate of \"relay-ue\" does not chain to the CA"}}));
  l.relay.push_back(
      line(t0 + 2, "relay-ue", "reject_forwarded",
           {{"session", session}, {"cause", 6}, {"cause_name", "authentication failure"}, {"to", "source"}}));
  l.source.push_back(line(t0 + 2, "source-ue", "link_failed",
                          {{"user_info_id", "source-ue"},
                           {"peer", "target-ue"},
                           {"relay", "relay-ue"},
                           {"session", session},
                           {"cause", 6},
                           {"cause_name", "authentication failure"},
                           {"check", "rejected"},
                           {"reason", "DIRECT COMMUNICATION REJECT from the target (unauthenticated)"}}));
  return l;
}

std::string join(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

// One stream per party, parsed as inputs 0, 1, 2 (in the order given) and merged.
Timeline timeline_of(const std::vector<std::vector<std::string>>& inputs, ParseStats* stats = nullptr) {
  ParseStats local;
  std::vector<std::vector<Record>> parsed;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::istringstream in(join(inputs[i]));
    parsed.push_back(parse_stream(in, i, stats ? *stats : local));
  }
  return build_timeline(merge(std::move(parsed)));
}

std::vector<int> steps_of(const Session& s) {
  std::vector<int> steps;
  for (const auto& row : s.rows) {
    if (row.record.event == "step") steps.push_back(row.step);
  }
  return steps;
}

int run_cli(const std::vector<std::string>& args, const std::string& stdin_text, std::string* out_text = nullptr,
            std::string* err_text = nullptr) {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int code = run(args, in, out, err);
  if (out_text) *out_text = out.str();
  if (err_text) *err_text = err.str();
  return code;
}

TEST(TraceParser, ReadsTheDaemonsTimestampsToTheMillisecond) {
  EXPECT_EQ(parse_time("1970-01-01T00:00:01.500Z"), 1500);
  EXPECT_EQ(parse_time("1970-01-02T00:00:00.000Z"), 86'400'000);
  EXPECT_EQ(*parse_time("2026-11-28T00:16:56.427Z") - *parse_time("2026-11-27T23:59:59.999Z"), 1'016'428);
  EXPECT_EQ(parse_time("2026-11-28T01:16:56.427+01:00"), parse_time("2026-11-28T00:16:56.427Z"));
  EXPECT_EQ(parse_time("2026-11-28T00:16:56Z"), *parse_time("2026-11-28T00:16:56.000Z"));
  EXPECT_EQ(parse_time("2026-11-28T00:16:56.4271Z"), parse_time("2026-11-28T00:16:56.427Z"));
  for (const char* bad : {"", "2026-11-28", "2026-11-28T00:16:56.427", "2026-02-30T00:00:00Z", "2026-11-28T24:00:00Z",
                          "2026-11-28T00:16:56.Z", "2026-11-28T00:16:56.427Zjunk", "yesterday"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

TEST(TraceParser, SkipsTextLogsAndJunkAndCountsThem) {
  const std::string input =
      "2026-11-28T00:16:56.427Z info  source-ue step step=1 session=5c1e0f3a9b2d7e41\n"  // --log-format text
      "\n"
      "{\"time\":\"2026-11-28T00:16:56.427Z\",\"role\":\"source-ue\",\"event\":\"step\",\"step\":1,"
      "\"session\":\"5c1e0f3a9b2d7e41\"}\r\n"
      "{not json\n"
      "[1,2,3]\n"
      "{\"role\":\"relay-ue\",\"event\":\"step\"}\n"                             // no time
      "{\"time\":\"noon\",\"role\":\"relay-ue\",\"event\":\"step\"}\n"           // bad time
      "{\"time\":\"2026-11-28T00:16:56.427Z\",\"role\":7,\"event\":\"step\"}\n"  // role not text
      "\x01\x02\xff garbage\n";
  std::istringstream in(input);
  ParseStats stats;
  const auto records = parse_stream(in, 0, stats);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].line, 3u);
  EXPECT_EQ(records[0].session, kSession);
  EXPECT_EQ(records[0].number("step"), 1);
  EXPECT_EQ(stats.lines, 9u);
  EXPECT_EQ(stats.not_json, 4u);
  EXPECT_EQ(stats.invalid, 3u);

  // Nesting no daemon logs is refused before the JSON library recurses into it.
  Record r;
  const std::string deep =
      "{\"time\":\"2026-11-28T00:16:56.427Z\",\"role\":\"relay-ue\",\"event\":\"x\",\"a\":" + std::string(100000, '[') +
      std::string(100000, ']') + "}";
  EXPECT_EQ(parse_line(deep, r), LineKind::kInvalid);
  EXPECT_EQ(
      parse_line("{\"time\":\"2026-11-28T00:16:56.427Z\",\"role\":\"relay-ue\",\"event\":\"x\",\"a\":\"[[[[\"}", r),
      LineKind::kRecord);

  std::string out, err;
  EXPECT_EQ(run_cli({}, input, &out, &err), kExitNotEstablished);  // a lone step 1: incomplete
  EXPECT_NE(err.find("skipped 4 lines that are not JSON\n"), std::string::npos)
      << "beside JSON lines, other lines are another program's: no advice to use --log-format json\n"
      << err;
  EXPECT_NE(err.find("skipped 3 JSON lines"), std::string::npos) << err;
}

TEST(TraceTimeline, CompleteSuccessIsTheLadderOfSteps1To8WithEqualKdAtBothEnds) {
  const Logs l = success(kSession, 0);
  const Timeline t = timeline_of({l.source, l.relay, l.target});
  ASSERT_EQ(t.sessions.size(), 1u);
  const Session& s = t.sessions[0];
  EXPECT_EQ(s.id, kSession);
  EXPECT_EQ(steps_of(s), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  const std::vector<std::string> party = {"",          "source-ue", "relay-ue", "relay-ue", "target-ue",
                                          "target-ue", "relay-ue",  "relay-ue", "source-ue"};
  for (const auto& row : s.rows) {
    if (row.record.event == "step") {
      EXPECT_EQ(row.record.role, party[row.step]) << row.step;
    }
  }
  EXPECT_EQ(s.outcome, Outcome::kEstablished);
  EXPECT_FALSE(s.failure);
  EXPECT_EQ(s.source_id, "source-ue");
  EXPECT_EQ(s.relay_id, "relay-ue");
  EXPECT_EQ(s.target_id, "target-ue");
  EXPECT_EQ(s.rows.front().offset_ms, 0);
  EXPECT_EQ(s.rows.back().offset_ms, 4);
  // Steps 1, 3, 5, 7 are the messages, between the right parties.
  std::vector<std::string> arrows;
  for (const auto& row : s.rows) {
    for (const auto& m : row.messages) arrows.push_back(m.from + ">" + m.to + " " + m.label);
  }
  EXPECT_EQ(arrows, (std::vector<std::string>{"source-ue>relay-ue 1 REQUEST", "relay-ue>target-ue 3 REQUEST",
                                              "target-ue>relay-ue 5 ACCEPT", "relay-ue>source-ue 7 ACCEPT"}));

  const std::string text = render_text(s);
  EXPECT_NE(text.find("session 5c1e0f3a9b2d7e41  source-ue -> relay-ue -> target-ue"), std::string::npos) << text;
  EXPECT_NE(text.find("+0 ms  1 REQUEST -->"), std::string::npos) << text;
  EXPECT_NE(text.find("<-- 7 ACCEPT"), std::string::npos) << text;
  EXPECT_NE(text.find("outcome: established (link_established at source-ue and target-ue, equal kd_id "
                      "1f2e3d4c5b6a7988, kd_sess_id 77aa88bb99cc0011, 4 ms at source-ue)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("failure:"), std::string::npos);
}

TEST(TraceTimeline, RefusalAtTheTargetNamesItsCheckAndCauseAndTheSourcesLinkFailed) {
  const Logs l = refused_at_target(kSession, 0);
  const Timeline t = timeline_of({l.source, l.relay, l.target});
  ASSERT_EQ(t.sessions.size(), 1u);
  const Session& s = t.sessions[0];
  EXPECT_EQ(s.outcome, Outcome::kFailed);
  ASSERT_TRUE(s.failure);
  EXPECT_EQ(s.failure->role, "target-ue");
  EXPECT_EQ(s.failure->step, 4);
  EXPECT_EQ(s.failure->check, "relay_certificate_chain");
  EXPECT_EQ(s.failure->cause, 6);
  EXPECT_EQ(s.failure->cause_name, "authentication failure");
  // The REJECT back along the path: target to relay (after its refusal), relay to source (forwarded).
  std::vector<std::string> rejects;
  for (const auto& row : s.rows) {
    for (const auto& m : row.messages) {
      if (m.reject) rejects.push_back(m.from + ">" + m.to + " " + m.label);
    }
  }
  EXPECT_EQ(rejects, (std::vector<std::string>{"target-ue>relay-ue REJECT #6", "relay-ue>source-ue REJECT #6"}));
  EXPECT_EQ(s.rows.back().record.event, "link_failed");

  const std::string text = render_text(s);
  EXPECT_NE(text.find("4 FAILED relay_certificate_chain (#6)"), std::string::npos) << text;
  EXPECT_NE(text.find("failure: target-ue at step 4, check relay_certificate_chain, cause #6 (authentication "
                      "failure): certificate of \"relay-ue\" does not chain to the CA"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("outcome: failed (refused by target-ue at step 4; link_failed at source-ue, check rejected"),
            std::string::npos)
      << text;

  std::string out;
  EXPECT_EQ(run_cli({}, join(l.source) + join(l.relay) + join(l.target), &out), kExitNotEstablished);
  EXPECT_NE(out.find("1 session: 0 established, 1 failed, 0 incomplete"), std::string::npos) << out;
}

TEST(TraceTimeline, InterleavedSessionsAreSeparatedInOrderOfFirstAppearance) {
  const Logs a = success(kSession, 0);
  const Logs b = refused_at_target(kOther, 2);  // starts while the first is in flight
  std::vector<std::string> source = a.source, relay = a.relay, target = a.target;
  source.insert(source.end(), b.source.begin(), b.source.end());
  relay.insert(relay.end(), b.relay.begin(), b.relay.end());
  target.insert(target.end(), b.target.begin(), b.target.end());
  const Timeline t = timeline_of({relay, target, source});
  ASSERT_EQ(t.sessions.size(), 2u);
  EXPECT_EQ(t.sessions[0].id, kSession);
  EXPECT_EQ(t.sessions[1].id, kOther);
  EXPECT_EQ(steps_of(t.sessions[0]), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(steps_of(t.sessions[1]), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(t.sessions[0].outcome, Outcome::kEstablished);
  EXPECT_EQ(t.sessions[1].outcome, Outcome::kFailed);
  for (const auto& s : t.sessions) {
    for (const auto& row : s.rows) EXPECT_EQ(row.record.session, s.id);
  }
  EXPECT_EQ(t.sessions[1].rows.front().offset_ms, 0);  // offsets from each session's own start

  const std::string all = join(source) + join(relay) + join(target);
  EXPECT_EQ(run_cli({}, all), kExitNotEstablished);
  std::string out;
  EXPECT_EQ(run_cli({"--session", kSession}, all, &out), kExitEstablished);
  EXPECT_EQ(out.find(kOther), std::string::npos) << out;
  EXPECT_EQ(run_cli({"--session=0D9A7C4E11B2F360"}, all, &out), kExitNotEstablished);  // case-insensitive
  EXPECT_NE(out.find("relay_certificate_chain"), std::string::npos);
}

TEST(TraceTimeline, ThreeLogsAreMergedByTimeAndSameMillisecondEventsInProtocolOrder) {
  // Steps 2, 3 (relay) and 4 (target) share a millisecond, so do 5 and the target's link_established: the inputs'
  // order must not matter.
  const Logs l = success(kSession, 0);
  for (const auto& order : std::vector<std::vector<std::vector<std::string>>>{
           {l.source, l.relay, l.target}, {l.target, l.relay, l.source}, {l.relay, l.source, l.target}}) {
    const Timeline t = timeline_of(order);
    ASSERT_EQ(t.sessions.size(), 1u);
    EXPECT_EQ(steps_of(t.sessions[0]), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(t.sessions[0].outcome, Outcome::kEstablished);
  }
  // One stream holding all three logs one after the other (cat source relay target | u2u-trace) too.
  std::vector<std::string> cat = l.target;
  cat.insert(cat.end(), l.relay.begin(), l.relay.end());
  cat.insert(cat.end(), l.source.begin(), l.source.end());
  EXPECT_EQ(steps_of(timeline_of({cat}).sessions[0]), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  // The same log given twice is read once.
  const Timeline twice = timeline_of({l.source, l.relay, l.target, l.relay});
  EXPECT_EQ(steps_of(twice.sessions[0]), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(TraceTimeline, UnknownEventsAppearInTheirSessionByNameAndSessionlessOnesBeforeIt) {
  Logs l = success(kSession, 10);
  // Discovery before step 1 (no session), a key confirmation after step 8 (a step 9 and a new event).
  l.source.insert(l.source.begin(), line(0, "source-ue", "discovery_solicitation", {{"relay", "relay-ue"}}));
  l.relay.insert(l.relay.begin(), line(3, "relay-ue", "discovery_response", {{"detail", "announced to source-ue"}}));
  l.source.push_back(
      step(15, "source-ue", 9, kSession, "LINK CONFIRM with the source's key confirmation sent to relay"));
  l.relay.push_back(step(15, "relay-ue", 9, kSession, "LINK CONFIRM forwarded to target"));
  l.target.push_back(step(16, "target-ue", 9, kSession, "LINK CONFIRM verified: the source holds KD-sess"));
  l.target.push_back(line(16, "target-ue", "key_confirmed", {{"session", kSession}, {"detail", "KD-sess confirmed"}}));
  l.relay.push_back(line(20, "relay-ue", "stopping", {{"signal", 15}}));
  const Timeline t = timeline_of({l.source, l.relay, l.target});
  ASSERT_EQ(t.sessions.size(), 1u);
  const Session& s = t.sessions[0];
  ASSERT_EQ(s.before.size(), 2u);
  EXPECT_EQ(s.before[0].record.event, "discovery_solicitation");
  EXPECT_EQ(s.before[1].record.event, "discovery_response");
  EXPECT_EQ(s.before[0].offset_ms, -10);
  ASSERT_EQ(t.after.size(), 1u);
  EXPECT_EQ(t.after[0].record.event, "stopping");
  EXPECT_EQ(steps_of(s), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9}));
  EXPECT_EQ(s.rows.back().record.event, "key_confirmed");
  EXPECT_EQ(s.outcome, Outcome::kEstablished);
  // Step 9's messages, from what the detail says.
  std::vector<std::string> step9;
  for (const auto& row : s.rows) {
    for (const auto& m : row.messages) {
      if (row.step == 9) step9.push_back(m.from + ">" + m.to + " " + m.label);
    }
  }
  EXPECT_EQ(step9,
            (std::vector<std::string>{"source-ue>relay-ue 9 LINK CONFIRM", "relay-ue>target-ue 9 LINK CONFIRM"}));

  const std::string text = render_text(s);
  EXPECT_NE(text.find("key_confirmed: KD-sess confirmed"), std::string::npos) << text;
  EXPECT_NE(text.find("-10 ms  source-ue discovery_solicitation relay=relay-ue"), std::string::npos) << text;
  EXPECT_NE(text.find("9 LINK CONFIRM -->"), std::string::npos) << text;
}

TEST(TraceTimeline, DifferentKdIdsAtTheTwoEndsAreAFailure) {
  const Logs l = success(kSession, 0, "ffffffffffffffff");
  const Timeline t = timeline_of({l.source, l.relay, l.target});
  EXPECT_EQ(t.sessions[0].outcome, Outcome::kFailed);
  EXPECT_NE(t.sessions[0].summary.find("different KD"), std::string::npos);
}

TEST(TraceTimeline, OneEndsLogAloneIsIncompleteAndSaysWhatIsMissing) {
  const Logs l = success(kSession, 0);
  const Timeline t = timeline_of({l.target});
  ASSERT_EQ(t.sessions.size(), 1u);
  const Session& s = t.sessions[0];
  EXPECT_EQ(s.outcome, Outcome::kIncomplete);
  EXPECT_NE(s.summary.find("no outcome at source-ue"), std::string::npos) << s.summary;
  EXPECT_NE(std::find(s.notes.begin(), s.notes.end(), "no event from relay-ue in this session"), s.notes.end());
}

TEST(TraceTimeline, TimeoutAtTheSourceIsAFailureWithCheckTimeout) {
  const std::vector<std::string> source = {
      step(0, "source-ue", 1, kSession, "DIRECT COMMUNICATION REQUEST with Authentication_Info sent to relay"),
      line(300, "source-ue", "link_failed",
           {{"user_info_id", "source-ue"},
            {"session", kSession},
            {"cause", 0},
            {"cause_name", "none"},
            {"check", "timeout"},
            {"reason", "no answer within 300 ms (T5080)"}})};
  const Timeline t = timeline_of({source});
  const Session& s = t.sessions[0];
  EXPECT_EQ(s.outcome, Outcome::kFailed);
  ASSERT_TRUE(s.failure);
  EXPECT_EQ(s.failure->role, "source-ue");
  EXPECT_EQ(s.failure->check, "timeout");
  EXPECT_EQ(s.rows.back().offset_ms, 300);
}

TEST(TraceTimeline, ClocksThatDisagreeBetweenHostsAreNoted) {
  Logs l = success(kSession, 0);
  // The target's host clock is 50 ms behind.
  for (auto& text : l.target) {
    auto j = ordered_json::parse(text);
    j["time"] = at(-49);
    text = j.dump();
  }
  const Session s = timeline_of({l.source, l.relay, l.target}).sessions[0];
  ASSERT_FALSE(s.notes.empty());
  EXPECT_NE(s.notes[0].find("step 4 at target-ue is logged"), std::string::npos) << s.notes[0];
}

// Rekeyings of the link (docs/protocol.md 12) as the two ends log them: `rekeying` (debug) when the initiator sends
// its REQUEST, `rekey_answered` (debug) when the responder sends its RESPONSE, `rekeyed` (info) at each end's switch.
std::string rekey_event(int ms, const std::string& role, const std::string& event, int generation,
                        ordered_json extra = ordered_json::object()) {
  ordered_json f = {{"user_info_id", role},
                    {"peer", role == "source-ue" ? "target-ue" : "source-ue"},
                    {"session", kSession},
                    {"generation", generation}};
  for (auto& [k, v] : extra.items()) f[k] = v;
  std::string text = line(ms, role, event, f);
  if (event == "rekeying" || event == "rekey_answered") {
    auto j = ordered_json::parse(text);
    j["level"] = "debug";
    text = j.dump();
  }
  return text;
}

std::string rekeyed(int ms, const std::string& role, int generation, const std::string& kd_sess_id,
                    const std::string& as, const std::string& trigger = "") {
  ordered_json f = {{"kd_sess_id", kd_sess_id}, {"data_kd_sess_id", 19616}, {"kd_id", "1f2e3d4c5b6a7988"},
                    {"kd_renewed", "no"},       {"forward_secrecy", "off"}, {"as", as}};
  if (!trigger.empty()) f["trigger"] = trigger;
  return rekey_event(ms, role, "rekeyed", generation, f);
}

// The handshake, then generation 1 started by the source at +100 ms, all four events of it in one millisecond and
// logged at debug level; generation 2 started by the target at +200 ms, its logs at info level (rekeyed only).
Logs with_rekeyings(const std::string& target_kd_sess_id_2 = "cb23feef") {
  Logs l = success(kSession, 0);
  l.source.push_back(rekey_event(100, "source-ue", "rekeying", 1, {{"trigger", "time"}}));
  l.target.push_back(rekey_event(100, "target-ue", "rekey_answered", 1, {{"kd_sess_id", "4ca0d166"}}));
  l.source.push_back(rekeyed(100, "source-ue", 1, "4ca0d166", "initiator", "time"));
  l.target.push_back(rekeyed(100, "target-ue", 1, "4ca0d166", "responder"));
  l.target.push_back(rekeyed(200, "target-ue", 2, target_kd_sess_id_2, "initiator", "signal"));
  l.source.push_back(rekeyed(201, "source-ue", 2, "cb23feef", "responder"));
  return l;
}

std::vector<std::string> rekey_rows(const Session& s) {
  std::vector<std::string> rows;
  for (const auto& row : s.rows) {
    const Record& r = row.record;
    if (r.event.rfind("rekey", 0) == 0) rows.push_back(r.role + " " + r.event + " " + r.text("generation"));
  }
  return rows;
}

TEST(TraceTimeline, RekeyingsAreInTheLadderWithTheirMessagesAndTheSwitchOfBothEnds) {
  const Logs l = with_rekeyings();
  // The target's log first: the same millisecond's events of generation 1 still come in protocol order.
  const Timeline t = timeline_of({l.target, l.relay, l.source});
  ASSERT_EQ(t.sessions.size(), 1u);
  const Session& s = t.sessions[0];
  EXPECT_EQ(rekey_rows(s),
            (std::vector<std::string>{"source-ue rekeying 1", "target-ue rekey_answered 1", "source-ue rekeyed 1",
                                      "target-ue rekeyed 1", "target-ue rekeyed 2", "source-ue rekeyed 2"}));
  std::vector<std::string> arrows;
  for (const auto& row : s.rows) {
    for (const auto& m : row.messages) {
      if (m.end_to_end) arrows.push_back(m.from + ">" + m.to + " " + m.label);
    }
  }
  // Without the debug events of generation 2, its CONFIRM is still known: the initiator sends it as it switches.
  EXPECT_EQ(arrows,
            (std::vector<std::string>{
                "source-ue>target-ue R1 REKEYING REQUEST gen 1", "target-ue>source-ue R2 REKEYING RESPONSE gen 1",
                "source-ue>target-ue R3 REKEYING CONFIRM gen 1", "target-ue>source-ue R3 REKEYING CONFIRM gen 2"}));
  ASSERT_EQ(s.rekeys.size(), 2u);
  EXPECT_EQ(s.rekeys[0].generation, 1);
  EXPECT_EQ(s.rekeys[0].initiator, "source-ue");
  EXPECT_EQ(s.rekeys[0].trigger, "time");
  EXPECT_EQ(s.rekeys[1].initiator, "target-ue");
  EXPECT_EQ(s.rekeys[1].source_kd_sess_id, "cb23feef");
  EXPECT_EQ(s.rekeys[1].target_kd_sess_id, "cb23feef");
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_EQ(s.outcome, Outcome::kEstablished);

  const std::string text = render_text(s);
  for (const char* expected : {
           "   +100 ms  R1 REKEYING REQUEST gen 1 --> target-ue\n",
           "   +100 ms                                                              source-ue <-- R2 REKEYING RESPONSE "
           "gen 1\n",
           "   +100 ms  R3 REKEYING CONFIRM gen 1 --> target-ue\n"
           "   +100 ms  rekeyed gen 1 kd_sess_id 4ca0d166 as initiator (time)\n",
           "rekeyed gen 1 kd_sess_id 4ca0d166 as responder, same at source-ue\n",
           "source-ue <-- R3 REKEYING CONFIRM gen 2\n",
           "rekeyed gen 2 kd_sess_id cb23feef as initiator (signal)\n",
           "   +201 ms  rekeyed gen 2 kd_sess_id cb23feef as responder, same at target-ue\n",
           "  rekeyings: 2 (generation 2 last, kd_sess_id cb23feef at both ends); started by source-ue 1, target-ue 1; "
           "the same keys at both ends in 2 of 2\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  EXPECT_EQ(text.find("warning:"), std::string::npos) << text;

  const std::string svg = render_svg({&s});
  for (const char* label : {"R1 REKEYING REQUEST gen 1  +100 ms", "R2 REKEYING RESPONSE gen 1  +100 ms",
                            "R3 REKEYING CONFIRM gen 1  +100 ms", "R3 REKEYING CONFIRM gen 2  +200 ms",
                            "rekeyed gen 2 kd_sess_id cb23feef as responder, same at target-ue", "rekey-head",
                            "rekeyings: 2 (generation 2 last"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  std::string out;
  EXPECT_EQ(run_cli({}, join(l.source) + join(l.relay) + join(l.target), &out), kExitEstablished) << out;
}

TEST(TraceTimeline, RekeyingThatLeavesTheEndsWithDifferentKeysIsAWarningAndExit1) {
  const Logs l = with_rekeyings("deadbeef");
  const Timeline t = timeline_of({l.source, l.relay, l.target});
  const Session& s = t.sessions[0];
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0],
            "rekeying generation 2: kd_sess_id cb23feef at source-ue, deadbeef at target-ue: the two ends hold "
            "different keys");
  // The handshake itself established the link; the later of the two rekeyed rows of generation 2 is the failure.
  EXPECT_EQ(s.outcome, Outcome::kEstablished);
  const auto failed = std::find_if(s.rows.begin(), s.rows.end(), [](const Row& r) { return r.failure; });
  ASSERT_NE(failed, s.rows.end());
  EXPECT_EQ(failed->record.role, "source-ue");
  EXPECT_EQ(failed->record.text("generation"), "2");
  const std::string text = render_text(s);
  EXPECT_NE(text.find("rekeyed gen 2 kd_sess_id cb23feef as responder, DIFFERENT at target-ue: kd_sess_id deadbeef"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  warning: rekeying generation 2: kd_sess_id cb23feef at source-ue, deadbeef at target-ue"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the same keys at both ends in 1 of 2"), std::string::npos) << text;
  EXPECT_NE(render_svg({&s}).find("warning: rekeying generation 2"), std::string::npos);
  std::string out;
  EXPECT_EQ(run_cli({}, join(l.source) + join(l.relay) + join(l.target), &out), kExitNotEstablished) << out;
}

TEST(TraceTimeline, RekeyingLoggedAtOneEndOnlyIsNotedAndLogsWithoutRekeyingsKeepTheirLadder) {
  Logs l = with_rekeyings();
  l.source.pop_back();  // the source's log ends before its switch to generation 2
  const Session s = timeline_of({l.source, l.relay, l.target}).sessions[0];
  EXPECT_TRUE(s.warnings.empty());
  ASSERT_FALSE(s.notes.empty());
  EXPECT_EQ(s.notes.back(),
            "rekeyed at target-ue but not at source-ue in generation 2 (source-ue's log ends before its switch, or it "
            "never switched)");

  // Without a rekeying: no rekeying line, no rekeying arrow in the legend.
  const Logs plain = success(kSession, 0);
  const Session p = timeline_of({plain.source, plain.relay, plain.target}).sessions[0];
  EXPECT_TRUE(p.rekeys.empty());
  EXPECT_EQ(render_text(p).find("rekey"), std::string::npos);
  const std::string svg = render_svg({&p});
  EXPECT_EQ(svg.find("rekey"), std::string::npos);
  EXPECT_NE(svg.find("height=\"166\" fill=\"none\""), std::string::npos);  // the legend's frame as it was
}

TEST(TraceRender, ControlCharactersFromTheLogsNeverReachTheTerminal) {
  Logs l = refused_at_target(kSession, 0);
  auto j = ordered_json::parse(l.target[0]);
  j["reason"] = "accept from \"\x1b[2Jevil\nline\"";
  l.target[0] = j.dump();
  const std::string text = render_text(timeline_of({l.source, l.relay, l.target}).sessions[0]);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("accept from \"?[2Jevil?line\""), std::string::npos) << text;
  EXPECT_EQ(printable("a\u009b31mb\uffffc\u00e9"), "a?31mb?c\u00e9");  // C1 CSI, a non-character; é stays
}

TEST(TraceRender, SvgIsAStandaloneDocumentWithStepLabelsRejectsInRedAndALegend) {
  Logs ok = success(kSession, 0);
  Logs refused = refused_at_target(kOther, 100);
  auto j = ordered_json::parse(refused.target[0]);
  j["reason"] = "a <b> & \"c\"";
  refused.target[0] = j.dump();
  std::vector<std::string> all = ok.source;
  for (const auto* part : {&ok.relay, &ok.target, &refused.source, &refused.relay, &refused.target}) {
    all.insert(all.end(), part->begin(), part->end());
  }
  const Timeline t = timeline_of({all});
  const std::string svg = render_svg({&t.sessions[0], &t.sessions[1]});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  for (const char* label :
       {"1 REQUEST  +0 ms", "3 REQUEST  +1 ms", "5 ACCEPT  +2 ms", "7 ACCEPT  +3 ms", "REJECT #6  +1 ms",
        "4 FAILED relay_certificate_chain (#6)", "Legend", "session 5c1e0f3a9b2d7e41", "session 0d9a7c4e11b2f360"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  EXPECT_NE(svg.find("fill=\"#c62828\""), std::string::npos);  // failures in red
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("a <b>"), std::string::npos);
}

TEST(TraceCli, HelpVersionUsageErrorsAndUnreadableInput) {
  std::string out, err;
  EXPECT_EQ(run_cli({"--help"}, "", &out), kExitEstablished);
  EXPECT_NE(out.find("Usage: u2u-trace"), std::string::npos);
  EXPECT_EQ(run_cli({"--version"}, "", &out), kExitEstablished);
  EXPECT_EQ(out.rfind("u2u-trace ", 0), 0u);
  EXPECT_EQ(run_cli({"--frobnicate"}, "", &out, &err), kExitUsage);
  EXPECT_NE(err.find("unknown option '--frobnicate'"), std::string::npos);
  EXPECT_EQ(run_cli({"--session"}, "", &out, &err), kExitUsage);
  EXPECT_EQ(run_cli({"--svg"}, "", &out, &err), kExitUsage);
  EXPECT_EQ(run_cli({"/nonexistent/dir/relay-ue.log"}, "", &out, &err), kExitUsage);
  EXPECT_NE(err.find("cannot read /nonexistent/dir/relay-ue.log"), std::string::npos) << err;
  EXPECT_EQ(run_cli({"/"}, "", &out, &err), kExitUsage);
  // Nothing to show is not a success; neither is a session that is not there.
  EXPECT_EQ(run_cli({"-"}, "", &out, &err), kExitNotEstablished);
  EXPECT_NE(out.find("no session"), std::string::npos);
  const Logs l = success(kSession, 0);
  EXPECT_EQ(run_cli({"--session", kOther}, join(l.source), &out, &err), kExitNotEstablished);
  EXPECT_NE(err.find("no session 0d9a7c4e11b2f360"), std::string::npos);
}

}  // namespace
}  // namespace u2u::test
