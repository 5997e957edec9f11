#include "load/fleet.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "load/socket.hpp"
#include "logging/event_log.hpp"
#include "transport/udp_runner.hpp"

namespace u2u::load {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr int kReceiveBatch = 16;  // datagrams read from one socket before the others get a turn

std::int64_t ms_between(MonoTime from, MonoTime to) { return std::chrono::duration_cast<Millis>(to - from).count(); }

std::string text_field(const protocol::Event& e, std::string_view key) {
  const auto* v = e.find(key);
  if (v == nullptr) return {};
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return std::to_string(std::get<std::int64_t>(*v));
}

}  // namespace

struct Fleet::Source {
  explicit Source(asio::io_context& io) : timer(io) {}
  std::unique_ptr<protocol::SourceUe> ue;
  std::unique_ptr<udp::socket> socket;
  asio::steady_timer timer;
  std::optional<MonoTime> armed_at;
  Phase phase = Phase::kWaiting;
  MonoTime started{};
};

Result<protocol::LocalParty> issue_party(const crypto::CertificateAuthority& ca,
                                         std::shared_ptr<const crypto::TrustStore> trust, const std::string& id,
                                         wire::Layer2Id layer2_id, WallTime now) {
  auto key = crypto::PrivateKey::generate();
  if (!key) return key.error();
  auto certificate = ca.issue({id, crypto::Role::kUe, now - std::chrono::hours(1), now + std::chrono::hours(24 * 7)},
                              key->public_key());
  if (!certificate) return certificate.error();
  auto shared_key = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
  return protocol::LocalParty{id, layer2_id, std::move(certificate).value(), shared_key, shared_key, std::move(trust)};
}

