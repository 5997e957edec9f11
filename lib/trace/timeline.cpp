#include "trace/timeline.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <tuple>
#include <utility>

namespace u2u::trace {

namespace {

constexpr int kNoRank = -1;
constexpr int kRekeyRank = 100000;            // a rekeying: after every step of the handshake
constexpr std::int64_t kMaxRanked = 9000000;  // generations ranked apart (ties only: times order the rest)
constexpr int kLastRank = 1000000000;         // link_failed: an end gives up after everything it heard

int step_of(const Record& r) {
  if (r.event != "step" && r.event != "check_failed") return 0;
  const auto step = r.number("step");
  return step && *step >= 1 && *step <= 999 ? static_cast<int>(*step) : 0;
}

std::string column_of(std::string_view party) {
  if (party == kSourceRole || party == kRelayRole || party == kTargetRole) return std::string(party);
  if (party == "source") return std::string(kSourceRole);
  if (party == "relay") return std::string(kRelayRole);
  if (party == "target") return std::string(kTargetRole);
  return {};
}

// The message a step event reports sending. Steps 1, 3, 5, 7 are the seed's (docs/protocol.md section 1).
// A later step says where it went in its detail ("... sent to relay", "... forwarded to target"), or in
// `to` and `message` fields should the daemons add them.
std::optional<Message> message_of_step(const Record& r, int step) {
  const std::string source(kSourceRole), relay(kRelayRole), target(kTargetRole);
  std::string to = column_of(r.text("to"));
  std::string name = r.text("message");
  if (to.empty()) {
    const std::string detail = r.text("detail");
    for (const char* verb : {" sent to ", " forwarded to "}) {
      const auto at = detail.find(verb);
      if (at == std::string::npos) continue;
      const std::string rest = detail.substr(at + std::string_view(verb).size());
      to = column_of(rest.substr(0, rest.find_first_of(" ,;:.")));
      if (name.empty()) {
        // The message's name: its leading upper-case words ("LINK CONFIRM with ..." -> "LINK CONFIRM").
        std::size_t end = 0;
        while (end < detail.size() && (std::isupper(static_cast<unsigned char>(detail[end])) || detail[end] == ' ' ||
                                       detail[end] == '_' || detail[end] == '-')) {
          ++end;
        }
        name = detail.substr(0, end);
        while (!name.empty() && name.back() == ' ') name.pop_back();
      }
      break;
    }
  }
  switch (step) {
    case 1: return Message{source, relay, "1 REQUEST", false};
    case 3: return Message{relay, target, "3 REQUEST", false};
    case 5: return Message{target, relay, "5 ACCEPT", false};
    case 7: return Message{relay, source, "7 ACCEPT", false};
    default: break;
  }
  if (to.empty() || to == r.role) return std::nullopt;
  if (name.rfind("DIRECT COMMUNICATION ", 0) == 0) name.erase(0, std::string_view("DIRECT COMMUNICATION ").size());
  return Message{r.role, to, std::to_string(step) + (name.empty() ? "" : " " + name), false};
}

// The other end of the link, for a message one end sends to it through the relay.
std::string other_end(std::string_view role) {
  if (role == kSourceRole) return std::string(kTargetRole);
  if (role == kTargetRole) return std::string(kSourceRole);
  return {};
}

std::string generation_text(const Record& r) {
  const auto generation = r.number("generation");
  return generation ? " gen " + std::to_string(*generation) : "";
}

// The rekeying messages an end's event shows it sending (docs/protocol.md 12.2; the relay forwards them without a
// word): `rekeying` the REQUEST (the initiator's R1), `rekey_answered` the RESPONSE (the responder's R2), and the
// initiator's `rekeyed` the CONFIRM (R3: it sends it as it switches).
std::optional<Message> message_of_rekeying(const Record& r) {
  const std::string to = other_end(r.role);
  if (to.empty()) return std::nullopt;
  std::string name;
  if (r.event == "rekeying") name = "R1 REKEYING REQUEST";
  if (r.event == "rekey_answered") name = "R2 REKEYING RESPONSE";
  if (r.event == "rekeyed" && r.text("as") == "initiator") name = "R3 REKEYING CONFIRM";
  if (name.empty()) return std::nullopt;
  return Message{r.role, to, name + generation_text(r), false, true};
}

// Where a rekeying event sits within its generation: the REQUEST, a collision, the RESPONSE, the initiator's switch
// (with its CONFIRM), the responder's, a failure. -1 for other events.
int rekey_phase(const Record& r) {
  if (r.event == "rekeying") return 0;
  if (r.event == "rekey_collision") return 1;
  if (r.event == "rekey_answered") return 2;
  if (r.event == "rekeyed") return r.text("as") == "initiator" ? 4 : 6;
  if (r.event == "rekey_failed") return 8;
  return -1;
}

// Where an event sits in the procedure. Only breaks ties between events that different parties logged in the
// same millisecond; an event without a place of its own takes its predecessor's in the same party's log.
// Within one step: the end that sends, then the relay that forwards, then the party that verifies.
int own_rank(const Record& r, int previous) {
  const int step = step_of(r);
  if (r.event == "step" && step != 0) {
    if (!message_of_step(r, step)) return step * 10 + 2;
    return step * 10 + (r.role == kRelayRole ? 1 : 0);
  }
  if (r.event == "check_failed" && step != 0) return step * 10 + 2;
  if (r.event == "link_failed") return kLastRank;
  if (const int phase = rekey_phase(r); phase >= 0) {
    const auto generation = r.number("generation");
    if (!generation) return kNoRank;
    return kRekeyRank + static_cast<int>(std::clamp<std::int64_t>(*generation, 0, kMaxRanked)) * 10 + phase;
  }
  // The relay passes on a reject that the next party sent after refusing the relay's last message.
  if (r.event == "reject_forwarded") return previous / 10 * 10 + 15;
  return kNoRank;
}

Row make_row(const Record& r, std::int64_t start_ms) {
  Row row;
  row.record = r;
  row.offset_ms = r.time_ms - start_ms;
  row.step = step_of(r);
  row.failure = r.event == "check_failed" || r.event == "link_failed" || r.event == "rekey_failed";
  if (r.event == "step" && row.step != 0) {
    if (auto m = message_of_step(r, row.step)) row.messages.push_back(std::move(*m));
  }
  if (auto m = message_of_rekeying(r)) row.messages.push_back(std::move(*m));
  return row;
}

std::string reject_label(const Record& r) { return "REJECT #" + std::to_string(r.number("cause").value_or(0)); }

// DIRECT COMMUNICATION REJECT is not logged by its sender (docs/protocol.md section 7). A reject_forwarded names
// the relay's hop. A refusal (check_failed with a cause) is taken to have sent a REJECT to each neighbour whose
// log shows one arriving afterwards (reject_forwarded, or link_failed "rejected"), or to the neighbour the
// procedure answers when that one's log is not among the inputs.
void infer_rejects(Session& s) {
  const auto has_role = [&](const std::string& role) {
    return std::any_of(s.rows.begin(), s.rows.end(), [&](const Row& r) { return r.record.role == role; });
  };
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    Row& row = s.rows[i];
    const Record& r = row.record;
    if (r.event == "reject_forwarded") {
      const std::string to = column_of(r.text("to"));
      if (!to.empty() && to != r.role) row.messages.push_back(Message{r.role, to, reject_label(r), true});
      continue;
    }
    if (r.event != "check_failed" || r.number("cause").value_or(0) == 0) continue;
    std::vector<std::string> neighbours;
    if (r.role == kRelayRole) neighbours = {std::string(kSourceRole), std::string(kTargetRole)};
    if (r.role == kSourceRole || r.role == kTargetRole) neighbours = {std::string(kRelayRole)};
    bool sent = false;
    for (const auto& to : neighbours) {
      const bool arrived =
          std::any_of(s.rows.begin() + static_cast<std::ptrdiff_t>(i) + 1, s.rows.end(), [&](const Row& later) {
            return later.record.role == to &&
                   (later.record.event == "reject_forwarded" ||
                    (later.record.event == "link_failed" && later.record.text("check") == "rejected"));
          });
      if (arrived) {
        row.messages.push_back(Message{r.role, to, reject_label(r), true});
        sent = true;
      }
    }
    if (!sent && !neighbours.empty() && !has_role(neighbours.front())) {
      row.messages.push_back(Message{r.role, neighbours.front(), reject_label(r), true});
    }
  }
}

// Orders a session's events by time; equal times (one host, one millisecond) in protocol order, and never
// against the order in which one party logged them.
std::vector<const Record*> ladder_order(std::vector<const Record*> records) {
  std::vector<std::size_t> by_party(records.size());
  std::iota(by_party.begin(), by_party.end(), std::size_t{0});
  std::stable_sort(by_party.begin(), by_party.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(records[a]->input, records[a]->role, records[a]->line) <
           std::tie(records[b]->input, records[b]->role, records[b]->line);
  });
  std::vector<int> rank(records.size(), 0);
  int previous = 0;
  for (std::size_t i = 0; i < by_party.size(); ++i) {
    const Record& r = *records[by_party[i]];
    if (i > 0) {
      const Record& p = *records[by_party[i - 1]];
      if (p.input != r.input || p.role != r.role) previous = 0;
    }
    const int own = own_rank(r, previous);
    previous = std::max(previous, own == kNoRank ? previous : own);
    rank[by_party[i]] = previous;
  }
  std::vector<std::size_t> order(records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(records[a]->time_ms, rank[a], records[a]->input, records[a]->line) <
           std::tie(records[b]->time_ms, rank[b], records[b]->input, records[b]->line);
  });
  std::vector<const Record*> out;
  for (std::size_t i : order) out.push_back(records[i]);
  return out;
}

