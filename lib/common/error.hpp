#pragma once
// The project's one error type: a TS 24.554 PC5 signalling protocol cause plus a human reason.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace u2u {

// TS 24.554 Table 11.3.8.1, PC5 signalling protocol cause values (the values the project uses, as listed
// in shared/seed/README.md). kNone is local only: no PC5 cause was received or applies (e.g. T5080 expiry,
// a bad config file); it never goes on the wire.
enum class Cause : std::uint8_t {
  kNone = 0,
  kDirectCommunicationNotAllowed = 1,
  kNoLongerNeeded = 2,
  kLackOfResources = 5,
  kAuthenticationFailure = 6,
  kIntegrityFailure = 7,
  kSecurityCapabilitiesMismatch = 8,  // no user-plane suite both ends accept
  kCongestion = 13,
  kProtocolErrorUnspecified = 111,
};
// Every cause above that goes on the wire (all but kNone), in numeric order.
inline constexpr std::array<Cause, 8> kWireCauses = {Cause::kDirectCommunicationNotAllowed,
                                                     Cause::kNoLongerNeeded,
                                                     Cause::kLackOfResources,
                                                     Cause::kAuthenticationFailure,
                                                     Cause::kIntegrityFailure,
                                                     Cause::kSecurityCapabilitiesMismatch,
                                                     Cause::kCongestion,
                                                     Cause::kProtocolErrorUnspecified};

std::string_view cause_name(Cause cause);
// A cause octet read from the wire; values the project does not know map to #111 (TS 24.007 11.4.2 style).
Cause cause_from_wire(std::uint8_t value);

struct [[nodiscard]] Error {
  Cause cause = Cause::kProtocolErrorUnspecified;
  // A short stable name of the check that failed (e.g. "source_certificate"), for logs and tests.
  std::string check;
  // What exactly was wrong, for a person.
  std::string reason;
};

inline Error make_error(Cause cause, std::string check, std::string reason) {
  return Error{cause, std::move(check), std::move(reason)};
}

// Result<T>: a value or an Error. Deliberately small: ok(), value(), error().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace u2u
