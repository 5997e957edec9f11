// The attack suite (issue #3): each case runs the three state machines in memory, makes one party or the network
// misbehave, and asserts who refuses, with which TS 24.554 cause, and that no link is established at the target
// (nor at the source, whenever the attack lands before it has verified everything).
#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;
constexpr auto kPastEveryTimeout = 120s;

std::unique_ptr<Testbed> testbed(const Parties& p, bool forward_secrecy = false) {
  auto source = source_config(p.source);
  source.forward_secrecy = forward_secrecy;
  return std::make_unique<Testbed>(std::move(source), relay_config(p.relay), target_config(p.target));
}

// Drives a handshake to its end: every message, then every timer.
void run_to_end(Testbed& tb) {
  tb.run();
  tb.fire_timers(later(test_now(), kPastEveryTimeout));
}

std::vector<protocol::Event> refusals(const Testbed& tb, std::string_view role) {
  return tb.net.events(role, "check_failed");
}

void expect_no_link_at_target(const Testbed& tb) {
  EXPECT_TRUE(tb.net.events("target-ue", "link_established").empty());
  EXPECT_EQ(tb.target.keys_for("source-ue"), nullptr);
}

void expect_no_link_anywhere(const Testbed& tb) {
  expect_no_link_at_target(tb);
  EXPECT_TRUE(tb.net.events("source-ue", "link_established").empty());
  EXPECT_NE(tb.source.state(), protocol::SourceUe::State::kEstablished);
}

