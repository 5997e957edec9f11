// The timeline as an SVG 1.1 sequence diagram: one lifeline per party, each session's events top to bottom,
// messages (steps 1, 3, 5, 7, and rejects) as arrows, failures in red, a legend at the bottom.
#include <algorithm>
#include <sstream>
#include <utility>

#include "trace/render.hpp"

namespace u2u::trace {

namespace {

constexpr int kLeft = 210;         // x of the first lifeline
constexpr int kLaneSpacing = 290;  // between lifelines
constexpr int kRightMargin = 330;  // room for labels right of the last lifeline
constexpr int kTop = 96;           // below the title and the party boxes
constexpr int kLine = 26;          // one event
constexpr int kTextLine = 17;      // one line of a session's summary
constexpr int kSessionGap = 26;

constexpr const char* kBlack = "#202020";
constexpr const char* kRed = "#c62828";
constexpr const char* kGreen = "#2e7d32";
constexpr const char* kGrey = "#757575";
constexpr const char* kOrange = "#ef6c00";
constexpr const char* kBlue = "#1565c0";  // rekeying

std::string xml(std::string_view text) {
  std::string out;
  for (const char c : printable(text)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string offset_text(std::int64_t ms) { return (ms < 0 ? "" : "+") + std::to_string(ms) + " ms"; }

const char* outcome_colour(Outcome o) {
  switch (o) {
    case Outcome::kEstablished: return kGreen;
    case Outcome::kFailed: return kRed;
    case Outcome::kIncomplete: return kOrange;
  }
  return kOrange;
}

class Canvas {
 public:
  void text(int x, int y, std::string_view content, const char* colour, std::string_view extra = {},
            std::string_view tooltip = {}) {
    body_ << "<text x=\"" << x << "\" y=\"" << y << "\" fill=\"" << colour << "\"";
    if (!extra.empty()) body_ << ' ' << extra;
    body_ << '>';
    if (!tooltip.empty()) body_ << "<title>" << xml(tooltip) << "</title>";
    body_ << xml(content) << "</text>\n";
    // How far right the text reaches, roughly (DejaVu Sans at 12 px: about 7 px a character).
    const int length = static_cast<int>(content.size()) * 7;
    if (extra.find("text-anchor=\"end\"") != std::string_view::npos) return;
    right_ =
        std::max(right_, extra.find("text-anchor=\"middle\"") != std::string_view::npos ? x + length / 2 : x + length);
  }
  int right() const { return right_; }
  void line(int x1, int y1, int x2, int y2, const char* colour, std::string_view extra = {}) {
    body_ << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\" stroke=\"" << colour
          << "\"";
    if (!extra.empty()) body_ << ' ' << extra;
    body_ << "/>\n";
  }
  void raw(std::string_view element) { body_ << element << '\n'; }
  std::string str() const { return body_.str(); }

 private:
  std::ostringstream body_;
  int right_ = 0;
};

struct Layout {
  std::vector<std::string> lanes;
  int lane_x(const std::string& role) const {
    const auto it = std::find(lanes.begin(), lanes.end(), role);
    return kLeft + static_cast<int>(it - lanes.begin()) * kLaneSpacing;
  }
  int width() const { return kLeft + static_cast<int>(lanes.size() - 1) * kLaneSpacing + kRightMargin; }
};

void arrow(Canvas& c, const Layout& layout, const Message& m, int y, std::int64_t offset, const std::string& tooltip) {
  const int x1 = layout.lane_x(m.from);
  const int x2 = layout.lane_x(m.to);
  const int shorten = x2 > x1 ? -4 : 4;  // stop short of the lifeline, where the arrow head is drawn
  const char* colour = m.reject ? kRed : m.end_to_end ? kBlue : kBlack;
  const char* head = m.reject ? "reject-head" : m.end_to_end ? "rekey-head" : "head";
  c.line(x1, y, x2 + shorten, y, colour,
         std::string("stroke-width=\"1.6\" marker-end=\"url(#") + head + ")\"" +
             (m.reject ? " stroke-dasharray=\"6,4\"" : ""));
  c.text((x1 + x2) / 2, y - 6, m.label + "  " + offset_text(offset), colour, "text-anchor=\"middle\"", tooltip);
}

// A mark on the lifeline and a label beside it (on the left of the last lifeline): a verification, a failure,
// an outcome, another event.
void mark(Canvas& c, int x, int y, const Row& row, const std::string& tooltip, bool last_lane) {
  const Record& r = row.record;
  const std::string label = row_label(row) + "  " + offset_text(row.offset_ms);
  const int label_x = last_lane ? x - 12 : x + 12;
  const std::string anchor = last_lane ? " text-anchor=\"end\"" : "";
  if (row.failure) {
    c.line(x - 5, y - 5, x + 5, y + 5, kRed, "stroke-width=\"2.5\"");
    c.line(x - 5, y + 5, x + 5, y - 5, kRed, "stroke-width=\"2.5\"");
    c.text(label_x, y + 4, label, kRed, "font-weight=\"bold\"" + anchor, tooltip);
  } else if (r.event == "link_established") {
    c.raw("<circle cx=\"" + std::to_string(x) + "\" cy=\"" + std::to_string(y) + "\" r=\"5\" fill=\"" + kGreen +
          "\"/>");
    c.text(label_x, y + 4, label, kGreen, "font-weight=\"bold\"" + anchor, tooltip);
  } else if (r.event == "rekeyed") {
    c.raw("<circle cx=\"" + std::to_string(x) + "\" cy=\"" + std::to_string(y) + "\" r=\"5\" fill=\"" + kBlue + "\"/>");
    c.text(label_x, y + 4, label, kBlue, anchor, tooltip);
  } else if (r.event == "step") {
    c.raw("<rect x=\"" + std::to_string(x - 4) + "\" y=\"" + std::to_string(y - 8) +
          "\" width=\"8\" height=\"16\" fill=\"#ffffff\" stroke=\"" + kBlack + "\"/>");
    c.text(label_x, y + 4, label, kBlack, anchor, tooltip);
  } else {
    c.raw("<circle cx=\"" + std::to_string(x) + "\" cy=\"" + std::to_string(y) + "\" r=\"3.5\" fill=\"" + kGrey +
          "\"/>");
    c.text(label_x, y + 4, label, kGrey, anchor, tooltip);
  }
}

std::string tooltip_of(const Row& row) {
  const Record& r = row.record;
  return r.time + " " + r.role + " " + r.event + " " + field_list(r);
}

}  // namespace

std::string render_svg(const std::vector<const Session*>& sessions) {
  Layout layout;
  layout.lanes = {std::string(kSourceRole), std::string(kRelayRole), std::string(kTargetRole)};
  for (const Session* s : sessions) {
    for (const auto& column : s->columns) {
      if (std::find(layout.lanes.begin(), layout.lanes.end(), column) == layout.lanes.end()) {
        layout.lanes.push_back(column);
      }
    }
  }

  Canvas c;
  int y = kTop;
  std::vector<std::pair<int, int>> lifelines;  // per session: from its first event to its last
  std::vector<int> separators;                 // under each session's title
  for (const Session* s : sessions) {
    y += 22;
    std::string title = "session " + s->id + "  " + std::string(outcome_name(s->outcome));
    c.text(14, y, title, outcome_colour(s->outcome), "font-weight=\"bold\" font-size=\"14\"", s->summary);
    separators.push_back(y + 7);
    y += 16;
    lifelines.emplace_back(y - 8, 0);
    for (const auto& row : s->rows) {
      const std::string tooltip = tooltip_of(row);
      // A sent message is its arrow; anything else is a mark on the lifeline (a refusal, then its REJECT).
      const std::string& event = row.record.event;
      const bool arrow_only = !row.messages.empty() && (event == "step" || event == "reject_forwarded" ||
                                                        event == "rekeying" || event == "rekey_answered");
      const auto draw_mark = [&] {
        y += kLine;
        c.text(kLeft - 110, y + 4, offset_text(row.offset_ms), kGrey, "text-anchor=\"end\"");
        mark(c, layout.lane_x(row.record.role), y, row, tooltip, row.record.role == layout.lanes.back());
      };
      // The initiator's rekeyed: the CONFIRM it sends, then its switch.
      const bool mark_last = event == "rekeyed";
      if (!arrow_only && !mark_last) draw_mark();
      for (const auto& m : row.messages) {
        y += kLine;
        c.text(kLeft - 110, y + 4, offset_text(row.offset_ms), kGrey, "text-anchor=\"end\"");
        arrow(c, layout, m, y, row.offset_ms, tooltip);
      }
      if (mark_last) draw_mark();
    }
    y += 10;
    lifelines.back().second = y;
    if (s->failure) {
      const Failure& f = *s->failure;
      y += kTextLine;
      c.text(30, y,
             "failure: " + f.role + (f.step ? " at step " + std::to_string(f.step) : "") + ", check " + f.check +
                 ", cause #" + std::to_string(f.cause) + (f.cause_name.empty() ? "" : " (" + f.cause_name + ")") +
                 (f.reason.empty() ? "" : ": " + f.reason),
             kRed);
    }
    y += kTextLine;
    c.text(30, y, "outcome: " + std::string(outcome_name(s->outcome)) + " (" + s->summary + ")",
           outcome_colour(s->outcome));
    if (!s->rekeys.empty()) {
      y += kTextLine;
      c.text(30, y, "rekeyings: " + rekeyings_summary(*s), kBlue);
    }
    for (const auto& warning : s->warnings) {
      y += kTextLine;
      c.text(30, y, "warning: " + warning, kRed, "font-weight=\"bold\"");
    }
    for (const auto& note : s->notes) {
      y += kTextLine;
      c.text(30, y, "note: " + note, kGrey);
    }
    y += kSessionGap;
  }

  // Legend.
  y += 20;
  const int legend_top = y;
  const int lx = 30;
  c.text(lx, y + 18, "Legend", kBlack, "font-weight=\"bold\"");
  c.line(lx, y + 40, lx + 60, y + 40, kBlack, "stroke-width=\"1.6\" marker-end=\"url(#head)\"");
  c.text(lx + 75, y + 44,
         "message: steps 1, 3 DIRECT COMMUNICATION REQUEST, 5, 7 ACCEPT (and later steps sent on), with the offset "
         "from the session's first event",
         kBlack);
  c.line(lx, y + 62, lx + 60, y + 62, kRed,
         "stroke-width=\"1.6\" stroke-dasharray=\"6,4\" marker-end=\"url(#reject-head)\"");
  c.text(lx + 75, y + 66, "DIRECT COMMUNICATION REJECT with its cause (TS 24.554)", kRed);
  c.raw("<rect x=\"" + std::to_string(lx + 26) + "\" y=\"" + std::to_string(y + 76) +
        "\" width=\"8\" height=\"16\" fill=\"#ffffff\" stroke=\"" + kBlack + "\"/>");
  c.text(lx + 75, y + 88, "verification at that party (steps 2, 4, 6, 8)", kBlack);
  c.line(lx + 25, y + 101, lx + 35, y + 111, kRed, "stroke-width=\"2.5\"");
  c.line(lx + 25, y + 111, lx + 35, y + 101, kRed, "stroke-width=\"2.5\"");
  c.text(lx + 75, y + 110, "failed check (check_failed) or link_failed", kRed);
  c.raw("<circle cx=\"" + std::to_string(lx + 30) + "\" cy=\"" + std::to_string(y + 128) + "\" r=\"5\" fill=\"" +
        kGreen + "\"/>");
  c.text(lx + 75, y + 132, "link_established (equal kd_id at both ends: equal KD)", kGreen);
  c.raw("<circle cx=\"" + std::to_string(lx + 30) + "\" cy=\"" + std::to_string(y + 150) + "\" r=\"3.5\" fill=\"" +
        kGrey + "\"/>");
  c.text(lx + 75, y + 154, "other event (retransmission, pending_expired, ...)", kGrey);
  int legend_height = 166;
  const bool rekeyed =
      std::any_of(sessions.begin(), sessions.end(), [](const Session* s) { return !s->rekeys.empty(); });
  if (rekeyed) {  // only beside rekeyings: a diagram without keeps its legend
    c.line(lx, y + 172, lx + 60, y + 172, kBlue, "stroke-width=\"1.6\" marker-end=\"url(#rekey-head)\"");
    c.text(lx + 75, y + 176,
           "rekeying (docs/protocol.md 12): R1 REQUEST, R2 RESPONSE, R3 CONFIRM from one end to the other, forwarded "
           "unchanged by the relay; rekeyed at each end with its generation and kd_sess_id",
           kBlue);
    legend_height += 22;
  }
  y += legend_height + 4;
  const int width = std::max(layout.width(), c.right() + 20);
  const int height = y + 10;

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height
      << "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" font-size=\"12\">\n";
  svg << "<title>u2u-trace: UE-to-UE relay authentication, " << sessions.size()
      << (sessions.size() == 1 ? " session" : " sessions") << "</title>\n";
  svg << "<defs>\n"
      << "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
         "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\""
      << kBlack << "\"/></marker>\n"
      << "<marker id=\"reject-head\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
         "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\""
      << kRed << "\"/></marker>\n";
  if (rekeyed) {
    svg << "<marker id=\"rekey-head\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
           "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\""
        << kBlue << "\"/></marker>\n";
  }
  svg << "</defs>\n";
  svg << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height << "\" fill=\"#ffffff\"/>\n";
  svg << "<text x=\"14\" y=\"24\" font-size=\"15\" font-weight=\"bold\" fill=\"" << kBlack
      << "\">UE-to-UE relay authentication (3GPP TR 33.740 KI #2): " << sessions.size()
      << (sessions.size() == 1 ? " session" : " sessions") << "</text>\n";
  for (const auto& lane : layout.lanes) {
    const int x = layout.lane_x(lane);
    for (const auto& [top, bottom] : lifelines) {
      svg << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << bottom
          << "\" stroke=\"#9e9e9e\" stroke-dasharray=\"4,4\"/>\n";
    }
    svg << "<rect x=\"" << x - 70 << "\" y=\"" << kTop - 58
        << "\" width=\"140\" height=\"36\" rx=\"4\" fill=\"#eceff1\" "
        << "stroke=\"" << kBlack << "\"/>\n";
    svg << "<text x=\"" << x << "\" y=\"" << kTop - 35 << "\" text-anchor=\"middle\" font-weight=\"bold\" fill=\""
        << kBlack << "\">" << xml(lane) << "</text>\n";
  }
  for (const int sy : separators) {
    svg << "<line x1=\"14\" y1=\"" << sy << "\" x2=\"" << width - 14 << "\" y2=\"" << sy << "\" stroke=\"#d0d0d0\"/>\n";
  }
  svg << "<rect x=\"" << 20 << "\" y=\"" << legend_top << "\" width=\"" << width - 40 << "\" height=\"" << legend_height
      << "\" fill=\"none\" stroke=\"#bdbdbd\"/>\n";
  svg << c.str();
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace u2u::trace
