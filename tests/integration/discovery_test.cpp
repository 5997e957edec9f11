// Discovery with the real daemons on loopback (issue #6), configured by `u2u-provision testbed --discovery
// neighbours`: no addresses of the relay or the target in the source's config. The three-host version with two
// relays, multicast, reselection and forged relays is scripts/testbed run-discovery (tests/system).
#include <gtest/gtest.h>

#include <fstream>

#include "integration/process.hpp"

namespace u2u::test {
namespace {

void overwrite(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

class DaemonDiscovery : public ::testing::TestWithParam<std::string> {};

TEST_P(DaemonDiscovery, SourceFindsTheRelayAndTheTargetAndEstablishesTheLink) {
  LoopbackTestbed tb({"--discovery", "neighbours", "--discovery-model", GetParam()});
  const std::string source = read_file(tb.config("source-ue"));
  EXPECT_EQ(source.find("relay:"), std::string::npos) << "the source config must not name the relay";
  EXPECT_EQ(read_file(tb.config("relay-ue")).find("targets:"), std::string::npos);
  tb.start_target();
  tb.start_relay();
  ASSERT_EQ(tb.run_source_once(), 0) << read_file(tb.log("source-ue"));
  const auto selected = events(tb.log("source-ue"), "relay_selected");
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0]["relay"], "relay-ue");
  EXPECT_EQ(selected[0]["target_layer2_id"], 3);
  EXPECT_EQ(selected[0]["address"], "127.0.0.1:" + std::to_string(tb.base_port() + 1));
  const auto discovered = events(tb.log("source-ue"), "relay_discovered");
  ASSERT_FALSE(discovered.empty());
  EXPECT_EQ(discovered[0]["model"], GetParam());
  EXPECT_FALSE(events(tb.log("relay-ue"), "target_discovered").empty());
  const auto at_source = events(tb.log("source-ue"), "link_established");
  const auto at_target = wait_for_event(tb.log("target-ue"), "link_established");
  ASSERT_EQ(at_source.size(), 1u);
  ASSERT_TRUE(at_target);
  EXPECT_EQ(at_source[0]["kd_id"], (*at_target)["kd_id"]);
  // Discovery comes before step 1 in the source's log.
  const auto all = events(tb.log("source-ue"));
  std::size_t selected_at = all.size(), step1_at = all.size();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i]["event"] == "relay_selected" && selected_at == all.size()) selected_at = i;
    if (all[i]["event"] == "step" && all[i]["step"] == 1 && step1_at == all.size()) step1_at = i;
  }
  EXPECT_LT(selected_at, step1_at);
}

INSTANTIATE_TEST_SUITE_P(Models, DaemonDiscovery, ::testing::Values("A", "B"),
                         [](const auto& info) { return "Model" + info.param; });

TEST(DaemonDiscoveryConfig, UnknownModelExits2NamingTheKey) {
  LoopbackTestbed tb({"--discovery", "neighbours"});
  std::string text = read_file(tb.config("source-ue"));
  const auto at = text.find("  model: A");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 10, "  model: C");
  overwrite(tb.config("source-ue"), text);
  std::string out;
  EXPECT_EQ(run({bin("source-ue"), "--config", tb.config("source-ue"), "--check-config"}, &out), 2);
  EXPECT_NE(out.find(tb.config("source-ue") + ": discovery.model: \"C\" is not A or B"), std::string::npos) << out;
}

TEST(DaemonDiscoveryConfig, DiscoveryWithoutGroupOrNeighboursExits2) {
  LoopbackTestbed tb({"--discovery", "neighbours"});
  std::string text = read_file(tb.config("target-ue"));
  const auto at = text.find("  neighbours:");
  ASSERT_NE(at, std::string::npos);
  text.erase(at, text.find("  model:") - at);
  overwrite(tb.config("target-ue"), text);
  std::string out;
  EXPECT_EQ(run({bin("target-ue"), "--config", tb.config("target-ue"), "--check-config"}, &out), 2);
  EXPECT_NE(out.find("discovery needs a multicast group or neighbours"), std::string::npos) << out;
}

TEST(DaemonDiscoveryConfig, SourceWithNeitherRelayNorDiscoveryExits2) {
  LoopbackTestbed tb({"--discovery", "neighbours"});
  std::string text = read_file(tb.config("source-ue"));
  const auto at = text.find("discovery:");
  text.erase(at, text.find("target:") - at);
  overwrite(tb.config("source-ue"), text);
  std::string out;
  EXPECT_EQ(run({bin("source-ue"), "--config", tb.config("source-ue"), "--check-config"}, &out), 2);
  EXPECT_NE(out.find("relay: missing (name the relay, or configure discovery)"), std::string::npos) << out;
}

}  // namespace
}  // namespace u2u::test
