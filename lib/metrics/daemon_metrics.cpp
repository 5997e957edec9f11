#include "metrics/daemon_metrics.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "metrics/constants.hpp"

namespace u2u::metrics {

namespace {

// The reasons nodes, the transport and the relay's data router give a datagram_dropped (lib/protocol/*.cpp,
// lib/transport/udp_runner.cpp), by the start of their text; the first match wins.
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kDropReasons = {{
    {"over the rate limit", "rate_limited"},
    {"copy of", "duplicate"},
    {"datagram of more than", "oversize"},
    {"destination Layer-2 ID is not", "not_addressed_here"},
    {"addressed to another Layer-2 ID", "not_addressed_here"},
    {"a relay takes no such", "unexpected_message"},
    {"a target UE takes no such", "unexpected_message"},
    {"a source UE takes no", "unexpected_message"},
    {"request already countersigned", "already_countersigned"},
    {"request of a released link", "released_link"},
    {"stale keep-alive", "stale"},
    {"accept not from", "wrong_sender"},
    {"reject from neither end", "wrong_sender"},
    {"link message from the wrong end", "wrong_sender"},
    {"not from the selected relay", "wrong_sender"},
    {"data PDU from neither end", "wrong_sender"},
    {"data PDU of a size", "malformed"},
    {"data PDU of no link", "no_state"},
    {"no handshake in progress", "no_state"},
    {"reject for another request", "no_state"},
    {"accept for another request", "no_state"},
    {"release accept of a link whose release", "no_state"},
    {"target response to no solicitation", "no_state"},
    {"response to no solicitation", "no_state"},
}};
// "... matches no ...", "... for no link ...": a message for state this node does not hold.
constexpr std::array<std::string_view, 2> kNoStateInfixes = {" matches no ", " for no link"};

// data_dropped reasons (lib/daemon/data_plane.cpp, dataplane::drop_name), already short names.
constexpr std::array<std::string_view, 16> kDataDropReasons = {
    "format",  "link",       "keys",   "duplicate", "too_old", "integrity", "count_exhausted", "too_large",
    "no_link", "flows_full", "no_tun", "tun_write", "bearer",  "flow",      "forward_send",    "forward_socket"};

// Check names (Error::check) the protocol core gives; certificate checks are prefixed with whose certificate.
constexpr std::array<std::string_view, 38> kChecks = {"ca",
                                                      "confirmation_timeout",
                                                      "count_exhausted",
                                                      "data_suite",
                                                      "decode",
                                                      "ephemeral_key",
                                                      "ephemeral_missing",
                                                      "ephemeral_unexpected",
                                                      "key_confirmation",
                                                      "link_confirmation",
                                                      "link_mac",
                                                      "message_too_large",
                                                      "no_common_suite",
                                                      "pending_table_full",
                                                      "private_key",
                                                      "public_key",
                                                      "rejected",
                                                      "relay_binding",
                                                      "relay_identity",
                                                      "relay_missing",
                                                      "replay",
                                                      "replayed",
                                                      "session_table_full",
                                                      "signature",
                                                      "signature_high_s",
                                                      "stale",
                                                      "target_identity",
                                                      "timeout",
                                                      "unknown_target",
                                                      "workers_busy",
                                                      "sign_source",
                                                      "sign1_relay",
                                                      "sign_target",
                                                      "sign2_relay",
                                                      "pending_quota_host",
                                                      "pending_quota_source",
                                                      "session_quota_relay",
                                                      "session_quota_source"};
constexpr std::array<std::string_view, 3> kWhose = {"source_", "relay_", "target_"};
constexpr std::array<std::string_view, 9> kCertificateChecks = {
    "certificate",          "certificate_chain",    "certificate_format",
    "certificate_identity", "certificate_key",      "certificate_revoked",
    "certificate_role",     "certificate_validity", "public_key"};
// The checks of a signature that does not verify (protocol/constants.hpp StepSignature::check).
constexpr std::array<std::string_view, 4> kSignatureChecks = {"sign_source", "sign1_relay", "sign_target",
                                                              "sign2_relay"};
// Checks that say a request was seen before (a replay).
constexpr std::array<std::string_view, 2> kReplayChecks = {"replay", "replayed"};

// Signatures each seed step's "step" event stands for (verified, generated): 1 SIGN-Source UE generated; 2 SIGN-Source
// UE verified, SIGN1-relay generated; 4 SIGN-Source UE and SIGN1-relay verified; 5 SIGN-Target UE generated; 6
// SIGN-Target UE verified, SIGN2-relay generated; 8 SIGN-Target UE and SIGN2-relay verified.
struct StepSignatures {
  std::int64_t step;
  int verified;
  int generated;
};
constexpr std::array<StepSignatures, 6> kStepSignatures = {
    {{1, 0, 1}, {2, 1, 1}, {4, 2, 0}, {5, 0, 1}, {6, 1, 1}, {8, 2, 0}}};

template <class Array>
bool contains(const Array& a, std::string_view v) {
  return std::find(a.begin(), a.end(), v) != a.end();
}

std::string text(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : std::string();
}

std::int64_t number(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  return v != nullptr && std::holds_alternative<std::int64_t>(*v) ? std::get<std::int64_t>(*v) : -1;
}

}  // namespace

std::string_view drop_reason_label(std::string_view reason, std::string_view check) {
  if (check == "decode") return "malformed";
  if (check == "message_too_large") return "oversize";
  for (const auto& [prefix, label] : kDropReasons) {
    if (reason.substr(0, prefix.size()) == prefix) return label;
  }
  for (auto infix : kNoStateInfixes) {
    if (reason.find(infix) != std::string_view::npos) return "no_state";
  }
  for (auto r : kDataDropReasons) {
    if (reason == r) return r;
  }
  return "other";
}

const std::vector<std::string>& drop_reason_labels() {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    const auto add = [&](std::string_view l) {
      if (!contains(out, l)) out.emplace_back(l);
    };
    for (const auto& [prefix, label] : kDropReasons) add(label);
    add("no_state");
    add("malformed");
    for (auto r : kDataDropReasons) add(r);
    add("other");
    return out;
  }();
  return labels;
}

