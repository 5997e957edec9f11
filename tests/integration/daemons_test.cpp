// The real daemons on loopback (issue #2's integration tests): success with equal KD IDs, and the refusals.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "config/config.hpp"
#include "integration/process.hpp"
#include "protocol/source.hpp"

namespace u2u::test {
namespace {

TEST(Daemons, LinkEstablishedAtBothEndsWithEqualKdIds) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue"));
  const auto at_source = events(tb.log("source-ue"), "link_established");
  const auto at_target = wait_for_event(tb.log("target-ue"), "link_established");
  ASSERT_EQ(at_source.size(), 1u);
  ASSERT_TRUE(at_target);
  EXPECT_EQ(at_source[0]["kd_id"], (*at_target)["kd_id"]);
  EXPECT_EQ(at_source[0]["kd_sess_id"], (*at_target)["kd_sess_id"]);
  EXPECT_EQ(at_source[0]["role"], "source-ue");
  EXPECT_EQ(at_source[0]["peer"], "target-ue");
  EXPECT_EQ(at_source[0]["relay"], "relay-ue");
  EXPECT_EQ((*at_target)["peer"], "source-ue");
  // One event per seed step, each at the party that performs it, and step 9 (key confirmation) at all three.
  for (const auto& [role, steps] :
       {std::pair{"source-ue", std::vector<int>{1, 8, 9}}, std::pair{"relay-ue", std::vector<int>{2, 3, 6, 7, 9}},
        std::pair{"target-ue", std::vector<int>{4, 5, 9}}}) {
    std::vector<int> seen;
    for (const auto& e : events(tb.log(role), "step")) seen.push_back(e["step"].get<int>());
    EXPECT_EQ(seen, steps) << role;
  }
}

// A relay's targets and a source's relay may be given by host name: each daemon resolves it (localhost here).
TEST(Daemons, PeersGivenByHostNameAreResolvedByTheDaemonsAndTheLinkIsEstablished) {
  LoopbackTestbed tb;
  for (const char* role : {"relay-ue", "source-ue"}) {
    std::string text = read_file(tb.config(role));
    const std::string numeric = role == std::string("relay-ue") ? "    address: 127.0.0.1\n" : "  address: 127.0.0.1\n";
    const auto last = text.rfind(numeric);  // the peer's address: after the daemon's own listen address
    ASSERT_NE(last, std::string::npos);
    ASSERT_NE(last, text.find("  address: 127.0.0.1\n")) << "only the listen address in " << role;
    text.replace(last, numeric.size(), numeric.substr(0, numeric.find("127")) + "localhost\n");
    std::ofstream(tb.config(role)) << text;
  }
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue")) << read_file(tb.log("relay-ue"));
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "link_established"));
  const auto at_relay = events(tb.log("relay-ue"), "peer_resolved");
  ASSERT_EQ(at_relay.size(), 1u) << read_file(tb.log("relay-ue"));
  EXPECT_EQ(at_relay[0]["key"], "targets[0]");
  EXPECT_EQ(at_relay[0]["host"], "localhost");
  EXPECT_EQ(at_relay[0]["address"], "127.0.0.1:" + std::to_string(tb.base_port() + 2));
  const auto at_source = events(tb.log("source-ue"), "peer_resolved");
  ASSERT_EQ(at_source.size(), 1u) << read_file(tb.log("source-ue"));
  EXPECT_EQ(at_source[0]["key"], "relay");
  EXPECT_EQ(at_source[0]["address"], "127.0.0.1:" + std::to_string(tb.base_port() + 1));
}

TEST(Daemons, RelayCredentialFromAnotherCaIsRefusedAndNoLinkAtTarget) {
  LoopbackTestbed tb;
  std::string out;
  ASSERT_EQ(run({bin("u2u-provision"), "ca", "--out", tb.dir() + "/other-ca", "--name", "rogue-ca"}, &out), 0) << out;
  tb.reissue("relay-ue", tb.dir() + "/other-ca", "relay", "relay-ue");
  tb.set_source_t5080(500, 3);
  tb.start_relay();
  tb.start_target();
  EXPECT_EQ(tb.run_source_once(), 1);
  const auto failed = events(tb.log("source-ue"), "link_failed");
  ASSERT_EQ(failed.size(), 1u) << read_file(tb.log("source-ue"));
  EXPECT_EQ(failed[0]["cause"], 6);
  const auto refused = wait_for_event(tb.log("target-ue"), "check_failed");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["check"], "relay_certificate_chain");
  EXPECT_TRUE(events(tb.log("target-ue"), "link_established").empty());
  EXPECT_TRUE(events(tb.log("source-ue"), "link_established").empty());
}

