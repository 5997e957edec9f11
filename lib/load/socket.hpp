#pragma once
// The load tool's UDP sockets: one per simulated source and per flood address, non-blocking, bound to an
// ephemeral port of its own host address (--hosts), or of --bind (or any address of the relay's family).
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <memory>

#include "common/error.hpp"
#include "load/options.hpp"

namespace u2u::load {

// Socket number `host` (options.hosts_base + host with --hosts; else --bind or any address).
Result<std::unique_ptr<boost::asio::ip::udp::socket>> open_socket(boost::asio::io_context& io, const Options& options,
                                                                  std::size_t host);

// --relay NAME:PORT: the name's address now (its first IPv4 address, else its first); an error when it has none
// (a relay's container being replaced has no address for a moment).
Result<Endpoint> resolve_relay(boost::asio::io_context& io, const Options& options);

// Raises the soft limit on open files to the hard limit; an error when fewer than `needed` remain possible.
Status raise_file_limit(std::size_t needed);

}  // namespace u2u::load
