// docs/protocol.md as an interoperability specification (issue 12): the rules a second implementation found the
// daemons and the document disagreeing on, or the document silent about, each now said in the document and held
// here: copies of a request from another address (section 7), sizes per hop (section 2), the keep-alive counter's
// first value (section 6.4).
#include <gtest/gtest.h>

#include "protocol/constants.hpp"
#include "protocol/transcript.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

// `datagram` with an IE the receiver does not know and may skip (IEI bit 8 set) of `size` octets inserted right
// after the message type: a valid message, larger.
Bytes with_unknown_ie(const Bytes& datagram, std::size_t size) {
  Bytes out(datagram.begin(), datagram.begin() + wire::kHeaderSize + 1);
  out.push_back(0xF0);
  out.push_back(static_cast<std::uint8_t>(size >> 8));
  out.push_back(static_cast<std::uint8_t>(size));
  out.insert(out.end(), size, 0xAB);
  out.insert(out.end(), datagram.begin() + wire::kHeaderSize + 1, datagram.end());
  return out;
}

const protocol::Event* dropped(const protocol::Output& out) {
  for (const auto& e : out.events) {
    if (e.name == "datagram_dropped") return &e;
  }
  return nullptr;
}

// Section 7: a copy from the address that sent the original is a retransmission; a copy from any other address is
// dropped, neither answered (no reflection of the accept) nor refused (no reflection of a REJECT), and the pending
// request is untouched. A source whose address changed starts a new handshake.
TEST(Spec, ACopyOfAPendingRequestFromAnotherAddressIsDroppedUnansweredAndTheOriginalAddressIsStillServed) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  Source source(pki, "source-ue", kSourceL2);
  const auto first = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  ASSERT_EQ(first.send.size(), 1u);
  ASSERT_EQ(relay.pending_count(), 1u);

  const auto elsewhere = relay.on_datagram(host(7), source.request(), test_now());
  EXPECT_TRUE(elsewhere.send.empty()) << "nothing goes to an address that did not send the request";
  ASSERT_NE(dropped(elsewhere), nullptr);
  EXPECT_EQ(str(*dropped(elsewhere), "reason"), "copy of a pending request from another address");
  EXPECT_EQ(relay.pending_count(), 1u);

  const auto again = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(again.send[0].to, kTargetEndpoint);
  EXPECT_EQ(again.send[0].datagram, first.send[0].datagram) << "the same forwarded request, no new signature";
}

TEST(Spec, ACopyOfAnAnsweredRequestFromAnAddressOtherThanItsRelaysGetsNoAcceptFromTheTarget) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  protocol::TargetUe target(target_config(p.target));
  Source source(pki, "source-ue", kSourceL2);
  const Bytes forwarded = relay.on_datagram(kSourceEndpoint, source.request(), test_now()).send.at(0).datagram;
  const auto accept = target.on_datagram(kRelayEndpoint, forwarded, test_now());
  ASSERT_EQ(accept.send.size(), 1u);
  const auto elsewhere = target.on_datagram(host(7), forwarded, test_now());
  EXPECT_TRUE(elsewhere.send.empty());
  const auto again = target.on_datagram(kRelayEndpoint, forwarded, test_now());
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(again.send[0].datagram, accept.send[0].datagram);
}

// Section 2, sizes per hop: what a relay accepts, it can forward within one datagram, or it refuses it with #111
// before any signature work.
TEST(Spec, ARequestThatWouldExceedTheDatagramLimitOnceRelayedIsRefusedWith111BeforeAnySignatureWork) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  relay.set_job_limit(4);  // signature work would show as a job
  Source source(pki, "source-ue", kSourceL2);
  const Bytes large = with_unknown_ie(source.request(), 800);
  ASSERT_LE(large.size(), wire::kMaxDatagramSize) << "a valid datagram on the first hop";
  const auto out = relay.on_datagram(kSourceEndpoint, large, test_now());
  EXPECT_TRUE(out.jobs.empty());
  EXPECT_EQ(checks(out), std::vector<std::string>{"message_too_large"});
  EXPECT_EQ(rejected_with(out), Cause::kProtocolErrorUnspecified);
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].to, kSourceEndpoint);
  EXPECT_EQ(relay.pending_count(), 0u);

  // Just small enough: relayed at exactly the limit, forwarded (the signature then fails: the IE was not signed).
  const std::size_t room =
      wire::kMaxDatagramSize - wire::relayed_datagram_size(source.request().size() - wire::kHeaderSize,
                                                           p.relay.user_info_id, p.relay.certificate.der().size());
  ASSERT_GE(room, wire::kIeHeaderSize);
  const auto fits =
      relay.on_datagram(kSourceEndpoint, with_unknown_ie(source.request(), room - wire::kIeHeaderSize), test_now());
  EXPECT_EQ(fits.jobs.size(), 1u) << "within the limit: on to the signature check";
}

