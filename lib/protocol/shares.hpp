#pragma once
// Shares of a table (docs/protocol.md 7): how many entries each owner (a source User Info ID, a sending host, a
// relay) holds, so that no one owner can fill a table that every other party needs.
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace u2u::protocol {

template <class Key>
class Shares {
 public:
  void add(const Key& owner) { ++counts_[owner]; }
  void remove(const Key& owner) {
    if (auto it = counts_.find(owner); it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  template <class K>
  std::size_t of(const K& owner) const {
    const auto it = counts_.find(owner);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  std::map<Key, std::size_t, std::less<>> counts_;
};

// One owner's share as checked before a new entry: its check name (logged), who it is, what it holds, its maximum.
struct ShareCheck {
  std::string_view check;
  std::string owner;
  std::size_t held = 0;
  std::size_t max = 0;
};
// The first share that is used up, as cause #5 (lack of resources): "<owner> already holds <max> <entries>".
std::optional<Error> share_used_up(std::initializer_list<ShareCheck> shares, std::string_view entries);

}  // namespace u2u::protocol