const Row* first_row(const Session& s, std::string_view event, std::string_view role = {}) {
  for (const auto& row : s.rows) {
    if (row.record.event == event && (role.empty() || row.record.role == role)) return &row;
  }
  return nullptr;
}

void name_parties(Session& s) {
  const auto take = [](std::string& slot, const std::string& value) {
    if (slot.empty()) slot = value;
  };
  for (const auto& row : s.rows) {
    const Record& r = row.record;
    const bool outcome = r.event == "link_established" || r.event == "link_failed";
    if (r.role == kSourceRole) {
      if (outcome) take(s.source_id, r.text("user_info_id"));
      if (outcome || (r.event == "step" && row.step == 1)) {
        take(s.relay_id, r.text("relay"));
        take(s.target_id, r.text("peer"));
      }
    } else if (r.role == kRelayRole && r.event == "step") {
      if (row.step == 2) take(s.source_id, r.text("peer"));
      if (row.step == 3 || row.step == 6) take(s.target_id, r.text("peer"));
      if (row.step == 7) take(s.source_id, r.text("peer"));
    } else if (r.role == kTargetRole && (outcome || (r.event == "step" && row.step == 4))) {
      if (outcome) take(s.target_id, r.text("user_info_id"));
      take(s.source_id, r.text("peer"));
      take(s.relay_id, r.text("relay"));
    }
  }
}

