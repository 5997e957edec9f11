#include "impair/proxy.hpp"

#include <algorithm>

#include "transport/udp_runner.hpp"

namespace u2u::impair {

namespace asio = boost::asio;
using asio::ip::udp;
using boost::system::error_code;

namespace {

// A send that fails (e.g. the upstream is down and ICMP said so) is logged at most once a second.
constexpr Millis kSendErrorLogInterval{1000};

bool would_block(const error_code& ec) { return ec == asio::error::would_block || ec == asio::error::try_again; }

}  // namespace

struct Proxy::Peer {
  explicit Peer(asio::io_context& io) : upstream(io) {}
  FlowId flow = 0;
  Endpoint address;
  udp::endpoint endpoint;
  udp::socket upstream;  // connected to the upstream: it reads only what the upstream sends
  MonoTime last_active;
};

Proxy::Proxy(asio::io_context& io, ProxyConfig config, logging::EventLog& log)
    : io_(io),
      config_(std::move(config)),
      log_(log),
      impairer_(config_.settings, config_.seed),
      listen_(io),
      upstream_(transport::to_asio(config_.upstream)),
      send_timer_(io),
      hold_timer_(io),
      sweep_timer_(io),
      stats_timer_(io) {}

Proxy::~Proxy() { stop(); }

Status Proxy::bind() {
  error_code ec;
  const udp::endpoint ep = transport::to_asio(config_.listen);
  listen_.open(ep.protocol(), ec);
  if (!ec) listen_.bind(ep, ec);
  if (!ec) listen_.non_blocking(true, ec);
  if (ec) {
    return make_error(Cause::kNone, "bind", "cannot bind UDP " + config_.listen.to_string() + ": " + ec.message());
  }
  return {};
}

Endpoint Proxy::local_endpoint() const { return transport::from_asio(listen_.local_endpoint()); }

void Proxy::start() {
  auto started = protocol::event(protocol::Level::kInfo, "started")
                     .with("listen", local_endpoint().to_string())
                     .with("upstream", config_.upstream.to_string());
  if (config_.seed <= static_cast<std::uint64_t>(INT64_MAX)) {
    started.with("seed", static_cast<std::int64_t>(config_.seed));
  } else {
    started.with("seed", std::to_string(config_.seed));
  }
  started.with("up", config_.settings[0].describe()).with("down", config_.settings[1].describe());
  started.with("idle_timeout_ms", static_cast<std::int64_t>(config_.idle_timeout.count()))
      .with("max_peers", static_cast<std::int64_t>(config_.max_peers));
  log_.emit(started);
  wait_listen();
  arm_sweep_timer();
  arm_stats_timer();
}

void Proxy::stop() {
  error_code ignored;
  send_timer_.cancel();
  hold_timer_.cancel();
  sweep_timer_.cancel();
  stats_timer_.cancel();
  listen_.close(ignored);
  for (auto& [address, peer] : peers_) peer->upstream.close(ignored);
  peers_.clear();
  by_flow_.clear();
  delayed_.clear();
}

protocol::Event Proxy::counters_event(std::string name) const {
  auto e = protocol::event(protocol::Level::kInfo, std::move(name));
  for (const Direction d : kDirections) {
    const Counters& c = impairer_.counters(d);
    const std::string p(direction_name(d));
    e.with(p + "_received", static_cast<std::int64_t>(c.received))
        .with(p + "_forwarded", static_cast<std::int64_t>(c.forwarded))
        .with(p + "_dropped", static_cast<std::int64_t>(c.dropped))
        .with(p + "_duplicated", static_cast<std::int64_t>(c.duplicated))
        .with(p + "_reordered", static_cast<std::int64_t>(c.reordered))
        .with(p + "_corrupted", static_cast<std::int64_t>(c.corrupted))
        .with(p + "_delayed", static_cast<std::int64_t>(c.delayed))
        .with(p + "_forged", static_cast<std::int64_t>(c.forged));
  }
  e.with("peers", static_cast<std::int64_t>(peers_.size()))
      .with("peers_evicted", static_cast<std::int64_t>(evicted_))
      .with("send_errors", static_cast<std::int64_t>(send_errors_));
  return e;
}

void Proxy::wait_listen() {
  listen_.async_wait(udp::socket::wait_read, [this](error_code ec) {
    if (ec == asio::error::operation_aborted || !listen_.is_open()) return;
    for (int i = 0; i < kReceiveBatch; ++i) {
      udp::endpoint from;
      const std::size_t n = listen_.receive_from(asio::buffer(buffer_), from, 0, ec);
      if (would_block(ec)) break;
      if (ec) continue;  // an error queued on the socket; the next read goes on
      const MonoTime now = std::chrono::steady_clock::now();
      const PeerPtr peer = find_or_add(from, now);
      if (!peer) continue;
      peer->last_active = now;
      schedule(impairer_.on_datagram(peer->flow, Direction::kUp, Bytes(buffer_.begin(), buffer_.begin() + n), now),
               now);
    }
    wait_listen();
  });
}

void Proxy::wait_upstream(const PeerPtr& peer) {
  peer->upstream.async_wait(udp::socket::wait_read, [this, peer](error_code ec) {
    if (ec == asio::error::operation_aborted || !peer->upstream.is_open()) return;
    for (int i = 0; i < kReceiveBatch; ++i) {
      const std::size_t n = peer->upstream.receive(asio::buffer(buffer_), 0, ec);
      if (would_block(ec)) break;
      if (ec) continue;  // e.g. connection refused: the upstream's port was closed when we last sent
      const MonoTime now = std::chrono::steady_clock::now();
      peer->last_active = now;
      schedule(impairer_.on_datagram(peer->flow, Direction::kDown, Bytes(buffer_.begin(), buffer_.begin() + n), now),
               now);
    }
    wait_upstream(peer);
  });
}

Proxy::PeerPtr Proxy::find_or_add(const udp::endpoint& from, MonoTime now) {
  const Endpoint address = transport::from_asio(from);
  if (auto it = peers_.find(address); it != peers_.end()) return it->second;
  if (peers_.size() >= config_.max_peers) {
    const auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
      return a.second->last_active < b.second->last_active;
    });
    ++evicted_;
    remove(oldest->second, "peer_evicted", now);
  }
  auto peer = std::make_shared<Peer>(io_);
  error_code ec;
  peer->upstream.open(upstream_.protocol(), ec);
  if (!ec) peer->upstream.connect(upstream_, ec);
  if (!ec) peer->upstream.non_blocking(true, ec);
  if (ec) {
    log_.emit(protocol::event(protocol::Level::kWarn, "peer_refused")
                  .with("peer", address.to_string())
                  .with("reason", "cannot open a socket to the upstream: " + ec.message()));
    return nullptr;
  }
  peer->flow = next_flow_++;
  peer->address = address;
  peer->endpoint = from;
  peer->last_active = now;
  peers_.emplace(address, peer);
  by_flow_.emplace(peer->flow, peer);
  log_.emit(protocol::event(protocol::Level::kInfo, "peer_added")
                .with("peer", address.to_string())
                .with("via", transport::from_asio(peer->upstream.local_endpoint(ec)).to_string())
                .with("peers", static_cast<std::int64_t>(peers_.size())));
  wait_upstream(peer);
  return peer;
}

