// Issue #3 through the real daemons: no key byte in any log unless a key log was asked for, forward secrecy
// end to end, and revocation through the configuration.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "integration/process.hpp"
#include "protocol/key_schedule.hpp"

namespace u2u::test {
namespace {

void replace_in(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = read_file(path);
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  std::ofstream(path, std::ios::trunc) << text;
}

void append_to(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::app) << text; }

std::string all_logs(const LoopbackTestbed& tb) {
  return read_file(tb.log("source-ue")) + read_file(tb.log("relay-ue")) + read_file(tb.log("target-ue"));
}

// The base64 body lines of a PEM file (the key material as it sits on disk).
std::vector<std::string> pem_body_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '-') lines.push_back(line);
  }
  return lines;
}

// KD as the test computes it from the files: source private key and target certificate.
std::string kd_hex(const LoopbackTestbed& tb) {
  auto key = crypto::PrivateKey::from_pem(read_file(tb.dir() + "/source-ue/key.pem"));
  auto cert = crypto::Certificate::from_pem(read_file(tb.dir() + "/target-ue/cert.pem"));
  auto z = key->ecdh(*cert->public_key());
  return to_hex(protocol::derive_kd(*z, "source-ue", "target-ue").reveal());
}

TEST(Secrets, NoKeyByteReachesAnyLogAtDebugLevelWithoutAKeyLog) {
  LoopbackTestbed tb;
  for (const char* role : {"source-ue", "relay-ue", "target-ue"})
    replace_in(tb.config(role), "level: info", "level: debug");
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0);
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "link_established"));
  // Junk for the relay and the target, so that debug events (datagram_dropped) are logged too.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  for (int port : {tb.base_port() + 1, tb.base_port() + 2}) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    const char junk[] = "\x01junk";
    ::sendto(fd, junk, sizeof junk, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  ASSERT_TRUE(wait_for_event(tb.log("target-ue"), "datagram_dropped"));
  const std::string logs = all_logs(tb);
  ASSERT_NE(logs.find("\"level\":\"debug\""), std::string::npos) << "debug events must have been logged";
  EXPECT_EQ(logs.find(kd_hex(tb)), std::string::npos) << "KD in a log";
  for (const char* who : {"ca", "source-ue", "relay-ue", "target-ue"}) {
    for (const auto& line : pem_body_lines(tb.dir() + "/" + who + "/key.pem")) {
      EXPECT_EQ(logs.find(line), std::string::npos) << who << "'s private key in a log";
    }
  }
  EXPECT_TRUE(events(tb.log("source-ue"), "key_log_enabled").empty());
}

TEST(Secrets, KeyLogFileHoldsKdSessOnlyWhenAskedWithAWarningAndNeverInTheLogs) {
  LoopbackTestbed tb;
  for (const char* role : {"source-ue", "target-ue"}) {
    replace_in(tb.config(role), "  level: info", "  level: debug\n  key_log_file: " + std::string(role) + "-keys.log");
  }
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0);
  const auto established = wait_for_event(tb.log("target-ue"), "link_established");
  ASSERT_TRUE(established);
  EXPECT_EQ(events(tb.log("source-ue"), "key_log_enabled").size(), 1u);
  EXPECT_EQ(events(tb.log("target-ue"), "key_log_enabled").size(), 1u);
  // Both ends logged the same line: session, KD-sess ID, KD-sess.
  const std::string source_keys = read_file(tb.dir() + "/source-ue-keys.log");
  const std::string target_keys = read_file(tb.dir() + "/target-ue-keys.log");
  ASSERT_FALSE(source_keys.empty());
  EXPECT_EQ(source_keys, target_keys);
  std::istringstream line(source_keys);
  std::string tag, session, kd_sess_id, kd_sess;
  line >> tag >> session >> kd_sess_id >> kd_sess;
  EXPECT_EQ(tag, "U2U_KD_SESS");
  EXPECT_EQ(session, (*established)["session"]);
  EXPECT_EQ(kd_sess_id, (*established)["kd_sess_id"]);
  EXPECT_EQ(kd_sess.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((tb.dir() + "/source-ue-keys.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(all_logs(tb).find(kd_sess), std::string::npos) << "KD-sess in a log";
}

TEST(Secrets, TheRelayRefusesAKeyLogItCouldNotFill) {
  LoopbackTestbed tb;
  replace_in(tb.config("relay-ue"), "  level: info", "  level: info\n  key_log_file: keys.log");
  std::string out;
  EXPECT_EQ(run({bin("relay-ue"), "--config", tb.config("relay-ue"), "--check-config"}, &out), 2);
  EXPECT_NE(out.find("log.key_log_file: the relay holds no session keys"), std::string::npos) << out;
}

TEST(ForwardSecrecyDaemons, BothEndsWithTheOptionEstablishWithEqualKeys) {
  LoopbackTestbed tb;
  for (const char* role : {"source-ue", "target-ue"})
    append_to(tb.config(role), "security:\n  forward_secrecy: true\n");
  tb.start_relay();
  tb.start_target();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue"));
  const auto at_target = wait_for_event(tb.log("target-ue"), "link_established");
  ASSERT_TRUE(at_target);
  EXPECT_EQ(events(tb.log("source-ue"), "link_established").at(0)["kd_sess_id"], (*at_target)["kd_sess_id"]);
  EXPECT_EQ(events(tb.log("target-ue"), "started").at(0)["forward_secrecy"], "required");
}

TEST(ForwardSecrecyDaemons, ATargetRequiringItRefusesASourceWithoutItWithCause6) {
  LoopbackTestbed tb;
  append_to(tb.config("target-ue"), "security:\n  forward_secrecy: true\n");
  tb.set_source_t5080(500, 3);
  tb.start_relay();
  tb.start_target();
  EXPECT_EQ(tb.run_source_once(), 1);
  EXPECT_EQ(events(tb.log("source-ue"), "link_failed").at(0)["cause"], 6);
  EXPECT_EQ(wait_for_event(tb.log("target-ue"), "check_failed").value()["check"], "ephemeral_missing");
}

TEST(Revocation, ASourceOnTheRelaysDenyListIsRefusedWithCause6) {
  LoopbackTestbed tb;
  auto cert = crypto::Certificate::from_pem(read_file(tb.dir() + "/source-ue/cert.pem"));
  ASSERT_TRUE(cert.ok());
  // As `openssl x509 -serial` prints it: upper case; the daemon normalises.
  std::string serial = cert->serial_hex();
  for (auto& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  replace_in(tb.config("relay-ue"), "  private_key: relay-ue/key.pem",
             "  private_key: relay-ue/key.pem\n  revoked_serials: [\"" + serial + "\"]");
  tb.set_source_t5080(500, 3);
  tb.start_relay();
  tb.start_target();
  EXPECT_EQ(tb.run_source_once(), 1);
  EXPECT_EQ(events(tb.log("source-ue"), "link_failed").at(0)["cause"], 6);
  const auto refused = wait_for_event(tb.log("relay-ue"), "check_failed");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["check"], "source_certificate_revoked");
  EXPECT_TRUE(events(tb.log("target-ue"), "step").empty());
}

}  // namespace
}  // namespace u2u::test
