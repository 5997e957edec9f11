#include "logging/event_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <array>
#include <ctime>

namespace u2u::logging {

namespace {

// Events a flood of junk can cause: at most kBurst at once, refilled at kPerSecond.
constexpr std::array<std::string_view, 5> kRateLimited = {"datagram_dropped", "check_failed", "retransmission",
                                                          "discovery_refused", "data_dropped"};
constexpr double kPerSecond = 20.0;
constexpr double kBurst = 50.0;

// ISO 8601 UTC with microseconds: steps on one host are often less than a millisecond apart.
std::string timestamp(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>(us % 1000000));
  return buf;
}

// The envelope every line starts with; an event field of the same name is written with a "field_" prefix.
bool is_envelope_key(const std::string& key) {
  return key == "time" || key == "level" || key == "role" || key == "event";
}

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  for (char c : s) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

spdlog::level::level_enum to_spdlog(protocol::Level level) {
  switch (level) {
    case protocol::Level::kDebug: return spdlog::level::debug;
    case protocol::Level::kInfo: return spdlog::level::info;
    case protocol::Level::kWarn: return spdlog::level::warn;
    case protocol::Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

std::optional<Format> parse_format(std::string_view text) {
  if (text == "text") return Format::kText;
  if (text == "json") return Format::kJson;
  return std::nullopt;
}

std::optional<protocol::Level> parse_level(std::string_view text) {
  if (text == "debug") return protocol::Level::kDebug;
  if (text == "info") return protocol::Level::kInfo;
  if (text == "warn" || text == "warning") return protocol::Level::kWarn;
  if (text == "error") return protocol::Level::kError;
  return std::nullopt;
}

std::string_view level_name(protocol::Level level) {
  switch (level) {
    case protocol::Level::kDebug: return "debug";
    case protocol::Level::kInfo: return "info";
    case protocol::Level::kWarn: return "warn";
    case protocol::Level::kError: return "error";
  }
  return "info";
}

std::string render_text(const protocol::Event& event, std::string_view role, std::chrono::system_clock::time_point t) {
  std::string line = timestamp(t);
  line += ' ';
  std::string level(level_name(event.level));
  level.resize(5, ' ');
  line += level;
  line += ' ';
  line += role;
  line += ' ';
  line += event.name;
  for (const auto& f : event.fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (const auto* n = std::get_if<std::int64_t>(&f.value)) {
      line += std::to_string(*n);
    } else {
      const auto& s = std::get<std::string>(f.value);
      line += needs_quotes(s) ? nlohmann::json(s).dump() : s;
    }
  }
  return line;
}

std::string render_json(const protocol::Event& event, std::string_view role, std::chrono::system_clock::time_point t) {
  nlohmann::ordered_json j;
  j["time"] = timestamp(t);
  j["level"] = level_name(event.level);
  j["role"] = role;
  j["event"] = event.name;
  for (const auto& f : event.fields) {
    const std::string key = is_envelope_key(f.key) ? "field_" + f.key : f.key;
    if (const auto* n = std::get_if<std::int64_t>(&f.value)) {
      j[key] = *n;
    } else {
      j[key] = std::get<std::string>(f.value);
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

EventLog::EventLog(std::string role, Format format, protocol::Level min_level)
    : role_(std::move(role)), format_(format), min_level_(min_level) {
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  logger_ = std::make_shared<spdlog::logger>(role_, std::move(sink));
  logger_->set_pattern("%v");
  logger_->set_level(spdlog::level::trace);
  logger_->flush_on(spdlog::level::trace);  // people and tests read the log while the daemon runs
}

EventLog::~EventLog() = default;

bool EventLog::admit(const std::string& name, std::int64_t& suppressed_before) {
  suppressed_before = 0;
  if (std::find(kRateLimited.begin(), kRateLimited.end(), name) == kRateLimited.end()) return true;
  const auto now = std::chrono::steady_clock::now();
  auto [it, inserted] = buckets_.try_emplace(name, Bucket{kBurst, now, 0});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
  b.tokens = std::min(kBurst, b.tokens + elapsed * kPerSecond);
  b.refilled = now;
  if (b.tokens < 1.0) {
    ++b.suppressed;
    return false;
  }
  b.tokens -= 1.0;
  suppressed_before = b.suppressed;
  b.suppressed = 0;
  return true;
}

void EventLog::emit(const protocol::Event& event) {
  if (observer_) observer_(event);
  if (event.level < min_level_) return;
  std::int64_t suppressed = 0;
  if (!admit(event.name, suppressed)) return;
  const auto now = std::chrono::system_clock::now();
  if (suppressed > 0) {
    protocol::Event copy = event;
    copy.with("suppressed_before", suppressed);
    logger_->log(to_spdlog(event.level),
                 format_ == Format::kJson ? render_json(copy, role_, now) : render_text(copy, role_, now));
    return;
  }
  logger_->log(to_spdlog(event.level),
               format_ == Format::kJson ? render_json(event, role_, now) : render_text(event, role_, now));
}

}  // namespace u2u::logging