// `role` refused, every time with this check and cause (once per copy it received: when its reject cannot be
// routed back, the source sends the request again on T5080 and each copy is refused alike).
void expect_refusal(const Testbed& tb, std::string_view role, std::string_view check, Cause cause) {
  const auto r = refusals(tb, role);
  ASSERT_GE(r.size(), 1u) << role << " did not refuse";
  for (const auto& e : r) {
    EXPECT_EQ(str(e, "check"), check);
    EXPECT_EQ(num(e, "cause"), static_cast<std::int64_t>(cause));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generated: every IE of every message changed, removed, duplicated or reordered.

struct IeSpan {
  std::size_t offset;  // of the IEI, within the datagram
  std::size_t size;    // IE header and value
  std::uint8_t iei;
};

std::vector<IeSpan> ies_of(const Bytes& datagram) {
  std::vector<IeSpan> out;
  std::size_t at = wire::kHeaderSize + 1;
  while (at + wire::kIeHeaderSize <= datagram.size()) {
    const std::size_t length = (std::size_t{datagram[at + 1]} << 8) | datagram[at + 2];
    out.push_back({at, wire::kIeHeaderSize + length, datagram[at]});
    at += wire::kIeHeaderSize + length;
  }
  return out;
}

enum class Mutation { kChange, kRemove, kDuplicate, kReorder };
const char* name(Mutation m) {
  switch (m) {
    case Mutation::kChange: return "changed";
    case Mutation::kRemove: return "removed";
    case Mutation::kDuplicate: return "duplicated";
    case Mutation::kReorder: return "reordered";
  }
  return "?";
}

Bytes mutate(const Bytes& d, const std::vector<IeSpan>& ies, std::size_t i, Mutation m) {
  Bytes out = d;
  const IeSpan& ie = ies[i];
  switch (m) {
    case Mutation::kChange:
      out[ie.offset + wire::kIeHeaderSize] ^= 0x01;  // one bit of the value
      break;
    case Mutation::kRemove: out.erase(out.begin() + ie.offset, out.begin() + ie.offset + ie.size); break;
    case Mutation::kDuplicate:
      out.insert(out.begin() + ie.offset + ie.size, d.begin() + ie.offset, d.begin() + ie.offset + ie.size);
      break;
    case Mutation::kReorder: {
      const IeSpan& a = i + 1 < ies.size() ? ie : ies[i - 1];
      const IeSpan& b = i + 1 < ies.size() ? ies[i + 1] : ie;
      Bytes swapped(d.begin() + b.offset, d.begin() + b.offset + b.size);
      swapped.insert(swapped.end(), d.begin() + a.offset, d.begin() + a.offset + a.size);
      std::copy(swapped.begin(), swapped.end(), out.begin() + a.offset);
      break;
    }
  }
  return out;
}

// The eight datagrams of a handshake, in order, and who receives each: the handshake (steps 1-7), the LINK
// CONFIRM (step 9) and its acknowledgement, each on both hops.
enum class Phase { kHandshake, kConfirm, kAck };
struct Flight {
  const char* what;
  const char* receiver;
  int step;
  Phase phase;
};
constexpr Flight kFlights[] = {{"step 1 request", "relay-ue", 1, Phase::kHandshake},
                               {"step 3 relayed request", "target-ue", 3, Phase::kHandshake},
                               {"step 5 accept", "relay-ue", 5, Phase::kHandshake},
                               {"step 7 relayed accept", "source-ue", 7, Phase::kHandshake},
                               {"step 9 link confirm", "relay-ue", 9, Phase::kConfirm},
                               {"step 9 relayed link confirm", "target-ue", 9, Phase::kConfirm},
                               {"link confirm ack", "relay-ue", 9, Phase::kAck},
                               {"relayed link confirm ack", "source-ue", 9, Phase::kAck}};
constexpr std::size_t kFlightCount = std::size(kFlights);

// What the receiver must do with a message whose IE `iei` was mutated by `m`: drop it undecoded (`dropped`), or
// refuse it with a cause (at `refuser`: the receiver, unless it is the relay, which cannot check link MACs).
struct Expected {
  bool dropped = false;
  std::string refuser;
  Cause cause = Cause::kNone;
};

Expected expected(std::size_t flight, std::uint8_t iei, Mutation m) {
  const auto type = static_cast<wire::Iei>(iei);
  const std::string receiver = kFlights[flight].receiver;
  const Phase phase = kFlights[flight].phase;
  const bool optional = type == wire::Iei::kSourceEphemeralKey || type == wire::Iei::kTargetEphemeralKey;
  // Structure broken: refused by the decoder (out of order, duplicate, missing mandatory IE).
  if (m != Mutation::kChange && !(m == Mutation::kRemove && optional)) return {true, receiver, Cause::kNone};
  // A changed request digest names no request or link the receiver knows.
  if (type == wire::Iei::kRequestDigest) return {true, receiver, Cause::kNone};
  // A request for another target: #1 (the relay does not reach it; the target is not it).
  if (flight <= 1 && (type == wire::Iei::kTargetUserInfoId || type == wire::Iei::kTargetLayer2Id)) {
    return {false, receiver, Cause::kDirectCommunicationNotAllowed};
  }
  // A link message's MAC: only the far end holds K_int to check it (#7).
  if (phase == Phase::kConfirm) return {false, "target-ue", Cause::kIntegrityFailure};
  if (phase == Phase::kAck) return {false, "source-ue", Cause::kIntegrityFailure};
  // Everything else is covered by a signature the receiver checks (or is a certificate it checks): #6.
  return {false, receiver, Cause::kAuthenticationFailure};
}

// The kind of a flight: who sends what to whom. An on-path attacker alters every copy of it (retransmissions
// included: a single altered copy is healed by the next).
struct FlightKind {
  Endpoint from, to;
  wire::MessageType type;
  bool operator==(const FlightKind&) const = default;
};
FlightKind kind_of(const InFlight& f) { return {f.from, f.to, static_cast<wire::MessageType>(f.datagram.at(7))}; }

class GeneratedMutations : public ::testing::TestWithParam<std::tuple<std::size_t, bool>> {};

TEST_P(GeneratedMutations, EveryIeChangedRemovedDuplicatedOrReorderedIsRefusedByItsReceiver) {
  const auto [flight, forward_secrecy] = GetParam();
  static const TestPki pki;
  static const Parties parties(pki);
  // A clean run gives the genuine datagram to mutate, and its kind.
  auto clean = testbed(parties, forward_secrecy);
  clean->run();
  ASSERT_EQ(clean->net.wire_log.size(), kFlightCount);
  const Bytes original = clean->net.wire_log[flight].datagram;
  const FlightKind target_kind = kind_of(clean->net.wire_log[flight]);
  const auto ies = ies_of(original);
  ASSERT_GE(ies.size(), 2u);
  int cases = 0;
  for (std::size_t i = 0; i < ies.size(); ++i) {
    for (Mutation m : {Mutation::kChange, Mutation::kRemove, Mutation::kDuplicate, Mutation::kReorder}) {
      SCOPED_TRACE(std::string(kFlights[flight].what) + ": IE " + std::string(wire::iei_name(ies[i].iei)) + " " +
                   name(m));
      auto tb = testbed(parties, forward_secrecy);
      // The genuine handshake, with every copy of that flight altered at the same IE (each run makes its own
      // nonces, so the mutation is applied to this run's bytes).
      tb->net.on_flight = [&](InFlight& f) {
        if (kind_of(f) == target_kind) f.datagram = mutate(f.datagram, ies_of(f.datagram), i, m);
        return true;
      };
      run_to_end(*tb);
      const Expected want = expected(flight, ies[i].iei, m);
      if (want.dropped) {
        EXPECT_FALSE(tb->net.events(want.refuser, "datagram_dropped").empty()) << "not dropped";
        EXPECT_TRUE(refusals(*tb, want.refuser).empty());
      } else {
        const auto r = refusals(*tb, want.refuser);
        ASSERT_GE(r.size(), 1u) << want.refuser << " did not refuse";
        for (const auto& e : r) EXPECT_EQ(num(e, "cause"), static_cast<std::int64_t>(want.cause)) << str(e, "reason");
      }
      switch (kFlights[flight].phase) {
        case Phase::kHandshake:
          // The source had not verified everything: it fails (reject or T5080) and nobody holds a link.
          expect_no_link_anywhere(*tb);
          EXPECT_EQ(tb->net.events("source-ue", "link_failed").size(), 1u);
          break;
        case Phase::kConfirm:
          // The source declared the link after step 8 (it verified the target's key confirmation); the target,
          // never confirmed, fails it, and the source, never acknowledged, loses it.
          expect_no_link_at_target(*tb);
          EXPECT_EQ(tb->net.events("target-ue", "link_failed").size(), 1u);
          EXPECT_EQ(str(tb->net.events("source-ue", "link_lost").at(0), "check"), "confirm_unacknowledged");
          break;
        case Phase::kAck:
          // The target confirmed the link; the source never sees a valid acknowledgement: it loses the link, and
          // the target, hearing nothing more, lets it expire.
          EXPECT_EQ(tb->net.events("target-ue", "link_established").size(), 1u);
          EXPECT_EQ(str(tb->net.events("source-ue", "link_lost").at(0), "check"), "confirm_unacknowledged");
          EXPECT_EQ(tb->net.events("target-ue", "link_expired").size(), 1u);
          break;
      }
      ++cases;
    }
  }
  EXPECT_EQ(cases, static_cast<int>(ies.size() * 4));
}

INSTANTIATE_TEST_SUITE_P(Attacks, GeneratedMutations,
                         ::testing::Combine(::testing::Range<std::size_t>(0, kFlightCount), ::testing::Bool()),
                         [](const auto& flight) {
                           return std::string("Flight") + std::to_string(std::get<0>(flight.param)) + "Step" +
                                  std::to_string(kFlights[std::get<0>(flight.param)].step) +
                                  (std::get<1>(flight.param) ? "WithForwardSecrecy" : "");
                         });

// The datagram header: version, destination Layer-2 ID and message type changed are dropped by the receiver.
TEST(Attacks, ChangedVersionDestinationOrMessageTypeIsDroppedByTheReceiver) {
  const TestPki pki;
  const Parties parties(pki);
  auto clean = testbed(parties);
  clean->run();
  for (std::size_t flight = 0; flight < kFlightCount; ++flight) {
    const FlightKind target_kind = kind_of(clean->net.wire_log[flight]);
    for (std::size_t octet : {std::size_t{0}, std::size_t{6}, wire::kHeaderSize}) {
      SCOPED_TRACE(std::string(kFlights[flight].what) + ", header octet " + std::to_string(octet));
      auto tb = testbed(parties);
      tb->net.on_flight = [&](InFlight& f) {
        if (kind_of(f) == target_kind) f.datagram[octet] ^= 0x04;
        return true;
      };
      run_to_end(*tb);
      EXPECT_FALSE(tb->net.events(kFlights[flight].receiver, "datagram_dropped").empty());
      if (kFlights[flight].phase != Phase::kAck) expect_no_link_at_target(*tb);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials.

TEST(Attacks, RelayCredentialFromAnotherCaIsRefusedByTheTargetWithCause6) {
  const TestPki pki;
  const TestPki rogue("rogue-ca");
  auto relay = rogue.party("relay-ue", crypto::Role::kRelay, kRelayL2);
  relay.trust = pki.trust;  // it trusts the real CA, so it verifies the source and forwards
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2), relay,
             pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "target-ue", "relay_certificate_chain", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
  EXPECT_EQ(num(tb.net.events("source-ue", "link_failed").at(0), "cause"), 6);
}

TEST(Attacks, UeCredentialWithoutTheRelayRoleActingAsRelayIsRefusedWithCause6) {
  const TestPki pki;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2), pki.party("relay-ue", crypto::Role::kUe, kRelayL2),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "target-ue", "relay_certificate_role", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

TEST(Attacks, CertificateWhoseCnDiffersFromTheClaimedUserInfoIdIsRefusedWithCause6) {
  const TestPki pki;
  const auto now = test_now().wall;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2, now - 1h, now + 24h, "mallory"),
             pki.party("relay-ue", crypto::Role::kRelay, kRelayL2),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "relay-ue", "source_certificate_identity", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
  EXPECT_TRUE(tb.net.events("target-ue", "step").empty());  // never forwarded
}

TEST(Attacks, ExpiredSourceCertificateIsRefusedByTheRelayWithCause6) {
  const TestPki pki;
  const auto now = test_now().wall;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2, now - 48h, now - 1h),
             pki.party("relay-ue", crypto::Role::kRelay, kRelayL2),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "relay-ue", "source_certificate_validity", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

TEST(Attacks, NotYetValidRelayCertificateIsRefusedByTheTargetWithCause6) {
  const TestPki pki;
  const auto now = test_now().wall;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2),
             pki.party("relay-ue", crypto::Role::kRelay, kRelayL2, now + 1h, now + 48h),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "target-ue", "relay_certificate_validity", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

TEST(Attacks, ExpiredTargetCertificateIsRefusedByTheRelayWithCause6) {
  const TestPki pki;
  const auto now = test_now().wall;
  Testbed tb(pki.party("source-ue", crypto::Role::kUe, kSourceL2),
             pki.party("relay-ue", crypto::Role::kRelay, kRelayL2),
             pki.party("target-ue", crypto::Role::kUe, kTargetL2, now - 48h, now - 1s));
  run_to_end(tb);
  // Each copy of the accept is a lost one (issue 13) until kRelayMaxFailedAccepts end the route; then a copy of the
  // request is a replay. Every refusal is #6.
  const auto r = refusals(tb, "relay-ue");
  ASSERT_GT(r.size(), protocol::kRelayMaxFailedAccepts);
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(str(r[i], "check"), i < protocol::kRelayMaxFailedAccepts ? "target_certificate_validity" : "replay");
    EXPECT_EQ(num(r[i], "cause"), static_cast<std::int64_t>(Cause::kAuthenticationFailure));
  }
  EXPECT_EQ(tb.relay.pending_count(), 0u);
  expect_no_link_anywhere(tb);
}

TEST(Attacks, CredentialOnTheRevocationDenyListIsRefusedWithCause6) {
  const TestPki pki;
  auto source = pki.party("source-ue", crypto::Role::kUe, kSourceL2);
  auto relay = pki.party("relay-ue", crypto::Role::kRelay, kRelayL2);
  auto revoking = std::make_shared<crypto::TrustStore>(*pki.trust);
  revoking->set_revoked_serials({source.certificate.serial_hex()});
  relay.trust = revoking;
  Testbed tb(source, relay, pki.party("target-ue", crypto::Role::kUe, kTargetL2));
  run_to_end(tb);
  expect_refusal(tb, "relay-ue", "source_certificate_revoked", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

// ---------------------------------------------------------------------------------------------------------------
// A malicious relay. It holds a genuine relay credential and, to make the attacks as strong as they can be, a
// genuine UE credential of its own ("relay-ue" with the ue role) from the same CA.

struct Forger {
  protocol::LocalParty relay;  // its relay credential
  protocol::LocalParty as_ue;  // its own UE credential

  // Re-countersigns `message` (whose relay IEs are stripped) as the relay would.
  Bytes countersign(Bytes originator, wire::Iei sig_iei, const protocol::StepSignature& step) const {
    wire::append_relay_identity(originator, relay.user_info_id, relay.certificate.der());
    auto sig = protocol::sign_step(*relay.signer, step, originator);
    wire::append_signature(originator, sig_iei, *sig);
    return originator;
  }
};

Bytes readdress(const Bytes& datagram, const Bytes& message) {
  return wire::encode_datagram((std::uint32_t{datagram[1]} << 16) | (datagram[2] << 8) | datagram[3],
                               (std::uint32_t{datagram[4]} << 16) | (datagram[5] << 8) | datagram[6], message);
}

TEST(Attacks, RelaySubstitutingItsOwnCertificateAndSignatureForTheSourcesIsRefusedByTheTarget) {
  const TestPki pki;
  const Parties p(pki);
  const Forger forger{p.relay, pki.party("relay-ue", crypto::Role::kUe, kRelayL2)};
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to != kTargetEndpoint ||
        wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kDirectCommunicationRequest) {
      return true;
    }
    // Keep the source's User Info ID, put in the relay's own UE certificate and sign with the relay's UE key.
    auto request = std::get<wire::DirectCommunicationRequest>(wire::decode_datagram(f.datagram)->message.body);
    request.source_certificate = forger.as_ue.certificate.der();
    Bytes m = wire::encode_request_unsigned(request);
    wire::append_signature(m, wire::Iei::kSignSource,
                           *protocol::sign_step(*forger.as_ue.signer, protocol::kSignSource, m));
    f.datagram = readdress(f.datagram, forger.countersign(m, wire::Iei::kSign1Relay, protocol::kSign1Relay));
    return true;
  };
  run_to_end(tb);
  expect_refusal(tb, "target-ue", "source_certificate_identity", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

TEST(Attacks, RelayReplacingTheSourceEntirelyByItselfGetsNoLinkInTheSourcesName) {
  const TestPki pki;
  const Parties p(pki);
  const Forger forger{p.relay, pki.party("relay-ue", crypto::Role::kUe, kRelayL2)};
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to != kTargetEndpoint ||
        wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kDirectCommunicationRequest) {
      return true;
    }
    auto request = std::get<wire::DirectCommunicationRequest>(wire::decode_datagram(f.datagram)->message.body);
    request.source_user_info_id = forger.as_ue.user_info_id;
    request.source_certificate = forger.as_ue.certificate.der();
    Bytes m = wire::encode_request_unsigned(request);
    wire::append_signature(m, wire::Iei::kSignSource,
                           *protocol::sign_step(*forger.as_ue.signer, protocol::kSignSource, m));
    f.datagram = readdress(f.datagram, forger.countersign(m, wire::Iei::kSign1Relay, protocol::kSign1Relay));
    return true;
  };
  run_to_end(tb);
  // The target answers "relay-ue" (which is who signed), never "source-ue"; its accept answers a request the
  // source never sent, so it matches nothing pending at the relay, and the source fails on T5080.
  for (const auto& e : tb.net.events("target-ue", "link_established")) EXPECT_NE(str(e, "peer"), "source-ue");
  EXPECT_EQ(tb.target.keys_for("source-ue"), nullptr);
  EXPECT_TRUE(tb.net.events("source-ue", "link_established").empty());
  EXPECT_FALSE(tb.net.events("relay-ue", "datagram_dropped").empty());
  EXPECT_EQ(str(tb.net.events("source-ue", "link_failed").at(0), "check"), "timeout");
}

TEST(Attacks, RelaySubstitutingItsOwnCertificateForTheTargetsIsRefusedByTheSourceWithCause6) {
  const TestPki pki;
  const Parties p(pki);
  const Forger forger{p.relay, pki.party("relay-ue", crypto::Role::kUe, kRelayL2)};
  for (const bool keep_target_id : {true, false}) {
    SCOPED_TRACE(keep_target_id ? "claiming to be target-ue" : "as relay-ue");
    Testbed tb(p.source, p.relay, p.target);
    tb.net.on_flight = [&](InFlight& f) {
      if (f.to != kSourceEndpoint ||
          wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kDirectCommunicationAccept) {
        return true;
      }
      // A complete, self-consistent accept from the relay's own UE key: signature and key confirmation MAC too
      // (the relay can compute KD-sess with the source for its own key).
      const auto relayed = wire::decode_datagram(f.datagram);
      auto accept = std::get<wire::DirectCommunicationAccept>(relayed->message.body);
      accept.relay.reset();
      if (!keep_target_id) accept.target_user_info_id = forger.as_ue.user_info_id;
      accept.target_certificate = forger.as_ue.certificate.der();
      auto keys = protocol::derive_session_keys(*forger.as_ue.key, p.source.key->public_key(), "source-ue",
                                                accept.target_user_info_id, wire::Nonce{}, accept.nonce_2);
      Bytes m = wire::encode_accept_unsigned(accept);
      wire::append_mac(m, protocol::accept_mac(keys->k_int, m));
      wire::append_signature(m, wire::Iei::kSignTarget,
                             *protocol::sign_step(*forger.as_ue.signer, protocol::kSignTarget, m));
      f.datagram = readdress(f.datagram, forger.countersign(m, wire::Iei::kSign2Relay, protocol::kSign2Relay));
      return true;
    };
    run_to_end(tb);
    expect_refusal(tb, "source-ue", keep_target_id ? "target_certificate_identity" : "target_identity",
                   Cause::kAuthenticationFailure);
    expect_no_link_anywhere(tb);
  }
}

TEST(Attacks, AcceptSplicedFromAnotherSessionIsRefusedByTheSource) {
  const TestPki pki;
  const Parties p(pki);
  const Forger forger{p.relay, p.relay};
  Testbed tb(p.source, p.relay, p.target);
  tb.run();                                            // session A completes
  const Bytes accept_a = tb.net.wire_log[3].datagram;  // step 7 of session A
  ASSERT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  for (const bool rewrite_digest : {false, true}) {
    SCOPED_TRACE(rewrite_digest ? "digest rewritten and re-countersigned" : "as it was");
    Testbed b(p.source, p.relay, p.target);
    b.net.on_flight = [&](InFlight& f) {
      if (f.to != kSourceEndpoint ||
          wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kDirectCommunicationAccept) {
        return true;
      }
      const auto genuine = std::get<wire::DirectCommunicationAccept>(wire::decode_datagram(f.datagram)->message.body);
      if (!rewrite_digest) {
        f.datagram = accept_a;
        return true;
      }
      auto spliced = std::get<wire::DirectCommunicationAccept>(wire::decode_datagram(accept_a)->message.body);
      spliced.request_digest = genuine.request_digest;
      spliced.relay.reset();
      Bytes m = wire::encode(spliced);
      f.datagram = readdress(f.datagram, forger.countersign(m, wire::Iei::kSign2Relay, protocol::kSign2Relay));
      return true;
    };
    run_to_end(b);
    if (rewrite_digest) {
      expect_refusal(b, "source-ue", "sign_target", Cause::kAuthenticationFailure);
    } else {
      EXPECT_FALSE(b.net.events("source-ue", "datagram_dropped").empty());  // answers another request
      EXPECT_EQ(str(b.net.events("source-ue", "link_failed").at(0), "check"), "timeout");
    }
    expect_no_link_anywhere(b);
  }
}

// A target whose signature is genuine but whose KD-sess differs (its MAC does not verify): #7 at the source.
TEST(Attacks, AcceptWithAGenuineSignatureButAWrongKeyConfirmationIsRefusedWithCause7) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [&](InFlight& f) {
    if (f.to != kRelayEndpoint ||
        wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kDirectCommunicationAccept) {
      return true;
    }
    auto accept = std::get<wire::DirectCommunicationAccept>(wire::decode_datagram(f.datagram)->message.body);
    accept.key_confirmation_mac[0] ^= 0xFF;
    Bytes m = wire::encode_accept_unsigned(accept);
    wire::append_mac(m, accept.key_confirmation_mac);
    wire::append_signature(m, wire::Iei::kSignTarget, *protocol::sign_step(*p.target.signer, protocol::kSignTarget, m));
    f.datagram = readdress(f.datagram, m);
    return true;
  };
  run_to_end(tb);
  expect_refusal(tb, "source-ue", "key_confirmation", Cause::kIntegrityFailure);
  expect_no_link_anywhere(tb);
  // A failed accept is a lost one (issue 13): the source sends its request until T5080 runs out, then names the
  // check; no LINK CONFIRM ever reaches the target, whose session times out.
  const auto source_failed = tb.net.events("source-ue", "link_failed");
  ASSERT_EQ(source_failed.size(), 1u);
  EXPECT_EQ(str(source_failed[0], "check"), "key_confirmation");
  EXPECT_EQ(num(source_failed[0], "cause"), 7);
  const auto failed = tb.net.events("target-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(str(failed[0], "check"), "confirmation_timeout");
}

// ---------------------------------------------------------------------------------------------------------------
// Replays and key confirmation.

TEST(Attacks, ReplayedRequestIsRefusedByTheRelayWithoutSigningAgain) {
  const TestPki pki;
  Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  p.relay.signer = relay_signer;
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  const Bytes request = tb.net.wire_log[0].datagram;
  const int signatures = relay_signer->count;
  // While the link lives, a copy of its request from the source is answered from the route (the accept it
  // returned): no new state, no signature, nothing to the target.
  const std::size_t to_target = tb.net.wire_log.size();
  tb.net.deliver(kSourceEndpoint, "source-ue", {{{kRelayEndpoint, request}}, {}, {}}, test_now());
  EXPECT_EQ(relay_signer->count, signatures);
  for (std::size_t i = to_target; i < tb.net.wire_log.size(); ++i) EXPECT_NE(tb.net.wire_log[i].to, kTargetEndpoint);
  // Released, the route is gone: inside the replay window, the same request is refused as a replay.
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.release(test_now()), test_now());
  ASSERT_EQ(tb.relay.link_count(), 0u);
  const Now after = later(test_now(), 60s);
  tb.fire_timers(after);
  tb.net.deliver(kSourceEndpoint, "source-ue", {{{kRelayEndpoint, request}}, {}, {}}, after);
  expect_refusal(tb, "relay-ue", "replay", Cause::kAuthenticationFailure);
  EXPECT_EQ(relay_signer->count, signatures);
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);  // still only the genuine one
}

