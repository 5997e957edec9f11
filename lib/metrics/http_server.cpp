#include "metrics/http_server.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <optional>

#include "metrics/constants.hpp"

namespace u2u::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
class Connection;
}  // namespace

struct HttpServer::Shared {
  Render render;
  std::size_t connections = 0;
  bool stopped = false;
  // Connections still waiting for their request, oldest first: at the cap, the oldest gives way to a new one, so
  // that clients holding connections open (slowloris) cannot lock a scraper out.
  std::list<std::weak_ptr<Connection>> waiting;
};

namespace {

// One connection: one request, one answer, then close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    ++shared_->connections;
    parser_.header_limit(static_cast<std::uint32_t>(kMaxRequestSize));
    parser_.body_limit(kMaxRequestSize);
  }
  ~Connection() {
    leave_waiting();
    --shared_->connections;
  }

  void start() {
    waiting_ = shared_->waiting.insert(shared_->waiting.end(), weak_from_this());
    stream_.expires_after(kRequestTimeout);  // for the whole request: a byte a second does not extend it
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  // Makes way for a new connection: its pending read ends (operation_aborted) and it closes.
  void evict() {
    leave_waiting();
    stream_.cancel();
  }

 private:
  void on_read(beast::error_code ec) {
    leave_waiting();
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || shared_->stopped) {
      return close();
    }
    if (ec) return answer(http::status::bad_request, "bad request\n", false);
    const auto& request = parser_.get();
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    if (target != kPath) return answer(http::status::not_found, "not found: the metrics are at /metrics\n", false);
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return answer(http::status::method_not_allowed, "method not allowed\n", false);
    }
    answer(http::status::ok, shared_->render(), request.method() == http::verb::head);
  }

  void leave_waiting() {
    if (waiting_) shared_->waiting.erase(*std::exchange(waiting_, std::nullopt));
  }

  void answer(http::status status, std::string body, bool head) {
    response_.emplace(status, 11);
    response_->set(http::field::server, "u2u-metrics");
    response_->set(http::field::connection, "close");
    response_->set(http::field::content_type,
                   status == http::status::ok ? std::string(kContentType) : std::string("text/plain; charset=utf-8"));
    if (status == http::status::method_not_allowed) response_->set(http::field::allow, "GET, HEAD");
    response_->body() = std::move(body);
    response_->prepare_payload();
    if (head) response_->body().clear();
    response_->keep_alive(false);
    stream_.expires_after(kWriteTimeout);
    serializer_.emplace(*response_);
    if (head) serializer_->split(true);
    const auto done = [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); };
    if (head) {
      http::async_write_header(stream_, *serializer_, done);
    } else {
      http::async_write(stream_, *serializer_, done);
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Shared> shared_;
  beast::flat_buffer buffer_{kMaxRequestSize};
  http::request_parser<http::string_body> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::optional<std::list<std::weak_ptr<Connection>>::iterator> waiting_;  // in shared_->waiting, until the request
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, Render render)
    : io_(io), acceptor_(io), retry_(io), shared_(std::make_shared<Shared>()) {
  shared_->render = std::move(render);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listen(const std::string& address_text, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(address_text, ec);
  if (ec) return make_error(Cause::kNone, "bind", "\"" + address_text + "\" is not a numeric address");
  const tcp::endpoint local(address, port);
  const auto fail = [&](const std::string& what) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return make_error(Cause::kNone, "bind",
                      "cannot " + what + " " + address_text + " port " + std::to_string(port) + ": " + ec.message());
  };
  if (acceptor_.open(local.protocol(), ec); ec) return fail("open a TCP socket for");
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail("set SO_REUSEADDR on");
  if (acceptor_.bind(local, ec); ec) return fail("bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  return {};
}

void HttpServer::start() { accept(); }

void HttpServer::stop() {
  shared_->stopped = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

std::uint16_t HttpServer::local_port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void HttpServer::accept() {
  acceptor_.async_accept([this, shared = shared_](boost::system::error_code ec, tcp::socket socket) {
    if (shared->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, say: try again a little later rather than spin.
      retry_.expires_after(kAcceptRetry);
      retry_.async_wait([this, shared](boost::system::error_code e) {
        if (!e && !shared->stopped) accept();
      });
      return;
    }
    if (shared->connections >= kMaxConnections) {
      // At the cap: the oldest connection still waiting for its request gives way; when every one is busy
      // answering, the new one is closed at once rather than queued.
      const auto oldest = shared->waiting.empty() ? nullptr : shared->waiting.front().lock();
      if (!oldest) {
        boost::system::error_code ignored;
        socket.close(ignored);
        accept();
        return;
      }
      oldest->evict();
    }
    std::make_shared<Connection>(std::move(socket), shared)->start();
    accept();
  });
}

}  // namespace u2u::metrics