Result<std::vector<protocol::LocalParty>> load_parties(const std::string& path,
                                                       std::shared_ptr<const crypto::TrustStore> trust,
                                                       wire::Layer2Id layer2_base) {
  std::ifstream in(path);
  if (!in) return make_error(Cause::kNone, "credentials", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  // The PEM blocks in order: "-----BEGIN LABEL-----" ... "-----END LABEL-----".
  std::vector<std::pair<std::string, std::string>> blocks;  // label, whole block
  for (std::size_t at = pem.find("-----BEGIN "); at != std::string::npos; at = pem.find("-----BEGIN ", at)) {
    const auto label_end = pem.find("-----", at + 11);
    if (label_end == std::string::npos) break;
    const std::string label = pem.substr(at + 11, label_end - at - 11);
    const std::string end_line = "-----END " + label + "-----";
    const auto end = pem.find(end_line, label_end);
    if (end == std::string::npos) return make_error(Cause::kNone, "credentials", path + ": " + label + " not ended");
    blocks.emplace_back(label, pem.substr(at, end + end_line.size() - at));
    at = end + end_line.size();
  }
  std::vector<protocol::LocalParty> parties;
  for (std::size_t i = 0; i < blocks.size(); i += 2) {
    const std::string which = path + ": credential " + std::to_string(i / 2 + 1);
    if (blocks[i].first != "CERTIFICATE" || i + 1 == blocks.size() ||
        blocks[i + 1].first.find("PRIVATE KEY") == std::string::npos) {
      return make_error(Cause::kNone, "credentials", which + " is not a CERTIFICATE followed by its PRIVATE KEY");
    }
    auto certificate = crypto::Certificate::from_pem(blocks[i].second);
    if (!certificate) return make_error(Cause::kNone, "credentials", which + ": " + certificate.error().reason);
    auto key = crypto::PrivateKey::from_pem(blocks[i + 1].second);
    if (!key) return make_error(Cause::kNone, "credentials", which + ": " + key.error().reason);
    auto certified = certificate->public_key();
    if (!certified || !(*certified == key->public_key())) {
      return make_error(Cause::kNone, "credentials", which + ": the key is not the certificate's");
    }
    const std::string id = certificate->subject_cn();
    const auto layer2_id = static_cast<wire::Layer2Id>(layer2_base + parties.size() + 1);
    auto shared_key = std::make_shared<const crypto::PrivateKey>(std::move(key).value());
    parties.push_back(
        protocol::LocalParty{id, layer2_id, std::move(certificate).value(), shared_key, shared_key, trust});
  }
  if (parties.empty()) return make_error(Cause::kNone, "credentials", path + " holds no credential");
  return parties;
}

std::string source_user_info_id(const std::string& prefix, std::size_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%04zu", index);
  return prefix + digits;
}

Fleet::Fleet(asio::io_context& io, const Options& options, Report& report, std::ostream* events)
    : io_(io), options_(options), report_(report), events_(events) {}

Fleet::~Fleet() = default;

Status Fleet::prepare(const crypto::CertificateAuthority& ca, std::shared_ptr<const crypto::TrustStore> trust) {
  const Now now = Now::read();
  sources_.reserve(options_.sources);
  for (std::size_t i = 1; i <= options_.sources; ++i) {
    const auto layer2_id = static_cast<wire::Layer2Id>(options_.layer2_base + i);
    auto party = issue_party(ca, trust, source_user_info_id(options_.id_prefix, i), layer2_id, now.wall);
    if (!party) return party.error();
    if (auto s = add(std::move(party).value()); !s) return s;
  }
  report_.credential_seconds = std::chrono::duration<double>(Now::read().mono - now.mono).count();
  return {};
}

Status Fleet::prepare(std::vector<protocol::LocalParty> parties) {
  sources_.reserve(parties.size());
  for (auto& party : parties) {
    if (auto s = add(std::move(party)); !s) return s;
  }
  return {};
}

Status Fleet::add(protocol::LocalParty party) {
  {
    auto socket = open_socket(io_, options_, sources_.size());
    if (!socket) return socket.error();
    auto s = std::make_unique<Source>(io_);
    s->socket = std::move(socket).value();
    s->ue =
        std::make_unique<protocol::SourceUe>(protocol::SourceConfig{.self = std::move(party),
                                                                    .relay_user_info_id = options_.relay_id,
                                                                    .relay_layer2_id = options_.relay_layer2_id,
                                                                    .relay_endpoint = options_.relay,
                                                                    .target_user_info_id = options_.target_id,
                                                                    .target_layer2_id = options_.target_layer2_id,
                                                                    .t5080 = options_.t5080,
                                                                    .keepalive_interval = options_.keepalive_interval,
                                                                    .t5085 = options_.t5085,
                                                                    .forward_secrecy = false,
                                                                    .rekeying = {}});
    sources_.push_back(std::move(s));
  }
  return {};
}

void Fleet::start(std::function<void()> ended) {
  on_ended_ = std::move(ended);
  first_start_ = std::chrono::steady_clock::now();
  last_end_ = first_start_;
  for (auto& s : sources_) receive(*s);
  launch();
}

void Fleet::launch() {
  while (!aborted_ && in_progress_ < options_.concurrency && next_ < sources_.size()) begin(*sources_[next_++]);
}

void Fleet::begin(Source& s) {
  ++in_progress_;
  ++report_.started;
  s.phase = Phase::kHandshaking;
  const Now now = Now::read();
  s.started = now.mono;
  dispatch(s, s.ue->start(now));
}

void Fleet::receive(Source& s) {
  s.socket->async_wait(udp::socket::wait_read, [this, &s](boost::system::error_code ec) {
    if (ec || aborted_) return;
    for (int i = 0; i < kReceiveBatch; ++i) {
      udp::endpoint from;
      const std::size_t n = s.socket->receive_from(asio::buffer(buffer_), from, 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) continue;  // e.g. an ICMP error queued on the socket
      dispatch(s, s.ue->on_datagram(transport::from_asio(from), ByteView(buffer_.data(), n), Now::read()));
    }
    receive(s);
  });
}

void Fleet::dispatch(Source& s, protocol::Output out) {
  if (aborted_) return;
  boost::system::error_code ec;
  for (const auto& send : out.send) {
    s.socket->send_to(asio::buffer(send.datagram), transport::to_asio(send.to), 0, ec);
    if (ec) ++report_.send_errors;  // as good as lost: T5080 sends it again
  }
  const MonoTime now = std::chrono::steady_clock::now();
  bool release = false;
  bool again = false;  // --reestablish: a new handshake once these events are handled
  bool logged = false;
  for (const auto& e : out.events) {
    if (events_ != nullptr && e.level >= protocol::Level::kInfo) {
      *events_ << logging::render_json(e, "source-ue", std::chrono::system_clock::now()) << '\n';
      logged = true;
    }
    if (s.phase == Phase::kReestablishing) {
      if (e.name == "link_confirmed") {
        ++report_.reestablished;
        s.phase = Phase::kHolding;
        report_.held_peak = std::max(report_.held_peak, ++held_);
      } else if (e.name == "link_failed" || e.name == "link_lost") {
        again = true;  // as source-ue: until a link is up
      }
      continue;
    }
    if (e.name == "retransmission") {
      ++report_.retransmissions;
    } else if (e.name == "link_established") {
      ++report_.established;
      report_.establish_ms.push_back(ms_between(s.started, now));
    } else if (e.name == "link_confirmed") {
      ++report_.confirmed;
      report_.confirm_ms.push_back(ms_between(s.started, now));
      s.phase = Phase::kHolding;
      report_.held_peak = std::max(report_.held_peak, ++held_);
      release = !options_.hold;
      handshake_ended();
    } else if (e.name == "link_failed" && s.phase == Phase::kHandshaking) {
      ++report_.failed;
      ++report_.failures_by_check[text_field(e, "check")];
      s.phase = Phase::kDone;
      handshake_ended();
    } else if (e.name == "link_lost") {
      if (s.phase == Phase::kHandshaking) {  // established, but the LINK CONFIRM was never acknowledged
        ++report_.failed;
        ++report_.failures_by_check[text_field(e, "check")];
        s.phase = Phase::kDone;
        handshake_ended();
      } else if (s.phase == Phase::kHolding) {
        ++report_.lost_while_held_by_check[text_field(e, "check")];
        --held_;
        s.phase = Phase::kDone;
        again = options_.reestablish;
      }
    } else if (e.name == "link_released" && s.phase == Phase::kReleasing) {
      ++(text_field(e, "acknowledged") == "yes" ? report_.releases_acknowledged : report_.releases_unacknowledged);
      --held_;
      s.phase = Phase::kDone;
      release_ended();
    }
  }
  if (logged) events_->flush();  // a reader of the events (docker service logs) sees each at once
  if (again && !aborted_) {
    reestablish(s);
    return;
  }
  if (release && !aborted_) {
    s.phase = Phase::kReleasing;
    ++releasing_;
    dispatch(s, s.ue->release(Now::read()));
    return;
  }
  arm(s);
}

void Fleet::reestablish(Source& s) {
  s.phase = Phase::kReestablishing;
  if (!options_.relay_host.empty()) {  // a relay restarted elsewhere (another container) has another address
    if (auto relay = resolve_relay(io_, options_)) {
      const auto& c = s.ue->config();
      s.ue->select_relay(c.relay_user_info_id, c.relay_layer2_id, *relay, c.target_layer2_id);
    }
  }
  dispatch(s, s.ue->start(Now::read()));
}

void Fleet::arm(Source& s) {
  const auto deadline = s.ue->next_deadline();
  if (deadline == s.armed_at) return;
  s.armed_at = deadline;
  if (!deadline) {
    s.timer.cancel();
    return;
  }
  s.timer.expires_at(*deadline);
  s.timer.async_wait([this, &s](boost::system::error_code ec) {
    if (ec || aborted_) return;
    s.armed_at.reset();
    dispatch(s, s.ue->on_timer(Now::read()));
  });
}

void Fleet::handshake_ended() {
  --in_progress_;
  ++ended_;
  last_end_ = std::chrono::steady_clock::now();
  report_.handshake_seconds = std::chrono::duration<double>(last_end_ - first_start_).count();
  // Started from the io_context, not from inside the dispatch of the source that ended.
  asio::post(io_, [this] {
    launch();
    if (ended_ == sources_.size() && on_ended_) std::exchange(on_ended_, nullptr)();
  });
}

void Fleet::release_all(std::function<void()> released) {
  on_released_ = std::move(released);
  for (auto& s : sources_) {
    if (s->phase != Phase::kHolding) continue;
    s->phase = Phase::kReleasing;
    ++releasing_;
    dispatch(*s, s->ue->release(Now::read()));
  }
  asio::post(io_, [this] {
    if (releasing_ == 0 && on_released_) std::exchange(on_released_, nullptr)();
  });
}

void Fleet::release_ended() {
  --releasing_;
  if (releasing_ == 0 && on_released_)
    asio::post(io_, [this] {
      if (releasing_ == 0 && on_released_) std::exchange(on_released_, nullptr)();
    });
}

void Fleet::abort() {
  for (auto& s : sources_) {
    if (s->phase == Phase::kHandshaking || s->phase == Phase::kWaiting) ++report_.incomplete;
  }
  aborted_ = true;
  boost::system::error_code ignored;
  for (auto& s : sources_) {
    s->timer.cancel();
    s->socket->cancel(ignored);
  }
}

}  // namespace u2u::load
