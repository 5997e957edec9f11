#pragma once
// Reading the daemons' JSON logs (`--log-format json`, lib/logging/event_log.cpp): one object per line with
// `time` (ISO-8601 UTC), `level`, `role`, `event` and the event's fields. Lines of other formats are counted and
// skipped; events this reader does not know are kept as they are, so new events never break it.
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace u2u::trace {

struct Record {
  std::int64_t time_ms = 0;  // milliseconds since the Unix epoch, UTC
  std::string time;          // as logged
  std::string level;
  std::string role;               // the program that logged it: source-ue, relay-ue, target-ue, ...
  std::string event;              // step, check_failed, link_established, ...
  std::string session;            // empty when the event carries none
  nlohmann::ordered_json fields;  // the whole line, every field included, in the logged order
  std::size_t input = 0;          // which input it came from (argument order)
  std::size_t line = 0;           // 1-based line number in that input

  // A field as text ("" when absent; numbers in decimal).
  std::string text(std::string_view key) const;
  // An integer field, or nullopt when absent or not an integer.
  std::optional<std::int64_t> number(std::string_view key) const;
};

enum class LineKind {
  kRecord,   // a log event
  kBlank,    // empty or whitespace only
  kNotJson,  // not a JSON object: e.g. a line of --log-format text
  kInvalid,  // a JSON object, but not an event: no valid time, role or event
};

struct ParseStats {
  std::size_t lines = 0;
  std::size_t records = 0;
  std::size_t not_json = 0;
  std::size_t invalid = 0;
};

// "2026-11-28T00:16:56.427Z" (any number of fraction digits, or none; "Z" or "+hh:mm"/"-hh:mm") to
// milliseconds since the epoch.
std::optional<std::int64_t> parse_time(std::string_view iso8601);

// One line into `out` (its input and line number are left as they are).
LineKind parse_line(std::string_view line, Record& out);

// Every line of `in`, as input number `input`; adds to `stats`.
std::vector<Record> parse_stream(std::istream& in, std::size_t input, ParseStats& stats);

// All inputs as one stream ordered by time; equal times keep input order, then line order. A line that
// another input holds too (the same log given twice) is kept once.
std::vector<Record> merge(std::vector<std::vector<Record>> inputs);

}  // namespace u2u::trace
