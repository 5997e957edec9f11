#include "daemon/peer_names.hpp"

#include <memory>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "protocol/events.hpp"
#include "transport/udp_runner.hpp"

namespace u2u::daemon {

PeerNames::Resolver PeerNames::system(boost::asio::io_context& io) {
  return [&io](const std::string& host, std::uint16_t port, Done done) {
    using boost::asio::ip::udp;
    auto resolver = std::make_shared<udp::resolver>(io);
    resolver->async_resolve(
        host, std::to_string(port), udp::resolver::numeric_service,
        [resolver, done = std::move(done)](const boost::system::error_code& ec, udp::resolver::results_type results) {
          std::vector<Endpoint> addresses;
          if (!ec) {
            for (const auto& r : results) addresses.push_back(transport::from_asio(r.endpoint()));
          }
          done(std::move(addresses), ec ? ec.message() : std::string());
        });
  };
}

PeerNames::PeerNames(logging::EventLog& log, Resolver resolver, bool v6)
    : log_(log), resolver_(std::move(resolver)), v6_(v6) {}

std::size_t PeerNames::add(std::string key, std::string host, std::uint16_t port) {
  peers_.push_back(Peer{std::move(key), std::move(host), port, std::nullopt, false});
  return peers_.size() - 1;
}

void PeerNames::refresh(std::function<void(std::size_t)> changed, std::function<void()> done) {
  if (peers_.empty()) {
    if (done) done();
    return;
  }
  auto remaining = std::make_shared<std::size_t>(peers_.size());
  auto on_changed = std::make_shared<std::function<void(std::size_t)>>(std::move(changed));
  auto on_done = std::make_shared<std::function<void()>>(std::move(done));
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    resolver_(peers_[i].host, peers_[i].port,
              [this, i, remaining, on_changed, on_done](std::vector<Endpoint> addresses, std::string error) {
                answered(i, addresses, error, *on_changed);
                if (--*remaining == 0 && *on_done) (*on_done)();
              });
  }
}

void PeerNames::answered(std::size_t i, const std::vector<Endpoint>& addresses, const std::string& error,
                         const std::function<void(std::size_t)>& changed) {
  Peer& p = peers_[i];
  std::optional<Endpoint> found;
  for (const auto& a : addresses) {
    if (a.v6 == v6_) {
      found = a;
      break;
    }
  }
  if (!found) {
    if (p.failing) return;
    p.failing = true;
    std::string reason = !error.empty()      ? error
                         : addresses.empty() ? std::string("no address")
                                             : std::string("no ") + (v6_ ? "IPv6" : "IPv4") +
                                                   " address (this daemon's socket is " + (v6_ ? "IPv6" : "IPv4") + ")";
    log_.emit(protocol::event(protocol::Level::kWarn, "peer_unresolved")
                  .with("key", p.key)
                  .with("host", p.host)
                  .with("reason", std::move(reason))
                  .with("using", p.endpoint ? p.endpoint->to_string() : std::string("none: no peer yet")));
    return;
  }
  const bool is_new = p.endpoint != found;
  if (!is_new && !p.failing) return;
  auto e = protocol::event(protocol::Level::kInfo, "peer_resolved")
               .with("key", p.key)
               .with("host", p.host)
               .with("address", found->to_string());
  if (is_new && p.endpoint) e.with("previous", p.endpoint->to_string());
  log_.emit(e);
  p.failing = false;
  p.endpoint = found;
  if (is_new && changed) changed(i);
}

}  // namespace u2u::daemon
