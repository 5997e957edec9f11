#include "trace/parser.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <unordered_map>

namespace u2u::trace {

namespace {

// Reads exactly `digits` decimal digits at `pos`.
std::optional<int> read_digits(std::string_view s, std::size_t& pos, std::size_t digits) {
  if (pos + digits > s.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += digits;
  return value;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// The daemons log flat objects; deeper nesting than this is not theirs, and would exhaust the stack of the
// JSON library's recursive writer.
constexpr int kMaxDepth = 16;

bool nested_too_deep(std::string_view line) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::string Record::text(std::string_view key) const {
  const auto it = fields.find(key);
  if (it == fields.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<std::int64_t> Record::number(std::string_view key) const {
  const auto it = fields.find(key);
  if (it == fields.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {  // tolerate "6" as well as 6
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc{} && end == s.data() + s.size()) return value;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_time(std::string_view s) {
  std::size_t pos = 0;
  const auto year = read_digits(s, pos, 4);
  if (!year || !expect(s, pos, '-')) return std::nullopt;
  const auto month = read_digits(s, pos, 2);
  if (!month || !expect(s, pos, '-')) return std::nullopt;
  const auto day = read_digits(s, pos, 2);
  if (!day || !(expect(s, pos, 'T') || expect(s, pos, 't') || expect(s, pos, ' '))) return std::nullopt;
  const auto hour = read_digits(s, pos, 2);
  if (!hour || !expect(s, pos, ':')) return std::nullopt;
  const auto minute = read_digits(s, pos, 2);
  if (!minute || !expect(s, pos, ':')) return std::nullopt;
  const auto second = read_digits(s, pos, 2);
  if (!second) return std::nullopt;
  int millis = 0;
  if (expect(s, pos, '.')) {
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_minutes = 0;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    const auto oh = read_digits(s, pos, 2);
    if (!oh || !expect(s, pos, ':')) return std::nullopt;
    const auto om = read_digits(s, pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_minutes = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const std::int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

LineKind parse_line(std::string_view line, Record& out) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.empty()) return LineKind::kBlank;
  if (line.front() != '{') return LineKind::kNotJson;
  if (nested_too_deep(line)) return LineKind::kInvalid;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return LineKind::kNotJson;
  const auto string_field = [&](const char* key) -> std::optional<std::string> {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto time = string_field("time");
  auto role = string_field("role");
  auto event = string_field("event");
  if (!time || !role || !event || role->empty() || event->empty()) return LineKind::kInvalid;
  const auto ms = parse_time(*time);
  if (!ms) return LineKind::kInvalid;
  out.time_ms = *ms;
  out.time = std::move(*time);
  out.role = std::move(*role);
  out.event = std::move(*event);
  out.level = string_field("level").value_or("");
  out.session = string_field("session").value_or("");
  out.fields = std::move(j);
  return LineKind::kRecord;
}

std::vector<Record> parse_stream(std::istream& in, std::size_t input, ParseStats& stats) {
  std::vector<Record> records;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    ++stats.lines;
    Record r;
    switch (parse_line(line, r)) {
      case LineKind::kRecord:
        r.input = input;
        r.line = number;
        records.push_back(std::move(r));
        ++stats.records;
        break;
      case LineKind::kBlank: break;
      case LineKind::kNotJson: ++stats.not_json; break;
      case LineKind::kInvalid: ++stats.invalid; break;
    }
  }
  return records;
}

std::vector<Record> merge(std::vector<std::vector<Record>> inputs) {
  std::vector<Record> all;
  for (auto& records : inputs) {
    for (auto& r : records) all.push_back(std::move(r));
  }
  std::stable_sort(all.begin(), all.end(), [](const Record& a, const Record& b) {
    if (a.time_ms != b.time_ms) return a.time_ms < b.time_ms;
    if (a.input != b.input) return a.input < b.input;
    return a.line < b.line;
  });
  // The same log given twice (as a file and again in stdin, say): keep one copy of each line. Copies within
  // one input are kept: a daemon may log the same line twice in a millisecond.
  std::vector<Record> kept;
  std::unordered_map<std::string, std::size_t> first_input;  // line -> the input it was first seen in, this ms
  for (auto& r : all) {
    if (!kept.empty() && kept.back().time_ms != r.time_ms) first_input.clear();
    const auto [it, inserted] = first_input.try_emplace(
        r.fields.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), r.input);
    if (inserted || it->second == r.input) kept.push_back(std::move(r));
  }
  return kept;
}

}  // namespace u2u::trace