const std::vector<std::string>& check_labels() {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out(kChecks.begin(), kChecks.end());
    for (auto who : kWhose) {
      for (auto c : kCertificateChecks) out.push_back(std::string(who) + std::string(c));
    }
    for (auto who : kWhose) out.push_back(std::string(who) + "ca");
    out.emplace_back("other");
    return out;
  }();
  return labels;
}

std::string_view check_label(std::string_view check) {
  for (const auto& l : check_labels()) {
    if (l == check) return l;
  }
  return "other";
}

DaemonMetrics::DaemonMetrics(Role role) : role_(role) {
  const std::string p(kPrefix);
  ids_.handshakes = registry_.counter(
      p + "handshakes_total",
      "Handshakes by outcome: established and failed (link_established, link_failed at source-ue and target-ue), "
      "relayed, rejected and expired (link_relayed, the first reject_forwarded of a request, pending_expired at "
      "relay-ue; a reject is a hint, so a rejected handshake may still be relayed).",
      "outcome", {"established", "failed", "relayed", "rejected", "expired"});
  ids_.handshake_failures = registry_.counter(
      p + "handshake_failures_total", "Failed checks (check_failed and link_failed events) by the check's name.",
      "check", check_labels());
  ids_.verifications =
      registry_.counter(p + "signature_verifications_total", "ECDSA signatures of the handshake verified, by result.",
                        "result", {"valid", "invalid"});
  ids_.signings = registry_.counter(p + "signatures_generated_total", "ECDSA signatures of the handshake generated.");
  ids_.dropped = registry_.counter(p + "datagrams_dropped_total",
                                   "Datagrams and data PDUs dropped, by reason (datagram_dropped, data_dropped).",
                                   "reason", drop_reason_labels());
  ids_.rate_limited = registry_.counter(p + "requests_rate_limited_total",
                                        "Messages dropped over a rate limit (a subset of datagrams_dropped_total).");
  ids_.replayed = registry_.counter(p + "requests_replayed_total", "Requests refused as replays.");
  std::vector<double> bounds(kHandshakeBuckets.begin(), kHandshakeBuckets.end());
  ids_.duration = registry_.histogram(
      p + "handshake_duration_seconds",
      "Handshake duration: source-ue from sending the request (step 1) to link_established, relay-ue from step 2 to "
      "link_relayed, target-ue from the verified request (step 4) to link_established.",
      std::move(bounds));
  if (role_ != Role::kRelay) {
    ids_.rekeyings = registry_.counter(
        p + "rekeyings_total",
        "Rekeyings of links (docs/protocol.md 12): initiated and answered (rekeyed, as initiator or responder), and "
        "failed (rekey_failed: no answer, the keys in use stay).",
        "result", {"initiated", "answered", "failed"});
  }
}

void DaemonMetrics::gauges(std::function<double()> pending, std::function<double()> links) {
  const std::string p(kPrefix);
  registry_.reader(Registry::Type::kGauge, p + "requests_pending",
                   "Handshakes in progress: requests being verified or awaiting an answer.", {}, {},
                   [pending = std::move(pending)](std::size_t) { return pending(); });
  registry_.reader(Registry::Type::kGauge, p + "links_established", "Links up now.", {}, {},
                   [links = std::move(links)](std::size_t) { return links(); });
}

