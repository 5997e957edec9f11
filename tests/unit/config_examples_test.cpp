// The documented examples in config/ are valid configurations (their credential files are the testbed's).
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace u2u::test {
namespace {

const std::string kConfigDir = std::string(U2U_SOURCE_DIR) + "/config/";

TEST(ConfigExamples, SourceExampleLoadsWithEveryDocumentedKey) {
  auto c = config::load_source(kConfigDir + "source-ue.yaml");
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_EQ(c->common.user_info_id, "source-ue");
  EXPECT_EQ(c->common.layer2_id, 0x000001u);
  EXPECT_EQ(c->relay_user_info_id, "relay-ue");
  EXPECT_EQ(c->relay.port, 40101);
  EXPECT_EQ(c->target_layer2_id, 0x000003u);
  EXPECT_EQ(c->t5080.count(), 500);
  EXPECT_EQ(c->t5080_max.count(), 1000);
  EXPECT_EQ(c->max_tries, 20u);
  EXPECT_EQ(c->keepalive_interval.count(), 10000);
  EXPECT_FALSE(c->forward_secrecy);
  EXPECT_EQ(c->common.credentials.ca, kConfigDir + "ca/cert.pem");  // relative to the file
}

TEST(ConfigExamples, RelayExampleLoadsWithItsTargets) {
  auto c = config::load_relay(kConfigDir + "relay-ue.yaml");
  ASSERT_TRUE(c.ok()) << c.error().reason;
  ASSERT_EQ(c->targets.size(), 1u);
  EXPECT_EQ(c->targets[0].user_info_id, "target-ue");
  EXPECT_EQ(c->max_pending, 1024u);
}

TEST(ConfigExamples, TargetExampleLoads) {
  auto c = config::load_target(kConfigDir + "target-ue.yaml");
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_EQ(c->max_sessions, 1024u);
  EXPECT_EQ(c->session_timeout.count(), 45000);
}

}  // namespace
}  // namespace u2u::test