TEST(Attacks, ReplayedRelayedRequestIsRefusedByTheTargetWithoutEcdhOrSigning) {
  const TestPki pki;
  Parties p(pki);
  auto target_signer = std::make_shared<CountingSigner>(p.target.signer);
  p.target.signer = target_signer;
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  const Bytes relayed = tb.net.wire_log[1].datagram;
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.release(test_now()), test_now());
  const Now after = later(test_now(), 60s);  // past the target's session table, inside its replay window
  tb.fire_timers(after);
  ASSERT_EQ(tb.target.session_count(), 0u);
  ASSERT_EQ(tb.target.link_count(), 0u);
  const int signatures = target_signer->count;
  tb.net.deliver(kRelayEndpoint, "relay-ue", {{{kTargetEndpoint, relayed}}, {}, {}}, after);
  expect_refusal(tb, "target-ue", "replay", Cause::kAuthenticationFailure);
  EXPECT_EQ(target_signer->count, signatures);
  EXPECT_TRUE(tb.net.events("target-ue", "step").size() == 3u);  // steps 4, 5, 9 of the genuine run only
}

TEST(Attacks, RequestReplayedAfterEveryCacheForgotItNeverYieldsALinkAtTheTarget) {
  const TestPki pki;
  const Parties p(pki);
  auto config = target_config(p.target);
  config.replay_window = 1s;
  config.session_timeout = 2s;
  Testbed tb(source_config(p.source), relay_config(p.relay), std::move(config));
  tb.run();
  ASSERT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  const Bytes relayed = tb.net.wire_log[1].datagram;
  // Released, and forgotten once the release's linger has passed.
  tb.net.deliver(kSourceEndpoint, "source-ue", tb.source.release(test_now()), test_now());
  const Now after = later(test_now(), 30s);
  tb.fire_timers(after);
  ASSERT_EQ(tb.target.link_count() + tb.target.released_count(), 0u);
  tb.net.deliver(kRelayEndpoint, "relay-ue", {{{kTargetEndpoint, relayed}}, {}, {}}, after);
  // The target answers (it cannot tell), but nobody can confirm: no second link, and it says so.
  tb.fire_timers(later(after, 10s));
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  const auto failed = tb.net.events("target-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(str(failed[0], "check"), "confirmation_timeout");
}

TEST(Attacks, ReplayedAcceptIsDroppedByTheSourceAndEstablishesNothing) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  const Bytes old_accept = tb.net.wire_log[3].datagram;
  Testbed b(p.source, p.relay, p.target);
  b.net.on_flight = [&](InFlight& f) {
    if (f.to == kTargetEndpoint) return false;  // the target is away: only the replay can answer
    return true;
  };
  b.run();
  b.net.deliver(kRelayEndpoint, "relay-ue", {{{kSourceEndpoint, old_accept}}, {}, {}}, test_now());
  b.fire_timers(later(test_now(), kPastEveryTimeout));
  EXPECT_FALSE(b.net.events("source-ue", "datagram_dropped").empty());
  expect_no_link_anywhere(b);
}