void DaemonMetrics::data_plane(std::function<DataTotals()> read) {
  const std::string p(kPrefix);
  const bool relay = role_ == Role::kRelay;
  const std::string out = relay ? "forwarded" : "sent";
  registry_.reader(Registry::Type::kCounter, p + "data_packets_total", "Data PDUs by direction.", "direction",
                   {out, "received"}, [read](std::size_t i) {
                     const auto t = read();
                     return i == 0 ? t.packets_sent : t.packets_received;
                   });
  if (relay) return;  // the relay forwards data PDUs unchanged, and cannot check them
  registry_.reader(Registry::Type::kCounter, p + "data_bytes_total", "User data octets (payload) by direction.",
                   "direction", {"sent", "received"}, [read](std::size_t i) {
                     const auto t = read();
                     return i == 0 ? t.bytes_sent : t.bytes_received;
                   });
  registry_.reader(Registry::Type::kCounter, p + "data_integrity_failures_total",
                   "Received data PDUs whose MAC or tag does not verify.", "direction", {"received"},
                   [read](std::size_t) { return read().integrity_failures; });
  registry_.reader(Registry::Type::kCounter, p + "data_replays_total",
                   "Received data PDUs refused by the replay window (duplicate or too old).", "direction", {"received"},
                   [read](std::size_t) { return read().replays; });
}

void DaemonMetrics::rekeyings_relayed(std::function<double()> read) {
  registry_.reader(Registry::Type::kCounter, std::string(kPrefix) + "rekeyings_total",
                   "Rekeyings relayed: REKEYING CONFIRMs of a generation new on their link (docs/protocol.md 12).",
                   "result", {"relayed"}, [read = std::move(read)](std::size_t) { return read(); });
}

void DaemonMetrics::started(const std::string& session, Clock::time_point now) {
  if (session.empty()) return;
  if (begun_.size() >= kMaxTimedHandshakes && begun_.count(session) == 0) {
    auto oldest = std::min_element(begun_.begin(), begun_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    begun_.erase(oldest);
  }
  begun_.insert_or_assign(session, now);
}

void DaemonMetrics::ended(const std::string& session, Clock::time_point now, bool established) {
  const auto it = begun_.find(session);
  if (it == begun_.end()) return;
  if (established) registry_.observe(ids_.duration, std::chrono::duration<double>(now - it->second).count());
  begun_.erase(it);
}

void DaemonMetrics::observe(const protocol::Event& e, Clock::time_point now) {
  const std::string& name = e.name;
  if (name == "step") {
    const std::int64_t step = number(e, "step");
    for (const auto& s : kStepSignatures) {
      if (s.step != step) continue;
      if (s.verified > 0) registry_.add(ids_.verifications, "valid", s.verified);
      if (s.generated > 0) registry_.add(ids_.signings, {}, s.generated);
    }
    const std::int64_t begins = role_ == Role::kSource ? 1 : role_ == Role::kRelay ? 2 : 4;
    if (step == begins) started(text(e, "session"), now);
  } else if (name == "link_established" || name == "link_relayed") {
    registry_.add(ids_.handshakes, name == "link_established" ? "established" : "relayed");
    ended(text(e, "session"), now, true);
  } else if (name == "link_failed" || name == "check_failed") {
    const std::string check = text(e, "check");
    const std::string session = text(e, "session");
    // A failed check that ends the handshake at once comes as check_failed and then link_failed of the same session
    // and check (source-ue, step 8): one failure, counted once.
    const bool counted = name == "link_failed" && !session.empty() && session == last_check_failed_.first &&
                         check == last_check_failed_.second;
    if (name == "check_failed") last_check_failed_ = {session, check};
    if (!counted) {
      registry_.add(ids_.handshake_failures, check_label(check));
      if (contains(kSignatureChecks, check)) registry_.add(ids_.verifications, "invalid");
    }
    if (name == "check_failed" && contains(kReplayChecks, check)) registry_.add(ids_.replayed);
    if (name == "link_failed") {
      registry_.add(ids_.handshakes, "failed");
      ended(text(e, "session"), now, false);
    }
  } else if (name == "reject_forwarded") {
    // A hint (issue 13): the handshake goes on. The first of a route comes at info, the copies at debug.
    if (e.level != protocol::Level::kDebug) registry_.add(ids_.handshakes, "rejected");
  } else if (name == "pending_expired") {
    registry_.add(ids_.handshakes, "expired");
    ended(text(e, "session"), now, false);
  } else if ((name == "rekeyed" || name == "rekey_failed") && role_ != Role::kRelay) {
    registry_.add(ids_.rekeyings, name == "rekey_failed"         ? "failed"
                                  : text(e, "as") == "initiator" ? "initiated"
                                                                 : "answered");
  } else if (name == "datagram_dropped" || name == "data_dropped") {
    const std::string_view label = drop_reason_label(text(e, "reason"), text(e, "check"));
    registry_.add(ids_.dropped, label);
    if (label == "rate_limited") registry_.add(ids_.rate_limited);
  }
}

}  // namespace u2u::metrics
