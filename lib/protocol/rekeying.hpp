#pragma once
// Rekeying of an established link (docs/protocol.md 12; issue 15), after the PC5 unicast rekeying of TS 33.536
// 6.3.3.2 and TS 24.554 (DIRECT LINK REKEYING REQUEST / RESPONSE): either end (the initiator) sends a REQUEST with a
// fresh nonce, MAC'd under the current K_int; the other (the responder) derives the next keys, installs them for
// receiving and answers with its own nonce, MAC'd under the next K_int; the initiator derives them too, switches, and
// sends a CONFIRM under the next K_int, on which the responder switches. On a link made with forward secrecy both
// messages carry fresh ephemeral keys and KD itself is renewed. One per link, held by the source's or the target's
// link; sans-I/O like the roles.
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "protocol/constants.hpp"
#include "protocol/key_schedule.hpp"
#include "protocol/node.hpp"
#include "protocol/timers.hpp"

namespace u2u::protocol {

enum class LinkEnd { kSource, kTarget };

struct RekeyingConfig {
  Millis after = kDefaultRekeyAfter;  // data.rekey_after_seconds: a rekeying when the keys are this old; 0: never
  RetransmitPolicy retransmit{kDefaultT5080, kDefaultMaxTries, 2, kJitterPercent, kDefaultT5080Max};
};

// Where one link's messages go, and what its events carry.
struct LinkAddress {
  Endpoint relay;
  wire::Layer2Id own_layer2_id = 0;
  wire::Layer2Id relay_layer2_id = 0;
  wire::Digest digest{};  // the link's name
  std::string session;
  std::string user_info_id;  // this end's
  std::string peer;          // the other end's
};

class Rekeying {
 public:
  Rekeying(LinkEnd end, RekeyingConfig config, LinkAddress address, MonoTime established);

  // A rekeying begins (`trigger`: "time", "packets", "count", "signal"): the REQUEST is sent. Nothing when one is
  // under way already.
  Output start(const SessionKeys& keys, std::string trigger, const RandomSource& random, const Now& now);
  // A REKEYING REQUEST, RESPONSE or CONFIRM of this link. `keys` are the link's: replaced on a switch.
  Output on_message(const wire::Message& message, SessionKeys& keys, const RandomSource& random, const Now& now);
  // Any other link message: whether its MAC verifies under the current K_int, or under the next one (the initiator
  // uses them, so they become the link's: `keys` replaced, the switch in `out`), or under the previous one while it
  // lingers (the peer sent it before it switched).
  bool verify(const wire::Message& message, std::string_view label, SessionKeys& keys, Output& out, const Now& now);
  // Retransmissions, the wipe of the previous K_int, and the time trigger.
  Output on_timer(SessionKeys& keys, const RandomSource& random, const Now& now);
  std::optional<MonoTime> next_deadline() const;

  // The responder's next keys, installed for receiving until the switch; nullptr when none.
  const SessionKeys* next() const { return responding_ ? &responding_->keys : nullptr; }
  bool under_way() const { return requesting_.has_value() || (responding_ && responding_->response.active()); }

 private:
  struct Requesting {
    std::uint32_t generation = 0;
    wire::Nonce nonce{};
    std::shared_ptr<const crypto::PrivateKey> ephemeral;  // forward secrecy; dropped once the secret is derived
    Retransmission request;
    std::string trigger;
  };
  struct Responding {
    Bytes request;  // the REQUEST answered: an identical copy gets the same RESPONSE
    SessionKeys keys;
    Retransmission response;  // until the CONFIRM (or anything under the next keys)
  };
  Output switch_to(SessionKeys& keys, SessionKeys next, std::string_view role, std::string trigger, const Now& now);
  Bytes datagram(const wire::LinkMessage& message, const crypto::SecretBytes& k_int, std::string_view label) const;
  Event event_of(Level level, std::string name) const;
  Event refused(std::string check, std::string reason) const;
  // The sender's half of a forward-secret rekeying: a fresh ephemeral key and its public point.
  struct Ephemeral {
    std::shared_ptr<const crypto::PrivateKey> key;
    wire::EphemeralKey point{};
  };
  static Result<Ephemeral> fresh_ephemeral();
  static Result<crypto::SecretBytes> rekeying_secret(const crypto::PrivateKey& own, const wire::EphemeralKey& peer);

  LinkEnd end_;
  RekeyingConfig config_;
  LinkAddress address_;
  MonoTime keys_since_;
  std::optional<Requesting> requesting_;
  std::optional<Responding> responding_;
  Bytes taken_response_;  // the RESPONSE the initiator took last, and its CONFIRM, sent again for a copy of it
  Bytes confirm_;
  // The K_int of earlier generations, each until kRekeyOldKeysLinger after it was replaced (a cached answer or a
  // retransmission made before a switch), at most kRekeyMaxPreviousKeys of them.
  std::deque<std::pair<crypto::SecretBytes, MonoTime>> previous_;
};

}  // namespace u2u::protocol