void Proxy::remove(const PeerPtr& peer, const char* event, MonoTime now) {
  impairer_.forget(peer->flow);
  error_code ignored;
  peer->upstream.close(ignored);
  by_flow_.erase(peer->flow);
  const auto idle = std::chrono::duration_cast<Millis>(now - peer->last_active);
  const PeerPtr keep = peer;  // `peer` may be the map's own copy
  peers_.erase(keep->address);
  log_.emit(protocol::event(protocol::Level::kInfo, event)
                .with("peer", keep->address.to_string())
                .with("idle_ms", static_cast<std::int64_t>(idle.count()))
                .with("peers", static_cast<std::int64_t>(peers_.size())));
}

void Proxy::schedule(std::vector<Emission> emissions, MonoTime now) {
  for (auto& e : emissions) {
    if (e.delay.count() <= 0) {
      send(std::move(e));
    } else {
      const MonoTime due = now + e.delay;
      delayed_.emplace(due, std::move(e));
    }
  }
  arm_send_timer();
  arm_hold_timer();
}

void Proxy::send(Emission emission) {
  const auto it = by_flow_.find(emission.flow);
  if (it == by_flow_.end()) return;  // the peer expired while its datagram was delayed
  const PeerPtr& peer = it->second;
  auto datagram = std::make_shared<Bytes>(std::move(emission.datagram));
  const Direction direction = emission.direction;
  auto done = [this, datagram, peer, direction](error_code ec, std::size_t) {
    if (ec && ec != asio::error::operation_aborted) send_failed(*peer, direction, ec);
  };
  if (direction == Direction::kUp) {
    peer->upstream.async_send(asio::buffer(*datagram), std::move(done));
  } else {
    listen_.async_send_to(asio::buffer(*datagram), peer->endpoint, std::move(done));
  }
}

