// The documented examples in config/ are valid configurations (their credential files are the testbed's).
#include <gtest/gtest.h>

#include <fstream>

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
  EXPECT_FALSE(c->workers.has_value()) << "workers: auto";
}

TEST(ConfigExamples, TargetExampleLoads) {
  auto c = config::load_target(kConfigDir + "target-ue.yaml");
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_EQ(c->max_sessions, 1024u);
  EXPECT_EQ(c->session_timeout.count(), 45000);
  EXPECT_FALSE(c->workers.has_value()) << "workers: auto";
}

// The example with its commented discovery: block switched on ("# discovery:" and the "#   key: value" lines
// after it lose their "# "), written beside the temp dir.
std::string with_discovery(const std::string& example) {
  std::ifstream in(kConfigDir + example);
  std::string line, text;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "# discovery:") {
      inside = true;
      line = "discovery:";
    } else if (inside && line.rfind("#   ", 0) == 0) {
      line = line.substr(2);
    } else {
      inside = false;
    }
    text += line + "\n";
  }
  const std::string path = ::testing::TempDir() + "/discovery-" + example;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

TEST(ConfigExamples, SourceDiscoveryExampleLoadsWithEveryDocumentedKey) {
  auto c = config::load_source(with_discovery("source-ue.yaml"));
  ASSERT_TRUE(c.ok()) << c.error().reason;
  ASSERT_TRUE(c->discovery);
  EXPECT_EQ(c->discovery->listen.port, 40110);
  ASSERT_TRUE(c->discovery->multicast_group);
  EXPECT_EQ(c->discovery->multicast_group->address, "239.192.85.50");
  EXPECT_EQ(c->discovery->interfaces, std::vector<std::string>{"10.231.1.11"});
  ASSERT_EQ(c->discovery->neighbours.size(), 1u);
  EXPECT_EQ(c->discovery->interval.count(), 1000);
  EXPECT_EQ(c->discovery->lifetime.count(), 3500);
  EXPECT_EQ(c->discovery->max_clock_skew.count(), 30000);
  EXPECT_EQ(c->discovery->relay_service_code, 1u);
  EXPECT_EQ(c->discovery->selection, protocol::SelectionPolicy::kFirst);
  EXPECT_EQ(c->discovery->preference, (std::vector<std::string>{"relay-a", "relay-b"}));
}

TEST(ConfigExamples, RelayAndTargetDiscoveryExamplesLoad) {
  auto relay = config::load_relay(with_discovery("relay-ue.yaml"));
  ASSERT_TRUE(relay.ok()) << relay.error().reason;
  ASSERT_TRUE(relay->discovery);
  EXPECT_EQ(relay->discovery->model, protocol::DiscoveryModel::kModelA);
  auto target = config::load_target(with_discovery("target-ue.yaml"));
  ASSERT_TRUE(target.ok()) << target.error().reason;
  ASSERT_TRUE(target->discovery);
}

// The example with its commented metrics: block switched on, as with_discovery does for discovery:.
std::string with_metrics(const std::string& example) {
  std::ifstream in(kConfigDir + example);
  std::string line, text;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "# metrics:") {
      inside = true;
      line = "metrics:";
    } else if (inside && line.rfind("#   ", 0) == 0) {
      line = line.substr(2);
    } else {
      inside = false;
    }
    text += line + "\n";
  }
  const std::string path = ::testing::TempDir() + "/metrics-" + example;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

TEST(ConfigExamples, MetricsOffByDefaultAndTheDocumentedBlockLoadsInEachRole) {
  EXPECT_FALSE(config::load_source(kConfigDir + "source-ue.yaml")->common.metrics);
  auto source = config::load_source(with_metrics("source-ue.yaml"));
  ASSERT_TRUE(source.ok()) << source.error().reason;
  ASSERT_TRUE(source->common.metrics);
  EXPECT_EQ(source->common.metrics->address, "127.0.0.1");
  EXPECT_EQ(source->common.metrics->port, 9101);
  auto relay = config::load_relay(with_metrics("relay-ue.yaml"));
  ASSERT_TRUE(relay.ok()) << relay.error().reason;
  EXPECT_EQ(relay->common.metrics->port, 9102);
  auto target = config::load_target(with_metrics("target-ue.yaml"));
  ASSERT_TRUE(target.ok()) << target.error().reason;
  EXPECT_EQ(target->common.metrics->port, 9103);
}

}  // namespace
}  // namespace u2u::test
