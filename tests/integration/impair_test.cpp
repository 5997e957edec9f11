// u2u-impair on loopback: it forwards both ways and keeps its peers apart, the real daemons establish a link
// through one proxy on each hop when nothing is impaired, a hop that loses everything makes the source fail, and
// with --forge-reject it forwards requests and accepts unchanged and forges REJECTs besides.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "integration/process.hpp"
#include "wire/messages.hpp"

namespace u2u::test {
namespace {

TEST(Impair, ForwardsBothWaysAndGivesEachPeerItsOwnAddressAtTheUpstream) {
  TempDir dir;
  UdpSocket upstream;
  Impair proxy(dir.path() + "/impair.log", upstream.port(), {});
  UdpSocket a;
  UdpSocket b;
  a.send_to(proxy.port, "from a");
  const auto at_upstream_a = upstream.receive_text();
  ASSERT_TRUE(at_upstream_a);
  EXPECT_EQ(at_upstream_a->first, "from a");
  b.send_to(proxy.port, "from b");
  const auto at_upstream_b = upstream.receive_text();
  ASSERT_TRUE(at_upstream_b);
  EXPECT_EQ(at_upstream_b->first, "from b");
  EXPECT_NE(at_upstream_a->second, at_upstream_b->second);  // two peers, two addresses at the upstream
  // Answers go back to the peer each upstream address stands for, from the proxy's listen port.
  upstream.send_to(at_upstream_b->second, "to b");
  upstream.send_to(at_upstream_a->second, "to a");
  const auto at_a = a.receive_text();
  const auto at_b = b.receive_text();
  ASSERT_TRUE(at_a && at_b);
  EXPECT_EQ(at_a->first, "to a");
  EXPECT_EQ(at_b->first, "to b");
  EXPECT_EQ(at_a->second, proxy.port);
  EXPECT_EQ(events(proxy.process.log_path(), "peer_added").size(), 2u);
  const Json last = proxy.stop();
  EXPECT_EQ(last.value("up_received", -1), 2);
  EXPECT_EQ(last.value("up_forwarded", -1), 2);
  EXPECT_EQ(last.value("down_received", -1), 2);
  EXPECT_EQ(last.value("down_forwarded", -1), 2);
  EXPECT_EQ(last.value("up_dropped", -1) + last.value("down_dropped", -1), 0);
  EXPECT_EQ(last.value("role", ""), "u2u-impair");
  EXPECT_EQ(last.value("signal", 0), SIGTERM);
}

TEST(Impair, LinkEstablishedThroughAnUnimpairedProxyOnEachHop) {
  LoopbackTestbed tb;
  const int relay_port = tb.base_port() + 1;
  const int target_port = tb.base_port() + 2;
  Impair source_hop(tb.dir() + "/impair-source-relay.log", relay_port, {});
  Impair target_hop(tb.dir() + "/impair-relay-target.log", target_port, {});
  repoint(tb.config("source-ue"), relay_port, source_hop.port);
  repoint(tb.config("relay-ue"), target_port, target_hop.port);
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue"));
  const auto at_source = events(tb.log("source-ue"), "link_established");
  const auto at_target = wait_for_event(tb.log("target-ue"), "link_established");
  ASSERT_EQ(at_source.size(), 1u);
  ASSERT_TRUE(at_target);
  EXPECT_EQ(at_source[0]["kd_id"], (*at_target)["kd_id"]);
  // Everything went through the proxies: the request and LINK CONFIRM up, the accept down, on both hops.
  for (Impair* hop : {&source_hop, &target_hop}) {
    const Json last = hop->stop();
    EXPECT_GE(last.value("up_forwarded", 0), 2) << last.dump();
    EXPECT_GE(last.value("down_forwarded", 0), 1) << last.dump();
    EXPECT_EQ(last.value("up_dropped", -1) + last.value("down_dropped", -1), 0) << last.dump();
  }
}

TEST(Impair, SourceFailsWhenTheHopToTheRelayLosesEverything) {
  LoopbackTestbed tb;
  const int relay_port = tb.base_port() + 1;
  Impair source_hop(tb.dir() + "/impair-source-relay.log", relay_port, {"--loss", "100"});
  repoint(tb.config("source-ue"), relay_port, source_hop.port);
  // A shorter T5080 schedule keeps the test short.
  set_if_present(tb.config("source-ue"), "t5080_ms", "100");
  set_if_present(tb.config("source-ue"), "max_tries", "3");
  tb.start_relay();
  tb.start_target();
  EXPECT_EQ(tb.run_source_once(18s), 1) << read_file(tb.log("source-ue"));
  EXPECT_EQ(events(tb.log("source-ue"), "link_failed").size(), 1u) << read_file(tb.log("source-ue"));
  EXPECT_TRUE(events(tb.log("source-ue"), "link_established").empty());
  EXPECT_TRUE(events(tb.log("relay-ue"), "step").empty());  // nothing reached the relay
  const Json last = source_hop.stop();
  EXPECT_GE(last.value("up_received", 0), 1) << last.dump();
  EXPECT_EQ(last.value("up_dropped", -1), last.value("up_received", -2)) << last.dump();
  EXPECT_EQ(last.value("up_forwarded", -1), 0) << last.dump();
}

// A datagram of tests/vectors/protocol-v1.json's handshake: seed step `step` as `from` sends it.
Bytes vector_datagram(const Json& vectors, int step, const std::string& from) {
  for (const auto& d : vectors["datagrams"]) {
    if (d["step"] != step || d["from"] != from) continue;
    Bytes bytes;
    EXPECT_TRUE(from_hex(d["hex"].get<std::string>(), bytes));
    return bytes;
  }
  ADD_FAILURE() << "no step " << step << " from " << from << " in the vectors";
  return {};
}

// The forged REJECT in `datagram`, its Layer-2 IDs and the request it names checked.
wire::DirectCommunicationReject forged_reject(const std::optional<std::pair<Bytes, int>>& datagram,
                                              wire::Layer2Id source, wire::Layer2Id destination,
                                              const std::string& request_digest) {
  if (!datagram) {
    ADD_FAILURE() << "no forged REJECT";
    return {};
  }
  const auto d = wire::decode_datagram(datagram->first);
  if (!d.ok()) {
    ADD_FAILURE() << d.error().reason;
    return {};
  }
  EXPECT_EQ(d->source, source);
  EXPECT_EQ(d->destination, destination);
  const auto* reject = std::get_if<wire::DirectCommunicationReject>(&d->message.body);
  if (!reject) {
    ADD_FAILURE() << wire::message_name(d->message.type());
    return {};
  }
  EXPECT_EQ(to_hex(reject->request_digest), request_digest);
  return *reject;
}

// On the target hop, the relay downstream and the target upstream: the relayed request (step 3) and the accept
// (step 5) go through unchanged, the relay gets a REJECT as if from the target, and the target one after the
// request and one after its accept, as if from the relay.
TEST(Impair, ForgeRejectForwardsRequestAndAcceptAndSendsForgedRejectsBothWays) {
  std::ifstream in(std::string(U2U_VECTORS_DIR) + "/protocol-v1.json");
  ASSERT_TRUE(in);
  const Json vectors = Json::parse(in);
  const std::string digest = vectors["request_digest"];
  constexpr wire::Layer2Id kRelayL2 = 2;
  constexpr wire::Layer2Id kTargetL2 = 3;
  TempDir dir;
  UdpSocket target;
  Impair proxy(dir.path() + "/impair.log", target.port(), {"--forge-reject", "all"});
  UdpSocket relay;

  const Bytes request = vector_datagram(vectors, 3, "relay-ue");
  relay.send_to(proxy.port, request);
  const auto at_target = target.receive();
  ASSERT_TRUE(at_target);
  EXPECT_EQ(at_target->first, request);
  auto withdrawn = forged_reject(target.receive(), kRelayL2, kTargetL2, digest);
  EXPECT_EQ(withdrawn.cause, Cause::kDirectCommunicationNotAllowed);  // the first of every cause
  auto refused = forged_reject(relay.receive(), kTargetL2, kRelayL2, digest);
  EXPECT_EQ(refused.cause, Cause::kDirectCommunicationNotAllowed);

  const Bytes accept = vector_datagram(vectors, 5, "target-ue");
  target.send_to(at_target->second, accept);
  const auto at_relay = relay.receive();
  ASSERT_TRUE(at_relay);
  EXPECT_EQ(at_relay->first, accept);
  EXPECT_EQ(at_relay->second, proxy.port);
  refused = forged_reject(target.receive(), kRelayL2, kTargetL2, digest);
  EXPECT_EQ(refused.rejected_by, wire::RejectedBy::kRelay);

  const auto started = events(proxy.process.log_path(), "started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_NE(started[0].value("up", "").find("forge-reject 1,2,5,6,7,8,13,111"), std::string::npos) << started[0].dump();
  const Json last = proxy.stop();
  EXPECT_EQ(last.value("up_forwarded", -1), 1);
  EXPECT_EQ(last.value("down_forwarded", -1), 1);
  EXPECT_EQ(last.value("up_forged", -1), 2);
  EXPECT_EQ(last.value("down_forged", -1), 1);
}

TEST(Impair, UsageErrorsExitWith2AndHelpWith0) {
  std::string out;
  EXPECT_EQ(run({bin("u2u-impair"), "--help"}, &out), 0);
  EXPECT_NE(out.find("--loss PCT"), std::string::npos);
  EXPECT_EQ(run({bin("u2u-impair"), "--version"}, &out), 0);
  EXPECT_NE(out.find("u2u-impair "), std::string::npos);
  EXPECT_EQ(run({bin("u2u-impair"), "--listen", "127.0.0.1:0"}, &out), 2);
  EXPECT_NE(out.find("--upstream"), std::string::npos);
  EXPECT_EQ(run({bin("u2u-impair"), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--loss", "150"}, &out), 2);
  EXPECT_EQ(
      run({bin("u2u-impair"), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--forge-reject", "4"}, &out), 2);
  EXPECT_NE(out.find("1,2,5,6,7,8,13,111"), std::string::npos) << out;
  UdpSocket taken;
  EXPECT_EQ(
      run({bin("u2u-impair"), "--listen", "127.0.0.1:" + std::to_string(taken.port()), "--upstream", "127.0.0.1:9"},
          &out),
      2);
  EXPECT_NE(out.find("cannot bind"), std::string::npos) << out;
}

}  // namespace
}  // namespace u2u::test
