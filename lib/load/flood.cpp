#include "load/flood.hpp"

#include "crypto/hash.hpp"
#include "dataplane/suite.hpp"
#include "load/socket.hpp"
#include "protocol/transcript.hpp"
#include "transport/udp_runner.hpp"

namespace u2u::load {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr Millis kTick{1};
constexpr std::size_t kJunkPool = 4096;
// A bad-signature request not answered within this is counted unanswered (and no longer waited for).
constexpr Millis kRejectWait{1000};

std::uint64_t digest_key(ByteView digest) {
  std::uint64_t k = 0;
  for (std::size_t i = 0; i < 8; ++i) k = (k << 8) | digest[i];
  return k;
}

// Each flood's timer fires every kTick and calls `tick` again until it is cancelled.
template <class Tick>
void rearm(asio::steady_timer& timer, MonoTime now, Tick tick) {
  timer.expires_at(now + kTick);
  timer.async_wait([tick](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace

void Pacer::tick(MonoTime now) {
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  budget_ = std::min(budget_ + elapsed * per_second_, per_second_ * 0.05 + 1);
}

bool Pacer::take() {
  if (budget_ < 1) return false;
  budget_ -= 1;
  return true;
}

Bytes signed_request_datagram(const protocol::LocalParty& party, const Options& options, const wire::Nonce& nonce_1) {
  wire::DirectCommunicationRequest request;
  request.source_user_info_id = party.user_info_id;
  request.target_user_info_id = options.target_id;
  request.target_layer2_id = options.target_layer2_id;
  request.selected_relay_user_info_id = options.relay_id;
  for (auto s : dataplane::kDefaultSuites) request.data_suites.push_back(static_cast<std::uint8_t>(s));
  request.nonce_1 = nonce_1;
  request.source_certificate = party.certificate.der();
  Bytes message = wire::encode_request_unsigned(request);
  auto signature = protocol::sign_step(*party.signer, protocol::kSignSource, message);
  if (signature) wire::append_signature(message, wire::Iei::kSignSource, *signature);
  return wire::encode_datagram(party.layer2_id, options.relay_layer2_id, message);
}

// ---------------------------------------------------------------------------------------------------------------

JunkFlood::JunkFlood(asio::io_context& io, const Options& options, const Bytes& real_request, std::uint64_t seed)
    : io_(io), options_(options), timer_(io), relay_(transport::to_asio(options.relay)), pacer_(options.junk_rate) {
  std::mt19937_64 rng(seed);
  const auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto byte = [&] { return static_cast<std::uint8_t>(rng()); };
  static constexpr std::uint8_t kTypes[] = {0x01, 0x02, 0x03, 0x07, 0x08, 0x0E, 0x10, 0x11, 0x12};
  pool_.reserve(kJunkPool);
  for (std::size_t i = 0; i < kJunkPool; ++i) {
    Bytes d;
    switch (i % 3) {
      case 0:  // random bytes, up to beyond the largest datagram the protocol allows
        d.resize(1 + below(wire::kMaxDatagramSize + 100));
        for (auto& b : d) b = byte();
        break;
      case 1: {  // a valid header (version, Layer-2 IDs to this relay, a message type) and garbage IEs
        d.resize(wire::kHeaderSize + 1 + below(1200));
        for (auto& b : d) b = byte();
        d[0] = wire::kProtocolVersion;
        d[4] = static_cast<std::uint8_t>(options.relay_layer2_id >> 16);
        d[5] = static_cast<std::uint8_t>(options.relay_layer2_id >> 8);
        d[6] = static_cast<std::uint8_t>(options.relay_layer2_id);
        d[7] = kTypes[below(std::size(kTypes))];
        break;
      }
      default:  // a real request cut short
        d.assign(real_request.begin(),
                 real_request.begin() + static_cast<std::ptrdiff_t>(1 + below(real_request.size() - 1)));
        break;
    }
    pool_.push_back(std::move(d));
  }
}

Status JunkFlood::open() {
  for (std::size_t i = 0; i < options_.junk_sockets; ++i) {
    auto socket = open_socket(io_, options_, options_.flood_host_base() + i);
    if (!socket) return socket.error();
    sockets_.push_back(std::move(socket).value());
  }
  return {};
}

void JunkFlood::start() {
  running_ = true;
  pacer_.start(std::chrono::steady_clock::now());
  tick();
}

void JunkFlood::stop() {
  running_ = false;
  timer_.cancel();
}

void JunkFlood::tick() {
  if (!running_) return;
  const MonoTime now = std::chrono::steady_clock::now();
  pacer_.tick(now);
  boost::system::error_code ec;
  while (pacer_.take()) {
    auto& socket = *sockets_[next_ % sockets_.size()];
    const Bytes& d = pool_[next_ % pool_.size()];
    ++next_;
    socket.send_to(asio::buffer(d), relay_, 0, ec);
    ++(ec ? not_sent_ : sent_);
  }
  rearm(timer_, now, [this] { tick(); });
}

void JunkFlood::fill(Report& report) const {
  report.junk_rate = options_.junk_rate;
  report.junk_sent = sent_;
  report.junk_not_sent = not_sent_;
}

// ---------------------------------------------------------------------------------------------------------------

BadSignatureFlood::BadSignatureFlood(asio::io_context& io, const Options& options, protocol::LocalParty party,
                                     std::uint64_t seed)
    : io_(io),
      options_(options),
      party_(std::move(party)),
      rng_(seed),
      timer_(io),
      relay_(transport::to_asio(options.relay)),
      pacer_(options.bad_signature_rate) {
  request_.source_user_info_id = party_.user_info_id;
  request_.target_user_info_id = options.target_id;
  request_.target_layer2_id = options.target_layer2_id;
  request_.selected_relay_user_info_id = options.relay_id;
  for (auto s : dataplane::kDefaultSuites) request_.data_suites.push_back(static_cast<std::uint8_t>(s));
  request_.source_certificate = party_.certificate.der();
  // A genuine SIGN-Source UE, of a request none of the flood's: wrong for every request it is put in.
  const Bytes message = wire::encode_request_unsigned(request_);
  if (auto signature = protocol::sign_step(*party_.signer, protocol::kSignSource, message)) corrupted_ = *signature;
}

Status BadSignatureFlood::open() {
  for (std::size_t i = 0; i < options_.bad_signature_sockets; ++i) {
    auto socket = open_socket(io_, options_, options_.flood_host_base() + options_.junk_sockets + i);
    if (!socket) return socket.error();
    auto s = std::make_unique<Socket>();
    s->socket = std::move(socket).value();
    s->layer2_id = static_cast<wire::Layer2Id>(0xF00000 + i % 0x0FFFFF);
    sockets_.push_back(std::move(s));
  }
  return {};
}

void BadSignatureFlood::start() {
  running_ = true;
  const MonoTime now = std::chrono::steady_clock::now();
  // The relay's bucket for an address it has not seen is full; a margin for the two clocks' drift.
  for (auto& s : sockets_) {
    s->tokens = std::max(1.0, options_.relay_rate_burst - 1);
    s->refilled = now;
    receive(*s);
  }
  pacer_.start(now);
  tick();
}

// Stops sending; REJECTs still on their way are counted as they come.
void BadSignatureFlood::stop() {
  running_ = false;
  timer_.cancel();
}

void BadSignatureFlood::receive(Socket& s) {
  s.socket->async_wait(udp::socket::wait_read, [this, &s](boost::system::error_code ec) {
    if (ec) return;
    for (int i = 0; i < 16; ++i) {
      udp::endpoint from;
      const std::size_t n = s.socket->receive_from(asio::buffer(buffer_), from, 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) continue;
      auto datagram = wire::decode_datagram(ByteView(buffer_.data(), n));
      if (!datagram) continue;
      const auto* reject = std::get_if<wire::DirectCommunicationReject>(&datagram->message.body);
      if (reject == nullptr) continue;
      ++rejects_by_cause_[static_cast<int>(reject->cause)];
      if (auto it = outstanding_.find(digest_key(reject->request_digest)); it != outstanding_.end()) {
        reject_us_.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - it->second)
                .count());
        outstanding_.erase(it);
      }
    }
    if (options_.bad_signature_max) send_more(std::chrono::steady_clock::now());
    receive(s);
  });
}

bool BadSignatureFlood::send_one(MonoTime now) {
  // The next address the relay would still admit a new request from (its per-address token bucket).
  const double rate = options_.relay_rate_per_second * 0.97;
  for (std::size_t scanned = 0; scanned < sockets_.size(); ++scanned) {
    Socket& s = *sockets_[next_++ % sockets_.size()];
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.tokens = std::min(options_.relay_rate_burst - 1, s.tokens + elapsed * rate);
    s.refilled = now;
    if (s.tokens < 1) continue;
    s.tokens -= 1;
    // Fresh Nonce_1, so that no replay check stops it; the certificate is genuine; the signature is not.
    for (auto& b : request_.nonce_1) b = static_cast<std::uint8_t>(rng_());
    Bytes message = wire::encode_request_unsigned(request_);
    wire::Signature signature = corrupted_;
    signature[rng_() % signature.size()] ^= static_cast<std::uint8_t>(1u << (rng_() % 8));
    wire::append_signature(message, wire::Iei::kSignSource, signature);
    const auto digest = crypto::sha256(message);
    const Bytes datagram = wire::encode_datagram(s.layer2_id, options_.relay_layer2_id, message);
    boost::system::error_code ec;
    s.socket->send_to(asio::buffer(datagram), relay_, 0, ec);
    if (ec) return false;
    ++sent_;
    const DigestKey key = digest_key(digest);
    outstanding_[key] = now;
    sent_order_.emplace_back(now, key);
    return true;
  }
  return false;
}

void BadSignatureFlood::send_more(MonoTime now) {
  if (!running_) return;
  if (options_.bad_signature_max) {
    while (outstanding_.size() < options_.bad_signature_window && send_one(now)) {
    }
    return;
  }
  while (pacer_.take() && send_one(now)) {
  }
}

void BadSignatureFlood::expire(MonoTime now) {
  while (!sent_order_.empty() && now - sent_order_.front().first >= kRejectWait) {
    if (auto it = outstanding_.find(sent_order_.front().second);
        it != outstanding_.end() && it->second == sent_order_.front().first) {
      outstanding_.erase(it);
      ++unanswered_;
    }
    sent_order_.pop_front();
  }
}

void BadSignatureFlood::tick() {
  if (!running_) return;
  const MonoTime now = std::chrono::steady_clock::now();
  expire(now);
  pacer_.tick(now);
  send_more(now);
  rearm(timer_, now, [this] { tick(); });
}

void BadSignatureFlood::fill(Report& report) const {
  report.bad_signature_max = options_.bad_signature_max;
  report.bad_signature_rate = options_.bad_signature_rate;
  report.bad_signature_sockets = sockets_.size();
  report.bad_signature_cap = static_cast<double>(sockets_.size()) * options_.relay_rate_per_second;
  report.bad_signature_sent = sent_;
  report.bad_signature_rejects_by_cause = rejects_by_cause_;
  // Still awaited at the end: unanswered once kRejectWait has passed, else in flight (the run ended first).
  const MonoTime now = std::chrono::steady_clock::now();
  report.bad_signature_unanswered = unanswered_;
  report.bad_signature_in_flight = 0;
  for (const auto& [key, sent] : outstanding_) {
    ++(now - sent >= kRejectWait ? report.bad_signature_unanswered : report.bad_signature_in_flight);
  }
  report.bad_signature_reject_us = reject_us_;
}

}  // namespace u2u::load
