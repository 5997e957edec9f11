#include "protocol/shares.hpp"

namespace u2u::protocol {

std::optional<Error> share_used_up(std::initializer_list<ShareCheck> shares, std::string_view entries) {
  for (const ShareCheck& s : shares) {
    if (s.held >= s.max) {
      return make_error(Cause::kLackOfResources, std::string(s.check),
                        s.owner + " already holds " + std::to_string(s.max) + " " + std::string(entries));
    }
  }
  return std::nullopt;
}

}  // namespace u2u::protocol
