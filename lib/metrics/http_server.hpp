#pragma once
// The metrics endpoint: HTTP/1.1 with Boost.Beast on the daemon's own io_context (one thread, asynchronous only, so a
// slow scraper never delays a handshake). GET /metrics answers the exposition text; another path is a 404, another
// method a 405, an unparsable or oversize request a 400; every answer closes the connection. Each connection has a
// deadline for its request and one for the answer, and there are at most kMaxConnections: beyond, the oldest one still
// waiting for its request makes way (constants.hpp).
#include <utility>  // before Asio under g++ 12

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"

namespace u2u::metrics {

class HttpServer {
 public:
  using Render = std::function<std::string()>;
  HttpServer(boost::asio::io_context& io, Render render);
  ~HttpServer();

  // Binds and listens on a numeric address; the error carries the system's reason.
  Status listen(const std::string& address, std::uint16_t port);
  void start();
  void stop();
  std::uint16_t local_port() const;

  struct Shared;  // what connections share with the server (outlives it while they run)

 private:
  void accept();
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace u2u::metrics
