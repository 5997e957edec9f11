#pragma once
// One end's protection of an established link's user data (docs/protocol.md 11): protect() builds data PDUs to the
// relay with the next COUNT, unprotect() checks a received one (replay window first, then the MAC-I or tag, then the
// window is moved) and deciphers it in place. Sans-I/O: buffers in, buffers out, no clock.
// Rekeying (docs/protocol.md 12.5) gives a link up to two more key sets for a while: the next one (a responder's, for
// receiving until it switches; a PDU that verifies under it switches it) and the previous one (received until the
// caller drops it). Each set has its own 16-bit KD-sess ID, COUNT and replay window; PDUs are sent under the current.
#include <memory>
#include <optional>
#include <span>

#include "common/error.hpp"
#include "crypto/pdu_cipher.hpp"
#include "dataplane/pdu.hpp"
#include "dataplane/replay_window.hpp"
#include "dataplane/suite.hpp"

namespace u2u::dataplane {

struct DataLinkConfig {
  Suite suite = Suite::kAes128Gcm;
  NrpKeys keys;
  std::uint8_t direction = kDirectionFromSource;  // of what this end sends; it receives the other one
  LinkLabel link_label{};
  std::uint16_t kd_sess_id = 0;
  wire::Layer2Id own_layer2_id = 0;
  wire::Layer2Id relay_layer2_id = 0;
};

// Why a received PDU was dropped; each is counted (and logged at a limited rate by the caller).
enum class Drop : std::uint8_t { kFormat, kLink, kKeys, kDuplicate, kTooOld, kIntegrity, kCount };
inline constexpr std::size_t kDropReasons = 6;
std::string_view drop_name(Drop drop);  // "format", "link", "keys", "duplicate", "too_old", "integrity"

// Whether a link that has sent `sent` PDUs under its keys asks for a rekeying now (docs/protocol.md 12.1): "count"
// at kRekeyForcedAtCount, "packets" at `after_packets` (0: never), and again every kRekeyRetryPackets after either.
std::optional<std::string_view> rekey_trigger(std::uint64_t sent, std::uint64_t after_packets);

struct Delivery {
  std::uint8_t bearer = 0;
  std::uint32_t count = 0;
  std::span<std::uint8_t> payload;  // inside the datagram given to unprotect()
  bool switched = false;            // it verified under the next keys, which are now the current ones
};

struct DataCounters {
  std::uint64_t sent = 0;
  std::uint64_t sent_bytes = 0;  // payload octets
  std::uint64_t received = 0;
  std::uint64_t received_bytes = 0;
  std::array<std::uint64_t, kDropReasons> dropped{};
};

class DataLink {
 public:
  static Result<DataLink> create(DataLinkConfig config);
  DataLink(DataLink&&) noexcept;
  DataLink& operator=(DataLink&&) noexcept;
  ~DataLink();

  // Rekeying. The next keys, for receiving only (a responder's, before its switch), replacing a next set; the
  // previous set stays (the peer may have sent under it just before its REQUEST).
  Status install_next(NrpKeys keys, std::uint16_t kd_sess_id);
  // The next keys become the current ones (the old current are kept as the previous, the set before them wiped);
  // false when `kd_sess_id` is not the next set's.
  bool use_next(std::uint16_t kd_sess_id);
  // New current keys at once (an initiator's switch); the old current are kept as the previous, the set before them
  // and any next set wiped.
  Status use_keys(NrpKeys keys, std::uint16_t kd_sess_id);
  // The previous keys are wiped.
  void drop_previous();
  bool holds_previous() const { return previous_ != nullptr; }
  std::uint16_t kd_sess_id() const;

  // The datagram size of a PDU carrying `payload_size` octets.
  std::size_t datagram_size(std::size_t payload_size) const { return kPduPrefixSize + payload_size + trailer_; }
  std::size_t max_payload() const { return wire::kMaxDatagramSize - kPduPrefixSize - trailer_; }
  // Protects `payload` on `bearer` into `out` with the next COUNT; returns the datagram's size. Refuses a payload
  // over max_payload() (check "pdu_size") and, once COUNT reaches kCountLimit, everything (check "count_exhausted":
  // the link must be established anew; COUNT never repeats under one key).
  Result<std::size_t> protect(std::uint8_t bearer, ByteView payload, std::span<std::uint8_t> out);
  // Checks and deciphers a received data PDU in place. On success the payload is valid; on failure nothing of the
  // datagram may be used, and the reason is counted.
  std::variant<Delivery, Drop> unprotect(std::span<std::uint8_t> datagram);

  Suite suite() const { return config_.suite; }
  const LinkLabel& label() const { return config_.link_label; }
  std::uint64_t next_count() const;
  bool exhausted() const { return next_count() >= kCountLimit; }
  const DataCounters& counters() const { return counters_; }
  // For tests: start sending at `count` under the current keys.
  void set_next_count(std::uint64_t count);

 private:
  struct KeySet;
  static Result<std::unique_ptr<KeySet>> make_key_set(Suite suite, NrpKeys keys, std::uint16_t kd_sess_id);
  DataLink(DataLinkConfig config, std::unique_ptr<KeySet> keys);
  Drop count_drop(Drop drop);

  DataLinkConfig config_;
  std::unique_ptr<KeySet> current_;
  std::unique_ptr<KeySet> previous_;  // or none
  std::unique_ptr<KeySet> next_;      // or none
  std::size_t trailer_ = 0;
  DataCounters counters_;
};

}  // namespace u2u::dataplane
