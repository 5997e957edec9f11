#include "load/socket.hpp"

#include <sys/resource.h>

#include "transport/udp_runner.hpp"

namespace u2u::load {

namespace asio = boost::asio;
using asio::ip::udp;

Result<std::unique_ptr<udp::socket>> open_socket(asio::io_context& io, const Options& options, std::size_t host) {
  Endpoint local;
  if (options.hosts_base) {
    local = *options.hosts_base;
    std::uint32_t a = (std::uint32_t{local.address[0]} << 24) | (std::uint32_t{local.address[1]} << 16) |
                      (std::uint32_t{local.address[2]} << 8) | local.address[3];
    a += static_cast<std::uint32_t>(host);
    for (int i = 0; i < 4; ++i) local.address[i] = static_cast<std::uint8_t>(a >> (24 - 8 * i));
  } else if (options.bind) {
    local = *options.bind;
  } else {
    local.v6 = options.relay.v6;  // the unspecified address of the relay's family
  }
  local.port = 0;
  auto socket = std::make_unique<udp::socket>(io);
  boost::system::error_code ec;
  const udp::endpoint ep = transport::to_asio(local);
  socket->open(ep.protocol(), ec);
  if (!ec) socket->bind(ep, ec);
  if (!ec) socket->non_blocking(true, ec);
  if (ec) return make_error(Cause::kNone, "socket", "cannot bind UDP " + local.to_string() + ": " + ec.message());
  return socket;
}

Result<Endpoint> resolve_relay(asio::io_context& io, const Options& options) {
  udp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results =
      resolver.resolve(options.relay_host, std::to_string(options.relay.port), udp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return make_error(Cause::kNone, "resolve",
                      "cannot resolve " + options.relay_host + ": " + (ec ? ec.message() : "no address"));
  }
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) return transport::from_asio(r.endpoint());
  }
  return transport::from_asio(results.begin()->endpoint());
}

Status raise_file_limit(std::size_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    return make_error(Cause::kNone, "usage",
                      "this run needs " + std::to_string(needed) +
                          " file descriptors (one socket per source and "
                          "flood address); the limit is " +
                          std::to_string(limit.rlim_cur) + " (raise the hard limit: ulimit -Hn)");
  }
  return {};
}

}  // namespace u2u::load
