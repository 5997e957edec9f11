#pragma once
// The timeline as text (a ladder per session: one column per party, one row per event) and as an SVG 1.1
// sequence diagram (lifelines, the messages as arrows, failures in red, a legend).
#include <string>
#include <string_view>
#include <vector>

#include "trace/timeline.hpp"

namespace u2u::trace {

// A session's ladder, its failure, outcome and notes; its "before" section first when it has one.
std::string render_text(const Session& session);
// Events without a session, under `title`: with their offsets when `relative`, else with their logged times.
std::string render_sessionless(const std::vector<Row>& rows, std::string_view title, bool relative);
// The session's rekeyings in one line ("" when none): how many, the last generation's kd_sess_id at each end, who
// started them, in how many both ends agree.
std::string rekeyings_summary(const Session& session);
// One line: how many sessions ended how.
std::string render_totals(const std::vector<const Session*>& sessions);

// A standalone SVG 1.1 document (it starts with "<svg").
std::string render_svg(const std::vector<const Session*>& sessions);

// A row's label without arrows: "1 REQUEST", "2 SIGN-Source UE verified; ...", "4 FAILED relay_certificate_chain
// (#6)", "link_established kd_id=...", or the event's name and its detail for any other event.
std::string row_label(const Row& row);
// An event's fields other than time, level, role, event and session, as key=value.
std::string field_list(const Record& record);

// `text` with what a log field may carry and a terminal or an XML document must not get (C0 and C1 control
// characters, U+FFFE, U+FFFF) replaced by '?'.
std::string printable(std::string_view text);

}  // namespace u2u::trace
