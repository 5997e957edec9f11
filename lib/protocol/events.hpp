#pragma once
// What a state machine reports. The logging layer renders these as text or JSON lines; the core never logs.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace u2u::protocol {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  std::string key;
  std::variant<std::int64_t, std::string> value;
};

struct Event {
  Level level = Level::kInfo;
  std::string name;
  std::vector<Field> fields;

  Event& with(std::string key, std::string value) {
    fields.push_back({std::move(key), std::move(value)});
    return *this;
  }
  Event& with(std::string key, std::int64_t value) {
    fields.push_back({std::move(key), value});
    return *this;
  }
  // The value of `key`, or nullptr.
  const std::variant<std::int64_t, std::string>* find(std::string_view key) const {
    for (const auto& f : fields) {
      if (f.key == key) return &f.value;
    }
    return nullptr;
  }
};

inline Event event(Level level, std::string name) { return Event{level, std::move(name), {}}; }

}  // namespace u2u::protocol