TEST(Daemons, RelayWithUeCredentialButNoRelayRoleIsRefusedAndNoLinkAtTarget) {
  LoopbackTestbed tb;
  tb.reissue("relay-ue", tb.dir() + "/ca", "ue", "relay-ue");
  tb.set_source_t5080(500, 3);
  tb.start_relay();
  tb.start_target();
  const auto warning = events(tb.log("relay-ue"), "credential_warning");
  ASSERT_EQ(warning.size(), 1u);
  EXPECT_NE(warning[0]["reason"].get<std::string>().find("lacks the relay role"), std::string::npos);
  EXPECT_EQ(tb.run_source_once(), 1);
  const auto failed = events(tb.log("source-ue"), "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["cause"], 6);
  const auto refused = wait_for_event(tb.log("target-ue"), "check_failed");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["check"], "relay_certificate_role");
  EXPECT_TRUE(events(tb.log("target-ue"), "link_established").empty());
}

// Signs correctly, then flips one bit of the signature: a source whose SIGN-Source UE was tampered with.
class TamperingSigner final : public crypto::Signer {
 public:
  explicit TamperingSigner(std::shared_ptr<const crypto::Signer> inner) : inner_(std::move(inner)) {}
  Result<crypto::EcdsaSignature> sign(ByteView message) const override {
    auto s = inner_->sign(message);
    if (s) s.value()[17] ^= 0x01;
    return s;
  }

 private:
  std::shared_ptr<const crypto::Signer> inner_;
};

TEST(Daemons, TamperedSourceSignatureIsRefusedByTheRelayWithCause6) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  // The source's own credential and config, with a signer that corrupts SIGN-Source UE.
  auto file = config::load_source(tb.config("source-ue"));
  ASSERT_TRUE(file.ok()) << file.error().reason;
  std::vector<std::string> warnings;
  auto self = config::load_party(file->common, crypto::Role::kUe, Now::read().wall, warnings);
  ASSERT_TRUE(self.ok()) << self.error().reason;
  self->signer = std::make_shared<TamperingSigner>(self->signer);
  protocol::SourceUe source(protocol::SourceConfig{.self = std::move(self).value(),
                                                   .relay_user_info_id = file->relay_user_info_id,
                                                   .relay_layer2_id = file->relay_layer2_id,
                                                   .relay_endpoint = *Endpoint::parse("127.0.0.1", file->relay.port),
                                                   .target_user_info_id = file->target_user_info_id,
                                                   .target_layer2_id = file->target_layer2_id,
                                                   .rekeying = {}});
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  local.sin_port = htons(file->common.listen.port);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in relay{};
  relay.sin_family = AF_INET;
  relay.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  relay.sin_port = htons(file->relay.port);

  auto out = source.start(Now::read());
  ASSERT_EQ(out.send.size(), 1u);
  const Bytes& request = out.send[0].datagram;
  ASSERT_EQ(::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&relay), sizeof relay),
            static_cast<ssize_t>(request.size()));
  std::uint8_t buf[2048];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_GT(n, 0) << "no answer from relay-ue";
  auto answer = wire::decode_datagram(ByteView(buf, static_cast<std::size_t>(n)));
  ASSERT_TRUE(answer.ok()) << answer.error().reason;
  const auto* reject = std::get_if<wire::DirectCommunicationReject>(&answer->message.body);
  ASSERT_NE(reject, nullptr);
  EXPECT_EQ(reject->cause, Cause::kAuthenticationFailure);
  EXPECT_EQ(reject->rejected_by, wire::RejectedBy::kRelay);
  // The source takes that answer as a hint (issue 13): it goes on waiting for an accept, with #6 as what it would
  // report when T5080 runs out.
  auto result = source.on_datagram(*Endpoint::parse("127.0.0.1", file->relay.port), ByteView(buf, n), Now::read());
  ASSERT_EQ(source.state(), protocol::SourceUe::State::kAwaitingAccept);
  ASSERT_EQ(result.events.size(), 1u);
  EXPECT_EQ(result.events[0].name, "reject_hint");
  EXPECT_EQ(std::get<std::int64_t>(*result.events[0].find("cause")), 6);
  // The relay logged which check failed, and never forwarded anything to the target.
  const auto refused = wait_for_event(tb.log("relay-ue"), "check_failed");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["check"], "sign_source");
  EXPECT_EQ((*refused)["step"], 2);
  EXPECT_TRUE(events(tb.log("relay-ue"), "step").empty());
  EXPECT_TRUE(events(tb.log("target-ue"), "step").empty());
}

TEST(Daemons, SigtermStopsEachDaemonWithExitCode0) {
  LoopbackTestbed tb;
  tb.start_relay();
  tb.start_target();
  for (auto* p : {&tb.relay, &tb.target}) {
    (*p)->signal(SIGTERM);
    EXPECT_EQ((*p)->wait(5s), 0);
  }
  EXPECT_EQ(events(tb.log("relay-ue"), "stopping").size(), 1u);
}

TEST(Daemons, SourceWithoutRelayFailsAfterItsLastT5080TryWithExitCode1) {
  LoopbackTestbed tb;
  // Shorten T5080 so that the test is quick: 50, 100, 200 ms.
  tb.set_source_t5080(50, 3);
  EXPECT_EQ(tb.run_source_once(), 1);
  const auto failed = events(tb.log("source-ue"), "link_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["check"], "timeout");
  EXPECT_EQ(failed[0]["reason"], "no answer after 3 tries (T5080)");
}

}  // namespace
}  // namespace u2u::test
