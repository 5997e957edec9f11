// The metrics registry, its text exposition format, and the bounded labels (issue 14).
#include <gtest/gtest.h>

#include "metrics/daemon_metrics.hpp"
#include "metrics/registry.hpp"
#include "protocol/node.hpp"

namespace u2u::test {
namespace {

using metrics::DaemonMetrics;
using metrics::Registry;

TEST(MetricsRegistry, RendersCountersGaugesAndHistogramsInTheTextFormat) {
  Registry r;
  const auto c = r.counter("u2u_things_total", "Things.", "kind", {"a", "b"});
  const auto plain = r.counter("u2u_plain_total", "Plain.");
  r.reader(Registry::Type::kGauge, "u2u_level", "A level.", {}, {}, [](std::size_t) { return 3.0; });
  const auto h = r.histogram("u2u_wait_seconds", "Waits.", {0.1, 1});
  r.add(c, "b", 2);
  r.add(plain);
  r.observe(h, 0.05);
  r.observe(h, 0.5);
  r.observe(h, 7);
  EXPECT_EQ(r.render(),
            "# HELP u2u_things_total Things.\n"
            "# TYPE u2u_things_total counter\n"
            "u2u_things_total{kind=\"a\"} 0\n"
            "u2u_things_total{kind=\"b\"} 2\n"
            "# HELP u2u_plain_total Plain.\n"
            "# TYPE u2u_plain_total counter\n"
            "u2u_plain_total 1\n"
            "# HELP u2u_level A level.\n"
            "# TYPE u2u_level gauge\n"
            "u2u_level 3\n"
            "# HELP u2u_wait_seconds Waits.\n"
            "# TYPE u2u_wait_seconds histogram\n"
            "u2u_wait_seconds_bucket{le=\"0.1\"} 1\n"
            "u2u_wait_seconds_bucket{le=\"1\"} 2\n"
            "u2u_wait_seconds_bucket{le=\"+Inf\"} 3\n"
            "u2u_wait_seconds_sum 7.55\n"
            "u2u_wait_seconds_count 3\n");
}

TEST(MetricsRegistry, AnUndeclaredLabelValueCountsAsOtherOrNowhere) {
  Registry r;
  const auto with_other = r.counter("u2u_a_total", "A.", "reason", {"known", "other"});
  const auto without = r.counter("u2u_b_total", "B.", "reason", {"known"});
  r.add(with_other, "192.0.2.1:5000");
  r.add(without, "user-info-id");
  EXPECT_EQ(r.value(with_other, "other"), 1);
  EXPECT_EQ(r.value(without, "known"), 0);
  EXPECT_EQ(r.render().find("192.0.2.1"), std::string::npos);
  EXPECT_EQ(r.render().find("user-info-id"), std::string::npos);
}

TEST(MetricsRegistry, FormatsValuesAsPrometheusReadsThem) {
  EXPECT_EQ(metrics::format_value(0), "0");
  EXPECT_EQ(metrics::format_value(12345678901), "12345678901");
  EXPECT_EQ(metrics::format_value(0.1), "0.1");
  EXPECT_EQ(metrics::format_value(0.0025), "0.0025");
}

TEST(MetricsLabels, EveryDropReasonOfTheNodesMapsToABoundedLabel) {
  EXPECT_EQ(metrics::drop_reason_label("over the rate limit of new requests for this host"), "rate_limited");
  EXPECT_EQ(metrics::drop_reason_label("copy of a request being verified"), "duplicate");
  EXPECT_EQ(metrics::drop_reason_label("accept matches no pending request"), "no_state");
  EXPECT_EQ(metrics::drop_reason_label("link message for no link of this UE"), "no_state");
  EXPECT_EQ(metrics::drop_reason_label("destination Layer-2 ID is not this relay's"), "not_addressed_here");
  EXPECT_EQ(metrics::drop_reason_label("datagram of more than 2048 octets"), "oversize");
  EXPECT_EQ(metrics::drop_reason_label("accept not from the target the request went to"), "wrong_sender");
  EXPECT_EQ(metrics::drop_reason_label("a relay takes no such message"), "unexpected_message");
  EXPECT_EQ(metrics::drop_reason_label("whatever the decoder said", "decode"), "malformed");
  EXPECT_EQ(metrics::drop_reason_label("integrity"), "integrity");
  EXPECT_EQ(metrics::drop_reason_label("something new from 10.0.0.1"), "other");
  for (const auto& label : metrics::drop_reason_labels()) {
    EXPECT_LE(label.size(), 32u);
    EXPECT_EQ(label.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789"), std::string::npos) << label;
  }
}

TEST(MetricsLabels, CheckNamesAreKeptOnlyWhenTheyAreTheProjectsOwn) {
  EXPECT_EQ(metrics::check_label("sign_source"), "sign_source");
  EXPECT_EQ(metrics::check_label("relay_certificate_chain"), "relay_certificate_chain");
  EXPECT_EQ(metrics::check_label("replay"), "replay");
  EXPECT_EQ(metrics::check_label("source-ue"), "other");
  EXPECT_EQ(metrics::check_label(""), "other");
}

protocol::Event step(std::int64_t n, const std::string& session) {
  return protocol::event(protocol::Level::kInfo, "step").with("step", n).with("session", session);
}

TEST(DaemonMetrics, RelayCountsSignaturesDropsAndReplaysFromItsEvents) {
  DaemonMetrics m(metrics::Role::kRelay);
  const auto t0 = DaemonMetrics::Clock::now();
  m.observe(step(2, "ab"), t0);
  m.observe(step(3, "ab"), t0);
  m.observe(step(6, "ab"), t0);
  m.observe(protocol::event(protocol::Level::kInfo, "link_relayed").with("session", "ab"),
            t0 + std::chrono::milliseconds(20));
  m.observe(
      protocol::dropped_event("over the rate limit of new requests for this host", *Endpoint::parse("127.0.0.1", 1)));
  m.observe(protocol::event(protocol::Level::kWarn, "check_failed").with("check", "replay"));
  m.observe(protocol::event(protocol::Level::kWarn, "check_failed").with("check", "sign_source"));
  const auto& r = m.registry();
  const auto& id = m.ids();
  EXPECT_EQ(r.value(id.handshakes, "relayed"), 1);
  EXPECT_EQ(r.value(id.verifications, "valid"), 2);
  EXPECT_EQ(r.value(id.verifications, "invalid"), 1);
  EXPECT_EQ(r.value(id.signings), 2);
  EXPECT_EQ(r.value(id.dropped, "rate_limited"), 1);
  EXPECT_EQ(r.value(id.rate_limited), 1);
  EXPECT_EQ(r.value(id.replayed), 1);
  EXPECT_EQ(r.value(id.handshake_failures, "replay"), 1);
  EXPECT_EQ(r.value(id.handshake_failures, "sign_source"), 1);
  EXPECT_EQ(r.value(id.duration), 1);
  EXPECT_NE(m.render().find("u2u_handshake_duration_seconds_bucket{le=\"0.025\"} 1\n"), std::string::npos);
  EXPECT_NE(m.render().find("u2u_handshake_duration_seconds_bucket{le=\"0.01\"} 0\n"), std::string::npos);
  EXPECT_EQ(m.render().find("127.0.0.1"), std::string::npos);
}

TEST(DaemonMetrics, AFailedHandshakeIsCountedAndNotTimed) {
  DaemonMetrics m(metrics::Role::kSource);
  m.observe(step(1, "cd"));
  m.observe(protocol::event(protocol::Level::kError, "link_failed").with("session", "cd").with("check", "timeout"));
  EXPECT_EQ(m.registry().value(m.ids().handshakes, "failed"), 1);
  EXPECT_EQ(m.registry().value(m.ids().handshake_failures, "timeout"), 1);
  EXPECT_EQ(m.registry().value(m.ids().signings), 1);
  EXPECT_EQ(m.registry().value(m.ids().duration), 0);
}

TEST(DaemonMetrics, AFailedCheckThatEndsTheHandshakeIsOneFailureAndOneInvalidSignature) {
  // source-ue at step 8: check_failed, then link_failed, of the same session and check.
  DaemonMetrics m(metrics::Role::kSource);
  m.observe(step(1, "ab"));
  m.observe(protocol::event(protocol::Level::kWarn, "check_failed").with("session", "ab").with("check", "sign_target"));
  m.observe(protocol::event(protocol::Level::kError, "link_failed").with("session", "ab").with("check", "sign_target"));
  EXPECT_EQ(m.registry().value(m.ids().handshake_failures, "sign_target"), 1);
  EXPECT_EQ(m.registry().value(m.ids().verifications, "invalid"), 1);
  EXPECT_EQ(m.registry().value(m.ids().handshakes, "failed"), 1);
  // Another handshake's failure of the same check still counts.
  m.observe(protocol::event(protocol::Level::kError, "link_failed").with("session", "cd").with("check", "sign_target"));
  EXPECT_EQ(m.registry().value(m.ids().handshake_failures, "sign_target"), 2);
}

TEST(DaemonMetrics, ARejectPassedOnIsCountedOnceAndTheHandshakeStillCompletesAndIsTimed) {
  // relay-ue (issue 13): the first reject_forwarded of a request at info, its copies at debug; the handshake goes on.
  DaemonMetrics m(metrics::Role::kRelay);
  const auto t0 = DaemonMetrics::Clock::now();
  m.observe(step(2, "ef"), t0);
  const auto forwarded = [](protocol::Level level) {
    return protocol::event(level, "reject_forwarded").with("session", "ef").with("cause", std::int64_t{6});
  };
  m.observe(forwarded(protocol::Level::kInfo), t0);
  m.observe(forwarded(protocol::Level::kDebug), t0);
  m.observe(forwarded(protocol::Level::kDebug), t0);
  m.observe(protocol::event(protocol::Level::kInfo, "link_relayed").with("session", "ef"),
            t0 + std::chrono::milliseconds(30));
  EXPECT_EQ(m.registry().value(m.ids().handshakes, "rejected"), 1);
  EXPECT_EQ(m.registry().value(m.ids().handshakes, "relayed"), 1);
  EXPECT_EQ(m.registry().value(m.ids().duration), 1) << "timed from step 2 to link_relayed";
}

TEST(DaemonMetrics, RekeyingsAreCountedByHowTheyEndedAtTheEndsAndAsRelayedAtTheRelay) {
  DaemonMetrics end(metrics::Role::kTarget);
  const auto rekeyed = [](const char* as) { return protocol::event(protocol::Level::kInfo, "rekeyed").with("as", as); };
  end.observe(rekeyed("initiator"));
  end.observe(rekeyed("responder"));
  end.observe(rekeyed("responder"));
  end.observe(protocol::event(protocol::Level::kWarn, "rekey_failed").with("generation", std::int64_t{4}));
  end.observe(protocol::event(protocol::Level::kDebug, "rekeying").with("generation", std::int64_t{4}));
  EXPECT_EQ(end.registry().value(end.ids().rekeyings, "initiated"), 1);
  EXPECT_EQ(end.registry().value(end.ids().rekeyings, "answered"), 2);
  EXPECT_EQ(end.registry().value(end.ids().rekeyings, "failed"), 1);

  DaemonMetrics relay(metrics::Role::kRelay);
  double relayed = 7;
  relay.rekeyings_relayed([&] { return relayed; });
  relay.observe(rekeyed("initiator"));  // the relay logs none; its count is the relay's own
  EXPECT_NE(relay.render().find("u2u_rekeyings_total{result=\"relayed\"} 7\n"), std::string::npos) << relay.render();
  EXPECT_EQ(relay.render().find("initiated"), std::string::npos);
}

TEST(DaemonMetrics, HandshakesNeverCompletedDoNotGrowTheTimingTable) {
  DaemonMetrics m(metrics::Role::kTarget);
  for (int i = 0; i < 10000; ++i) m.observe(step(4, std::to_string(i)));
  m.observe(protocol::event(protocol::Level::kInfo, "link_established").with("session", "9999"));
  EXPECT_EQ(m.registry().value(m.ids().duration), 1);
  m.observe(protocol::event(protocol::Level::kInfo, "link_established").with("session", "0"));
  EXPECT_EQ(m.registry().value(m.ids().duration), 1) << "forgotten beyond kMaxTimedHandshakes";
}

}  // namespace
}  // namespace u2u::test