TEST(Attacks, ForgedLinkConfirmIsRefusedWithCause7AndTheGenuineOneStillCompletes) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  bool forged = false;
  tb.net.on_flight = [&](InFlight& f) {
    if (forged || f.to != kTargetEndpoint ||
        wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kLinkConfirm) {
      return true;
    }
    forged = true;
    Bytes fake = f.datagram;
    fake.back() ^= 0x01;
    tb.net.deliver(kRelayEndpoint, "relay-ue", {{{kTargetEndpoint, fake}}, {}, {}}, test_now());
    return true;
  };
  tb.run();
  expect_refusal(tb, "target-ue", "link_confirmation", Cause::kIntegrityFailure);
  EXPECT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
}

TEST(KeyConfirmation, TheTargetEstablishesOnlyOnTheSourcesConfirmationAndFailsTheLinkWithoutIt) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.net.on_flight = [](InFlight& f) {
    return wire::decode_datagram(f.datagram)->message.type() != wire::MessageType::kLinkConfirm;  // lost
  };
  tb.run();
  EXPECT_EQ(tb.source.state(), protocol::SourceUe::State::kEstablished);
  EXPECT_TRUE(tb.net.events("target-ue", "link_established").empty());
  EXPECT_EQ(tb.net.events("target-ue", "link_failed").size(), 0u);  // not yet
  tb.fire_timers(later(test_now(), protocol::kDefaultTargetSessionTimeout + 1s));
  const auto failed = tb.net.events("target-ue", "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(str(failed[0], "check"), "confirmation_timeout");
  EXPECT_EQ(tb.target.keys_for("source-ue"), nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// Forward secrecy: with both long-term private keys leaked after the session, can KD-sess be recomputed from the
// transcript? Without the option, yes (the seed's design); with it, no.

Result<crypto::SecretBytes> recompute_kd_sess_from_transcript(const Testbed& tb, const protocol::LocalParty& source,
                                                              const protocol::LocalParty& target) {
  const auto request =
      std::get<wire::DirectCommunicationRequest>(wire::decode_datagram(tb.net.wire_log[0].datagram)->message.body);
  const auto accept =
      std::get<wire::DirectCommunicationAccept>(wire::decode_datagram(tb.net.wire_log[3].datagram)->message.body);
  auto keys = protocol::derive_session_keys(*source.key, target.key->public_key(), request.source_user_info_id,
                                            accept.target_user_info_id, request.nonce_1, accept.nonce_2);
  if (!keys) return keys.error();
  return std::move(keys->kd_sess);
}

TEST(ForwardSecrecy, WithoutTheOptionLeakedLongTermKeysRecomputeKdSessFromTheTranscript) {
  const TestPki pki;
  const Parties p(pki);
  auto tb = testbed(p, /*forward_secrecy=*/false);
  tb->run();
  ASSERT_EQ(tb->source.state(), protocol::SourceUe::State::kEstablished);
  auto recomputed = recompute_kd_sess_from_transcript(*tb, p.source, p.target);
  ASSERT_TRUE(recomputed.ok());
  EXPECT_TRUE(*recomputed == tb->source.keys()->kd_sess);  // the seed's known weakness, shown
}

TEST(ForwardSecrecy, WithTheOptionLeakedLongTermKeysDoNotRecomputeKdSess) {
  const TestPki pki;
  const Parties p(pki);
  auto tb = testbed(p, /*forward_secrecy=*/true);
  tb->run();
  ASSERT_EQ(tb->source.state(), protocol::SourceUe::State::kEstablished);
  ASSERT_NE(tb->target.keys_for("source-ue"), nullptr) << "the target did not confirm the link";
  ASSERT_TRUE(tb->source.keys()->kd_sess == tb->target.keys_for("source-ue")->kd_sess);
  const auto request =
      std::get<wire::DirectCommunicationRequest>(wire::decode_datagram(tb->net.wire_log[0].datagram)->message.body);
  const auto accept =
      std::get<wire::DirectCommunicationAccept>(wire::decode_datagram(tb->net.wire_log[3].datagram)->message.body);
  ASSERT_TRUE(request.source_ephemeral_key && accept.target_ephemeral_key);
  // KD itself is still static and recomputable ...
  auto recomputed = recompute_kd_sess_from_transcript(*tb, p.source, p.target);
  ASSERT_TRUE(recomputed.ok());
  EXPECT_FALSE(*recomputed == tb->source.keys()->kd_sess);
  // ... and every ECDH the leaked keys allow with the transcript's ephemeral public keys misses KD-sess too.
  const auto source_eph = crypto::PublicKey::from_uncompressed_point(*request.source_ephemeral_key);
  const auto target_eph = crypto::PublicKey::from_uncompressed_point(*accept.target_ephemeral_key);
  const auto kd = protocol::derive_kd(*p.source.key->ecdh(p.target.key->public_key()), "source-ue", "target-ue");
  for (const auto& z : {p.source.key->ecdh(*target_eph), p.target.key->ecdh(*source_eph)}) {
    ASSERT_TRUE(z.ok());
    EXPECT_FALSE(protocol::derive_kd_sess(kd, request.nonce_1, accept.nonce_2, &*z) == tb->source.keys()->kd_sess);
  }
}

TEST(ForwardSecrecy, ATargetThatRequiresItRefusesARequestWithoutAnEphemeralKeyWithCause6) {
  const TestPki pki;
  const Parties p(pki);
  auto config = target_config(p.target);
  config.require_forward_secrecy = true;
  Testbed tb(source_config(p.source), relay_config(p.relay), std::move(config));
  run_to_end(tb);
  expect_refusal(tb, "target-ue", "ephemeral_missing", Cause::kAuthenticationFailure);
  expect_no_link_anywhere(tb);
}

}  // namespace
}  // namespace u2u::test
