// The ladder as text: one column per party (source-ue, relay-ue, target-ue, then others), one row per event.
#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

#include "trace/render.hpp"

namespace u2u::trace {

namespace {

constexpr std::size_t kColumnWidth = 30;
constexpr std::size_t kOffsetWidth = 10;  // "  +1234 ms"

std::string offset_text(std::int64_t ms) { return (ms < 0 ? "" : "+") + std::to_string(ms) + " ms"; }

std::string pad_left(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

std::size_t column_index(const Session& s, const std::string& role) {
  const auto it = std::find(s.columns.begin(), s.columns.end(), role);
  return static_cast<std::size_t>(it - s.columns.begin());
}

// "1 REQUEST -->" when the message goes to a column on the right, "<-- 5 ACCEPT" when to the left; a message from
// one end to the other through the relay names where it goes: "R1 REKEYING REQUEST gen 1 --> target-ue".
std::string arrow_text(const Session& s, const Message& m) {
  const bool right = column_index(s, m.to) > column_index(s, m.from);
  if (m.end_to_end) return printable(right ? m.label + " --> " + m.to : m.to + " <-- " + m.label);
  return right ? m.label + " -->" : "<-- " + m.label;
}

// A rekeying event that is its message and nothing more: the REQUEST, the RESPONSE.
bool rekeying_arrow_only(const Row& row) {
  return !row.messages.empty() && (row.record.event == "rekeying" || row.record.event == "rekey_answered");
}

std::string cell_text(const Session& s, const Row& row) {
  const Record& r = row.record;
  if (r.event == "step" && !row.messages.empty()) return arrow_text(s, row.messages.front());
  if (rekeying_arrow_only(row)) return arrow_text(s, row.messages.front());
  if (r.event == "rekeyed") return row_label(row);  // its CONFIRM is a line of its own
  std::string text = row_label(row);
  if (r.event == "reject_forwarded" && !row.messages.empty()) return arrow_text(s, row.messages.front()) + " forwarded";
  for (const auto& m : row.messages) text += ", " + m.label.substr(0, m.label.find(' ')) + " to " + m.to;
  return text;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    const auto next = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0; };
    if (u < 0x20 || u == 0x7f) {  // C0 controls and DEL
      out += '?';
    } else if (u == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) {  // C1 controls (U+0080..U+009F), e.g. CSI
      out += '?';
      i += 1;
    } else if (u == 0xef && next(1) == 0xbf && (next(2) == 0xbe || next(2) == 0xbf)) {  // U+FFFE, U+FFFF
      out += '?';
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string field_list(const Record& record) {
  std::string out;
  for (const auto& [key, value] : record.fields.items()) {
    if (key == "time" || key == "level" || key == "role" || key == "event" || key == "session") continue;
    if (!out.empty()) out += ' ';
    out += key + "=";
    if (value.is_string()) {
      const auto& v = value.get_ref<const std::string&>();
      const bool quote = v.empty() || v.find_first_of(" \"=") != std::string::npos;
      out += quote ? value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) : v;
    } else {
      out += value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
  }
  return printable(out);
}

std::string row_label(const Row& row) {
  const Record& r = row.record;
  if (r.event == "step") {
    if (!row.messages.empty()) return row.messages.front().label;
    const std::string detail = r.text("detail");
    return printable(std::to_string(row.step) + (detail.empty() ? "" : " " + detail));
  }
  if (r.event == "check_failed") {
    return printable(std::to_string(row.step) + " FAILED " + r.text("check") + " (#" +
                     std::to_string(r.number("cause").value_or(0)) + ")");
  }
  if (r.event == "link_established") return printable("link_established kd_id=" + r.text("kd_id"));
  if (r.event == "link_failed") {
    return printable("link_failed " + r.text("check") + " (#" + std::to_string(r.number("cause").value_or(0)) + ")");
  }
  if (r.event == "reject_forwarded") {
    return printable("REJECT #" + std::to_string(r.number("cause").value_or(0)) + " forwarded to " + r.text("to"));
  }
  if (r.event == "rekeying" || r.event == "rekey_answered") {
    if (!row.messages.empty()) return row.messages.front().label;
  }
  if (r.event == "rekeyed") {
    // "rekeyed gen 1 kd_sess_id 4ca0d166 as initiator (time), same at target-ue"
    std::string text = "rekeyed" + (r.number("generation") ? " gen " + std::to_string(*r.number("generation")) : "") +
                       " kd_sess_id " + r.text("kd_sess_id");
    if (r.text("kd_renewed") == "yes") text += ", KD renewed: kd_id " + r.text("kd_id");
    if (const std::string as = r.text("as"); !as.empty()) text += " as " + as;
    if (const std::string trigger = r.text("trigger"); !trigger.empty()) text += " (" + trigger + ")";
    if (!row.agreement.empty()) text += ", " + row.agreement;
    return printable(text);
  }
  if (r.event == "rekey_failed" && r.number("generation")) {
    return printable("rekey_failed gen " + std::to_string(*r.number("generation")) + ": " + r.text("reason"));
  }
  // Any other event, known or not, by name, with what it says about itself.
  for (const char* key : {"detail", "reason"}) {
    if (const std::string text = r.text(key); !text.empty()) return printable(r.event + ": " + text);
  }
  return printable(r.event);
}

std::string render_sessionless(const std::vector<Row>& rows, std::string_view title, bool relative) {
  if (rows.empty()) return {};
  std::ostringstream out;
  out << "  " << title << ":\n";
  for (const auto& row : rows) {
    const Record& r = row.record;
    out << (relative ? pad_left(offset_text(row.offset_ms), kOffsetWidth) : "  " + printable(r.time)) << "  "
        << printable(r.role) << ' ' << printable(r.event);
    if (const std::string fields = field_list(r); !fields.empty()) out << ' ' << fields;
    out << '\n';
  }
  return out.str();
}

std::string render_text(const Session& s) {
  std::ostringstream out;
  const auto name = [](const std::string& id) { return id.empty() ? std::string("?") : printable(id); };
  out << "session " << printable(s.id) << "  " << name(s.source_id) << " -> " << name(s.relay_id) << " -> "
      << name(s.target_id) << "  (" << printable(s.start_time) << ")\n";
  out << render_sessionless(s.before, "before", true);

  std::string header = pad_left("offset", kOffsetWidth) + "  ";
  for (std::size_t i = 0; i < s.columns.size(); ++i) {
    std::string column = printable(s.columns[i]);
    if (i + 1 < s.columns.size()) column.resize(std::max(column.size() + 1, kColumnWidth), ' ');
    header += column;
  }
  out << header << '\n';
  for (const auto& row : s.rows) {
    const auto cell = [&](const std::string& role, const std::string& text) {
      std::string line = pad_left(offset_text(row.offset_ms), kOffsetWidth) + "  ";
      line.append(column_index(s, role) * kColumnWidth, ' ');
      out << line << text << '\n';
    };
    // The initiator's switch: the CONFIRM it sends, then the switch.
    if (row.record.event == "rekeyed") {
      for (const auto& m : row.messages) cell(m.from, arrow_text(s, m));
    }
    cell(row.record.role, cell_text(s, row));
  }

  if (s.failure) {
    const Failure& f = *s.failure;
    out << "  failure: " << printable(f.role);
    if (f.step != 0) out << " at step " << f.step;
    out << ", check " << printable(f.check) << ", cause #" << f.cause;
    if (!f.cause_name.empty()) out << " (" << printable(f.cause_name) << ")";
    if (!f.reason.empty()) out << ": " << printable(f.reason);
    out << '\n';
  }
  out << "  outcome: " << outcome_name(s.outcome) << " (" << printable(s.summary) << ")\n";
  if (!s.rekeys.empty()) out << "  rekeyings: " << printable(rekeyings_summary(s)) << '\n';
  for (const auto& warning : s.warnings) out << "  warning: " << printable(warning) << '\n';
  for (const auto& note : s.notes) out << "  note: " << printable(note) << '\n';
  return out.str();
}

std::string rekeyings_summary(const Session& s) {
  if (s.rekeys.empty()) return {};
  const Rekey& last = s.rekeys.back();
  std::string text = std::to_string(s.rekeys.size()) + " (generation " + std::to_string(last.generation) + " last, ";
  const auto id = [](const std::string& value) { return value.empty() ? std::string("none logged") : value; };
  if (last.source_kd_sess_id == last.target_kd_sess_id) {
    text += "kd_sess_id " + last.source_kd_sess_id + " at both ends";
  } else {
    text += "kd_sess_id " + id(last.source_kd_sess_id) + " at " + std::string(kSourceRole) + ", " +
            id(last.target_kd_sess_id) + " at " + std::string(kTargetRole);
  }
  text += ")";
  std::vector<std::pair<std::string, std::size_t>> started;  // initiator -> rekeyings, in order of first
  for (const auto& k : s.rekeys) {
    const std::string who = k.initiator.empty() ? "an end whose log is missing" : k.initiator;
    auto it = std::find_if(started.begin(), started.end(), [&](const auto& p) { return p.first == who; });
    if (it == started.end()) {
      started.emplace_back(who, 1);
    } else {
      ++it->second;
    }
  }
  text += "; started by ";
  for (std::size_t i = 0; i < started.size(); ++i) {
    text += (i ? ", " : "") + started[i].first + " " + std::to_string(started[i].second);
  }
  std::size_t both = 0, agreed = 0;
  for (const auto& k : s.rekeys) {
    if (k.source_kd_sess_id.empty() || k.target_kd_sess_id.empty()) continue;
    ++both;
    agreed += k.source_kd_sess_id == k.target_kd_sess_id && k.source_kd_id == k.target_kd_id;
  }
  if (both == 0) return text + "; none logged at both ends";
  text += "; the same keys at both ends in " + std::to_string(agreed) + " of " + std::to_string(both);
  if (both < s.rekeys.size()) text += " logged at both";
  return text;
}

std::string render_totals(const std::vector<const Session*>& sessions) {
  std::size_t counts[3] = {0, 0, 0};
  for (const Session* s : sessions) ++counts[static_cast<int>(s->outcome)];
  std::ostringstream out;
  out << sessions.size() << (sessions.size() == 1 ? " session: " : " sessions: ") << counts[0] << " established, "
      << counts[1] << " failed, " << counts[2] << " incomplete\n";
  return out.str();
}

}  // namespace u2u::trace