std::string cause_text(std::int64_t cause, const std::string& name) {
  std::string text = "cause #" + std::to_string(cause);
  if (!name.empty()) text += " (" + name + ")";
  return text;
}

Failure failure_of(const Record& r) {
  return Failure{r.role,
                 static_cast<int>(r.number("step").value_or(0)),
                 r.text("check"),
                 r.number("cause").value_or(0),
                 r.text("cause_name"),
                 r.text("reason")};
}

void judge(Session& s) {
  const Row* source_up = first_row(s, "link_established", kSourceRole);
  const Row* target_up = first_row(s, "link_established", kTargetRole);
  const Row* refusal = first_row(s, "check_failed");
  const Row* source_down = first_row(s, "link_failed", kSourceRole);
  const Row* any_down = source_down != nullptr ? source_down : first_row(s, "link_failed");
  if (refusal != nullptr) {
    s.failure = failure_of(refusal->record);
  } else if (any_down != nullptr) {
    s.failure = failure_of(any_down->record);
  }

  if (source_up != nullptr && target_up != nullptr && any_down == nullptr) {
    const std::string kd_source = source_up->record.text("kd_id");
    const std::string kd_target = target_up->record.text("kd_id");
    const std::string sess_source = source_up->record.text("kd_sess_id");
    const std::string sess_target = target_up->record.text("kd_sess_id");
    if (kd_source.empty() || kd_source != kd_target) {
      s.outcome = Outcome::kFailed;
      s.summary = "link_established at both ends but with different KD: kd_id " + kd_source + " at " +
                  std::string(kSourceRole) + ", " + kd_target + " at " + std::string(kTargetRole);
      return;
    }
    if (!sess_source.empty() && !sess_target.empty() && sess_source != sess_target) {
      s.outcome = Outcome::kFailed;
      s.summary = "link_established at both ends with equal KD but different KD-sess: kd_sess_id " + sess_source +
                  " at " + std::string(kSourceRole) + ", " + sess_target + " at " + std::string(kTargetRole);
      return;
    }
    s.outcome = Outcome::kEstablished;
    const auto elapsed = source_up->record.number("elapsed_ms");
    s.summary = "link_established at " + std::string(kSourceRole) + " and " + std::string(kTargetRole) +
                ", equal kd_id " + kd_source + (sess_source.empty() ? "" : ", kd_sess_id " + sess_source) + ", " +
                (elapsed ? std::to_string(*elapsed) + " ms at " + std::string(kSourceRole)
                         : std::to_string(s.duration_ms) + " ms");
    if (refusal != nullptr) {
      s.notes.push_back("a check failed at " + refusal->record.role +
                        " during this session, yet both ends established");
    }
    return;
  }

  if (refusal != nullptr || any_down != nullptr) {
    s.outcome = Outcome::kFailed;
    const Failure& f = *s.failure;
    if (refusal != nullptr) {
      s.summary = "refused by " + f.role + " at step " + std::to_string(f.step);
      if (any_down != nullptr) {
        const Record& d = any_down->record;
        s.summary += "; link_failed at " + d.role + ", check " + d.text("check") + ", " +
                     cause_text(d.number("cause").value_or(0), d.text("cause_name"));
      } else {
        s.summary += "; no link_failed logged";
      }
    } else {
      s.summary = "link_failed at " + f.role + ", check " + f.check + ", " + cause_text(f.cause, f.cause_name);
      if (f.check == "rejected") {
        s.notes.push_back(
            "no check_failed names the refused check: is the log of the party that sent the REJECT "
            "among the inputs?");
      }
    }
    if (target_up != nullptr) {
      s.notes.push_back(std::string(kTargetRole) +
                        " logged link_established (it does at step 5, before the source has verified the accept), "
                        "but the source has no link");
    }
    return;
  }

  s.outcome = Outcome::kIncomplete;
  std::vector<std::string> missing;
  if (source_up == nullptr) missing.push_back("no outcome at " + std::string(kSourceRole));
  if (target_up == nullptr) missing.push_back("no link_established at " + std::string(kTargetRole));
  if (first_row(s, "pending_expired", kRelayRole) != nullptr) {
    missing.push_back(std::string(kRelayRole) + "'s pending request expired");
  }
  for (std::size_t i = 0; i < missing.size(); ++i) s.summary += (i ? "; " : "") + missing[i];
}