TEST(Spec, AnAcceptThatWouldExceedTheDatagramLimitOnceRelayedIsRefusedTowardsTheSourceWith111) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  protocol::TargetUe target(target_config(p.target));
  Source source(pki, "source-ue", kSourceL2);
  const Bytes forwarded = relay.on_datagram(kSourceEndpoint, source.request(), test_now()).send.at(0).datagram;
  const Bytes accept = target.on_datagram(kRelayEndpoint, forwarded, test_now()).send.at(0).datagram;
  const Bytes large = with_unknown_ie(accept, 700);
  ASSERT_LE(large.size(), wire::kMaxDatagramSize);
  const auto out = relay.on_datagram(kTargetEndpoint, large, test_now());
  EXPECT_EQ(checks(out), std::vector<std::string>{"message_too_large"});
  EXPECT_EQ(rejected_with(out), Cause::kProtocolErrorUnspecified);
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].to, kSourceEndpoint);
  // The reject is a hint (issue 13): for the route, a lost accept. It stays, and a copy of the request still goes on.
  EXPECT_EQ(relay.pending_count(), 1u);
  const auto copy = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  ASSERT_EQ(copy.send.size(), 1u);
  EXPECT_EQ(copy.send[0].to, kTargetEndpoint);
}

// A party that drops a datagram for its size says so at info level (rate-limited like every drop); other undecodable
// datagrams stay at debug.
TEST(Spec, EachPartyDropsADatagramLargerThanTheLimitAtInfoLevelAndOtherUndecodableOnesAtDebug) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  protocol::TargetUe target(target_config(p.target));
  Source source(pki, "source-ue", kSourceL2);
  const Bytes oversized = with_unknown_ie(source.request(), wire::kMaxDatagramSize);
  const Bytes garbage{0x01, 0x00, 0x00, 0x01};
  const auto level_of = [](const protocol::Output& out) {
    const auto* e = dropped(out);
    if (e == nullptr) return std::string("none");
    return std::string(e->level == protocol::Level::kInfo    ? "info"
                       : e->level == protocol::Level::kDebug ? "debug"
                                                             : "other");
  };
  EXPECT_EQ(level_of(relay.on_datagram(kSourceEndpoint, oversized, test_now())), "info");
  EXPECT_EQ(level_of(target.on_datagram(kRelayEndpoint, oversized, test_now())), "info");
  EXPECT_EQ(level_of(source.ue.on_datagram(kRelayEndpoint, oversized, test_now())), "info");
  EXPECT_EQ(level_of(relay.on_datagram(kSourceEndpoint, garbage, test_now())), "debug");
  EXPECT_EQ(level_of(target.on_datagram(kRelayEndpoint, garbage, test_now())), "debug");
}

// Section 6.4: the link's first keep-alive counter may be any value, 0 included.
TEST(Spec, TheTargetAnswersALinksFirstKeepaliveEvenWithCounterZero) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.run();
  ASSERT_TRUE(tb.source.confirmed());
  const wire::Digest digest = *tb.source.link_digest();
  Bytes keepalive = wire::encode_link_message_unsigned(
      {wire::MessageType::kKeepaliveRequest, digest, std::uint32_t{0}, {}, {}, {}, {}, {}});
  wire::append_mac(keepalive, protocol::link_mac(tb.source.keys()->k_int, protocol::kLabelKeepaliveRequest, keepalive));
  const auto out =
      tb.target.on_datagram(kRelayEndpoint, wire::encode_datagram(kRelayL2, kTargetL2, keepalive), test_now());
  ASSERT_EQ(out.send.size(), 1u) << (dropped(out) ? str(*dropped(out), "reason") : std::string("no drop"));
  const auto response = wire::decode_datagram(out.send[0].datagram);
  ASSERT_TRUE(response.ok());
  const auto& m = std::get<wire::LinkMessage>(response->message.body);
  EXPECT_EQ(m.type, wire::MessageType::kKeepaliveResponse);
  EXPECT_EQ(m.keepalive_counter, 0u);
}

}  // namespace
}  // namespace u2u::test
