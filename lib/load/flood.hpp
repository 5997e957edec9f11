#pragma once
// Hostile traffic at the relay while legitimate handshakes run (issue 4 item 5):
//   JunkFlood          datagrams the relay must drop unanswered at its cheapest checks: random bytes, a valid
//                      header with garbage after it, truncated real requests; from many source ports.
//   BadSignatureFlood  well-formed DIRECT COMMUNICATION REQUESTs with a genuine certificate and a fresh Nonce_1
//                      but a corrupted SIGN-Source UE: each passes every cheap check, costs the relay a signature
//                      verification and is answered with REJECT #6, which the flood counts.
// Both send with non-blocking sockets on the caller's io_context (one thread, no locks).
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <deque>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "load/options.hpp"
#include "load/report.hpp"
#include "protocol/node.hpp"

namespace u2u::load {

// A steady rate from a timer's ticks: how many datagrams are due, never more than 50 ms' worth at once when the
// event loop fell behind.
class Pacer {
 public:
  explicit Pacer(double per_second) : per_second_(per_second) {}
  void start(MonoTime now) { last_ = now; }
  // Adds what became due since the last call.
  void tick(MonoTime now);
  // Takes one datagram's worth; false when none is due.
  bool take();

 private:
  double per_second_;
  double budget_ = 0;
  MonoTime last_{};
};

// Seed step 1 as a source sends it: the request for `options`' target from `party`, signed, in a datagram to the
// relay.
Bytes signed_request_datagram(const protocol::LocalParty& party, const Options& options, const wire::Nonce& nonce_1);

class JunkFlood {
 public:
  // `real_request`: a genuine request datagram, whose truncations are part of the junk.
  JunkFlood(boost::asio::io_context& io, const Options& options, const Bytes& real_request, std::uint64_t seed);
  Status open();
  void start();
  void stop();
  void fill(Report& report) const;
  std::size_t sent() const { return sent_; }

 private:
  void tick();

  boost::asio::io_context& io_;
  const Options& options_;
  std::vector<std::unique_ptr<boost::asio::ip::udp::socket>> sockets_;
  std::vector<Bytes> pool_;  // junk made at start, sent round-robin
  boost::asio::steady_timer timer_;
  boost::asio::ip::udp::endpoint relay_;
  Pacer pacer_;
  std::size_t next_ = 0;
  std::size_t sent_ = 0;
  std::size_t not_sent_ = 0;
  bool running_ = false;
};

class BadSignatureFlood {
 public:
  BadSignatureFlood(boost::asio::io_context& io, const Options& options, protocol::LocalParty party,
                    std::uint64_t seed);
  Status open();
  void start();
  void stop();
  void fill(Report& report) const;
  std::size_t sent() const { return sent_; }

 private:
  struct Socket {
    std::unique_ptr<boost::asio::ip::udp::socket> socket;
    wire::Layer2Id layer2_id = 0;
    double tokens = 0;  // the relay's token bucket for this address, as the flood models it
    MonoTime refilled{};
  };
  using DigestKey = std::uint64_t;  // the first octets of the request digest, which the REJECT carries

  void tick();
  void receive(Socket& s);
  void send_more(MonoTime now);
  bool send_one(MonoTime now);
  void expire(MonoTime now);

  boost::asio::io_context& io_;
  const Options& options_;
  protocol::LocalParty party_;
  std::mt19937_64 rng_;
  wire::DirectCommunicationRequest request_;  // Nonce_1 renewed for each
  wire::Signature corrupted_{};               // a genuine SIGN-Source UE of another request, one bit flipped each time
  std::vector<std::unique_ptr<Socket>> sockets_;
  boost::asio::steady_timer timer_;
  boost::asio::ip::udp::endpoint relay_;
  std::array<std::uint8_t, 2048> buffer_{};
  std::unordered_map<DigestKey, MonoTime> outstanding_;
  std::deque<std::pair<MonoTime, DigestKey>> sent_order_;
  Pacer pacer_;  // unused with --bad-signature-rate max
  std::size_t next_ = 0;
  std::size_t sent_ = 0;
  std::size_t unanswered_ = 0;
  std::map<int, std::size_t> rejects_by_cause_;
  std::vector<std::int64_t> reject_us_;
  bool running_ = false;
};

}  // namespace u2u::load