void check_clocks(Session& s) {
  // Each step follows the previous one; if its party logged it earlier, the parties' clocks disagree.
  std::map<int, const Row*> first_of_step;
  for (const auto& row : s.rows) {
    if (row.step != 0) first_of_step.try_emplace(row.step, &row);
  }
  for (auto a = first_of_step.begin(); a != first_of_step.end() && std::next(a) != first_of_step.end(); ++a) {
    const auto b = std::next(a);
    const Record& before = a->second->record;
    const Record& after = b->second->record;
    if (before.role != after.role && after.time_ms < before.time_ms) {
      s.notes.push_back("step " + std::to_string(b->first) + " at " + after.role + " is logged " +
                        std::to_string(before.time_ms - after.time_ms) + " ms before step " + std::to_string(a->first) +
                        " at " + before.role + ": their clocks differ (offsets are as logged)");
    }
  }
  // Roles missing from the session, when others of its ladder are present.
  for (const auto role : {kSourceRole, kRelayRole, kTargetRole}) {
    const bool present = std::any_of(s.rows.begin(), s.rows.end(), [&](const Row& r) { return r.record.role == role; });
    if (!present) s.notes.push_back("no event from " + std::string(role) + " in this session");
  }
}

// The rekeyings (docs/protocol.md 12.6): both ends log rekeyed at their switch with the same generation, kd_sess_id
// and kd_id. A generation whose two ends differ left them with different keys: a warning, and the later of the two
// rows says so. A generation logged at one end only is noted (a log that ends before the other end's switch).
void check_rekeyings(Session& s) {
  const std::string source(kSourceRole), target(kTargetRole);
  std::map<std::int64_t, std::size_t> by_generation;
  for (auto& row : s.rows) {
    const Record& r = row.record;
    if (r.event != "rekeyed" || (r.role != source && r.role != target)) continue;
    const auto generation = r.number("generation");
    if (!generation) continue;
    const auto [it, inserted] = by_generation.try_emplace(*generation, s.rekeys.size());
    if (inserted) s.rekeys.push_back(Rekey{*generation, {}, {}, {}, {}, {}, {}});
    Rekey& k = s.rekeys[it->second];
    const bool at_source = r.role == source;
    std::string& kd_sess_id = at_source ? k.source_kd_sess_id : k.target_kd_sess_id;
    if (!kd_sess_id.empty()) continue;  // the same generation again at one end: the first counts
    kd_sess_id = r.text("kd_sess_id");
    (at_source ? k.source_kd_id : k.target_kd_id) = r.text("kd_id");
    if (r.text("as") == "initiator" && k.initiator.empty()) {
      k.initiator = r.role;
      k.trigger = r.text("trigger");
    }
    const std::string& other_sess = at_source ? k.target_kd_sess_id : k.source_kd_sess_id;
    if (other_sess.empty() || kd_sess_id.empty()) continue;
    const std::string& other_kd = at_source ? k.target_kd_id : k.source_kd_id;
    const std::string& own_kd = at_source ? k.source_kd_id : k.target_kd_id;
    const std::string other = other_end(r.role);
    if (other_sess == kd_sess_id && other_kd == own_kd) {
      row.agreement = "same at " + other;
      continue;
    }
    row.failure = true;
    row.agreement = "DIFFERENT at " + other + ": kd_sess_id " + other_sess +
                    (other_kd != own_kd ? ", kd_id " + other_kd : std::string());
    std::string warning = "rekeying generation " + std::to_string(*generation) + ": kd_sess_id " + k.source_kd_sess_id +
                          " at " + source + ", " + k.target_kd_sess_id + " at " + target;
    if (k.source_kd_id != k.target_kd_id) {
      warning += "; kd_id " + k.source_kd_id + " at " + source + ", " + k.target_kd_id + " at " + target;
    }
    s.warnings.push_back(warning + ": the two ends hold different keys");
  }
  std::sort(s.rekeys.begin(), s.rekeys.end(),
            [](const Rekey& a, const Rekey& b) { return a.generation < b.generation; });

  const auto present = [&](const std::string& role) {
    return std::any_of(s.rows.begin(), s.rows.end(), [&](const Row& r) { return r.record.role == role; });
  };
  for (const auto& [role, missing_at] : {std::pair{source, target}, std::pair{target, source}}) {
    if (!present(missing_at)) continue;
    std::vector<std::int64_t> generations;
    for (const auto& k : s.rekeys) {
      const bool here = !(role == source ? k.source_kd_sess_id : k.target_kd_sess_id).empty();
      const bool there = !(missing_at == source ? k.source_kd_sess_id : k.target_kd_sess_id).empty();
      if (here && !there) generations.push_back(k.generation);
    }
    if (generations.empty()) continue;
    std::string list;
    for (std::size_t i = 0; i < generations.size() && i < 5; ++i)
      list += (i ? ", " : "") + std::to_string(generations[i]);
    if (generations.size() > 5) list += ", ... (" + std::to_string(generations.size()) + " in all)";
    s.notes.push_back("rekeyed at " + role + " but not at " + missing_at + " in generation" +
                      (generations.size() == 1 ? " " : "s ") + list + " (" + missing_at +
                      "'s log ends before its switch, or it never switched)");
  }
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kEstablished: return "established";
    case Outcome::kFailed: return "failed";
    case Outcome::kIncomplete: return "incomplete";
  }
  return "incomplete";
}