void Proxy::send_failed(const Peer& peer, Direction direction, const error_code& ec) {
  ++send_errors_;
  const MonoTime now = std::chrono::steady_clock::now();
  if (last_send_error_log_ && now - *last_send_error_log_ < kSendErrorLogInterval) {
    ++send_errors_unlogged_;
    return;
  }
  last_send_error_log_ = now;
  log_.emit(protocol::event(protocol::Level::kWarn, "send_failed")
                .with("peer", peer.address.to_string())
                .with("to", direction == Direction::kUp ? config_.upstream.to_string() : peer.address.to_string())
                .with("reason", ec.message())
                .with("suppressed_before", static_cast<std::int64_t>(std::exchange(send_errors_unlogged_, 0))));
}

void Proxy::arm_send_timer() {
  if (delayed_.empty()) return;
  const MonoTime earliest = delayed_.begin()->first;
  if (send_timer_at_ && *send_timer_at_ <= earliest) return;
  send_timer_at_ = earliest;
  send_timer_.expires_at(earliest);
  send_timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    send_timer_at_.reset();
    const MonoTime now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      auto node = delayed_.extract(delayed_.begin());
      send(std::move(node.mapped()));
    }
    arm_send_timer();
  });
}

void Proxy::arm_hold_timer() {
  const auto deadline = impairer_.next_deadline();
  if (!deadline || (hold_timer_at_ && *hold_timer_at_ == *deadline)) return;
  hold_timer_at_ = deadline;
  hold_timer_.expires_at(*deadline);
  hold_timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    hold_timer_at_.reset();
    const MonoTime now = std::chrono::steady_clock::now();
    schedule(impairer_.on_timer(now), now);  // re-arms both timers
  });
}

void Proxy::arm_sweep_timer() {
  const Millis interval = std::clamp(config_.idle_timeout / 4, Millis(10), Millis(1000));
  sweep_timer_.expires_after(interval);
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    const MonoTime now = std::chrono::steady_clock::now();
    std::vector<PeerPtr> idle;
    for (const auto& [address, peer] : peers_) {
      if (now - peer->last_active >= config_.idle_timeout) idle.push_back(peer);
    }
    for (const auto& peer : idle) remove(peer, "peer_expired", now);
    arm_sweep_timer();
  });
}

void Proxy::arm_stats_timer() {
  if (config_.stats_interval.count() <= 0) return;
  stats_timer_.expires_after(config_.stats_interval);
  stats_timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    log_.emit(counters_event("stats"));
    arm_stats_timer();
  });
}

}  // namespace u2u::impair
