#pragma once
// Renders protocol events as one line each, text (default) or JSON, on stdout through spdlog.
// Noisy events (drops of unauthenticated input) are rate-limited; what was suppressed is counted on the
// next line that gets through. Nothing secret reaches this layer: events carry only identifiers.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "protocol/events.hpp"

namespace spdlog {
class logger;
}

namespace u2u::logging {

enum class Format { kText, kJson };
std::optional<Format> parse_format(std::string_view text);
std::optional<protocol::Level> parse_level(std::string_view text);
std::string_view level_name(protocol::Level level);

std::string render_text(const protocol::Event& event, std::string_view role, std::chrono::system_clock::time_point t);
std::string render_json(const protocol::Event& event, std::string_view role, std::chrono::system_clock::time_point t);

class EventLog {
 public:
  EventLog(std::string role, Format format, protocol::Level min_level);
  ~EventLog();

  void emit(const protocol::Event& event);
  void set_format(Format format) { format_ = format; }
  void set_level(protocol::Level level) { min_level_ = level; }
  const std::string& role() const { return role_; }
  // Sees every event, before the level filter and the rate limit (the metrics count them all).
  void set_observer(std::function<void(const protocol::Event&)> observer) { observer_ = std::move(observer); }

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
    std::int64_t suppressed = 0;
  };
  bool admit(const std::string& name, std::int64_t& suppressed_before);

  std::string role_;
  Format format_;
  protocol::Level min_level_;
  std::shared_ptr<spdlog::logger> logger_;
  std::map<std::string, Bucket> buckets_;
  std::function<void(const protocol::Event&)> observer_;
};

}  // namespace u2u::logging