Timeline build_timeline(const std::vector<Record>& merged) {
  Timeline timeline;
  std::map<std::string, std::size_t, std::less<>> index;
  std::vector<std::vector<const Record*>> members;
  std::vector<std::vector<const Record*>> before;
  std::vector<const Record*> sessionless;
  for (const auto& r : merged) {
    if (r.session.empty()) {
      if (r.event == "link_failed") ++timeline.failures_without_session;
      sessionless.push_back(&r);
      continue;
    }
    auto [it, inserted] = index.try_emplace(r.session, members.size());
    if (inserted) {
      members.emplace_back();
      before.push_back(std::move(sessionless));
      sessionless.clear();
    }
    members[it->second].push_back(&r);
  }

  for (std::size_t i = 0; i < members.size(); ++i) {
    Session s;
    const auto ordered = ladder_order(members[i]);
    const Record& first = *ordered.front();
    s.id = first.session;
    s.start_ms = first.time_ms;
    s.start_time = first.time;
    s.duration_ms = ordered.back()->time_ms - first.time_ms;
    for (const Record* r : before[i]) s.before.push_back(make_row(*r, s.start_ms));
    for (const Record* r : ordered) s.rows.push_back(make_row(*r, s.start_ms));
    s.columns = {std::string(kSourceRole), std::string(kRelayRole), std::string(kTargetRole)};
    for (const auto& row : s.rows) {
      if (std::find(s.columns.begin(), s.columns.end(), row.record.role) == s.columns.end()) {
        s.columns.push_back(row.record.role);
      }
    }
    infer_rejects(s);
    name_parties(s);
    judge(s);
    check_clocks(s);
    check_rekeyings(s);
    timeline.sessions.push_back(std::move(s));
  }
  const std::int64_t last_start = timeline.sessions.empty() ? 0 : timeline.sessions.back().start_ms;
  for (const Record* r : sessionless) timeline.after.push_back(make_row(*r, last_start));
  return timeline;
}

const Session* find_session(const Timeline& timeline, std::string_view id) {
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  const std::string wanted = lower(id);
  for (const auto& s : timeline.sessions) {
    if (lower(s.id) == wanted) return &s;
  }
  return nullptr;
}

}  // namespace u2u::trace
