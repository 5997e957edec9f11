#pragma once
// The merged events of the three daemons, grouped per handshake (the `session` label every party logs for one
// request digest) into the ladder of seed steps 1-8, with where it failed and how it ended.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/parser.hpp"

namespace u2u::trace {

// The roles the daemons log (their program names): one ladder column each, in this order.
inline constexpr std::string_view kSourceRole = "source-ue";
inline constexpr std::string_view kRelayRole = "relay-ue";
inline constexpr std::string_view kTargetRole = "target-ue";

// A message between two parties: seed steps 1, 3, 5, 7 (and later steps whose detail says where they went),
// DIRECT COMMUNICATION REJECT (docs/protocol.md sections 1, 7), and the DIRECT LINK REKEYING REQUEST, RESPONSE and
// CONFIRM between the two ends, which the relay forwards unchanged without logging them (section 12).
struct Message {
  std::string from;   // role
  std::string to;     // role
  std::string label;  // "1 REQUEST", "REJECT #6", "R1 REKEYING REQUEST gen 1"
  bool reject = false;
  bool end_to_end = false;  // from one end to the other through the relay (a rekeying message)
};

struct Row {
  Record record;
  std::int64_t offset_ms = 0;     // from the session's first event
  int step = 0;                   // the step of a step or check_failed event (1..8 in the seed), else 0
  bool failure = false;           // check_failed, link_failed, rekey_failed, a rekeyed with other keys than the peer's
  std::vector<Message> messages;  // what it sent: a step's message, REJECTs, or a rekeying message
  // A rekeyed event logged second of its generation's pair: how its keys compare with the other end's
  // ("same at source-ue", or "DIFFERENT at source-ue: kd_sess_id ..."); empty otherwise.
  std::string agreement;
};

// One rekeying of the link (docs/protocol.md 12), from the rekeyed events of its generation at each end.
struct Rekey {
  std::int64_t generation = 0;
  std::string initiator;  // the role that logged it `as` initiator ("" when neither end's log says)
  std::string trigger;    // the initiator's: time, packets, count, signal
  std::string source_kd_sess_id, target_kd_sess_id;  // "" when that end logged no rekeyed of this generation
  std::string source_kd_id, target_kd_id;
};

struct Failure {
  std::string role;  // the party that refused
  int step = 0;      // 0 when the event names none
  std::string check;
  std::int64_t cause = 0;
  std::string cause_name;
  std::string reason;
};

enum class Outcome {
  kEstablished,  // link_established at source and target with equal kd_id
  kFailed,       // a refusal, link_failed, or different kd_id
  kIncomplete,   // neither: an end's log is missing, or the handshake never finished
};
std::string_view outcome_name(Outcome outcome);

struct Session {
  std::string id;
  std::int64_t start_ms = 0;
  std::string start_time;  // the first event's time, as logged
  std::int64_t duration_ms = 0;
  // User Info IDs of the parties, from the events that name them ("" when none does).
  std::string source_id, relay_id, target_id;
  // Ladder columns: source-ue, relay-ue, target-ue, then other roles in order of appearance.
  std::vector<std::string> columns;
  std::vector<Row> before;  // events without a session, logged since the previous session began
  std::vector<Row> rows;    // this session's events, by time (equal times in protocol order)
  Outcome outcome = Outcome::kIncomplete;
  std::string summary;                // the outcome in one sentence
  std::optional<Failure> failure;     // the first refusal, or the failure an end reported
  std::vector<Rekey> rekeys;          // the link's rekeyings, by generation
  std::vector<std::string> warnings;  // e.g. a rekeying after which the ends hold different keys
  std::vector<std::string> notes;     // e.g. clocks that disagree between hosts
};

struct Timeline {
  std::vector<Session> sessions;  // in order of first appearance
  std::vector<Row> after;         // events without a session after the last session began (all, when none did)
  std::size_t failures_without_session = 0;  // link_failed before any request was sent
};

// `merged` is ordered by time (merge()).
Timeline build_timeline(const std::vector<Record>& merged);

// The session `id` (case-insensitive), or nullptr.
const Session* find_session(const Timeline& timeline, std::string_view id);

}  // namespace u2u::trace
