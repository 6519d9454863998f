// HttpTestServer: a small HTTP/1.1 server on loopback for the test doubles
// that stand where a real server would (the fault proxy, the webhook
// receiver), on Boost.Beast + Asio like ferry-server. Plain HTTP, or HTTPS
// with a certificate and key. Test-only.
//
// A thread per connection, with blocking reads and writes: a handler may take
// its time (hold a request for seconds, wait for the test) while other
// connections are served, which is what these doubles are for. Kept-alive
// connections are served request after request; bodies reach the handler as
// sent (a gzip body stays gzip).
//
// Threading: the handler runs on the connection threads, several at once.
// The destructor stops accepting, ends idle connections, and waits for
// handlers in progress to return.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/http_headers.h"

namespace ferry::testing {

struct HttpTestRequest {
  std::string method;
  std::string target;  // as sent: path and query
  HttpHeaders headers;
  std::string body;

  std::string header(const std::string& name) const { return HeaderValue(headers, name); }
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
};

struct HttpTestReply {
  int status = 200;
  HttpHeaders headers;
  std::string body;
};

class HttpTestServer {
 public:
  using Handler = std::function<HttpTestReply(const HttpTestRequest&)>;

  // Serves HTTPS when `certificate` and `key` (PEM files) are given; throws
  // when they cannot be loaded (the test fails at once, not at the first
  // handshake).
  explicit HttpTestServer(Handler handler, const std::string& certificate = "",
                          const std::string& key = "")
      : handler_(std::move(handler)) {
    if (!certificate.empty()) {
      tls_.emplace(boost::asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(certificate);
      tls_->use_private_key_file(key, boost::asio::ssl::context::pem);
    }
    const tcp::endpoint loopback(boost::asio::ip::address_v4::loopback(), 0);
    acceptor_.open(loopback.protocol());
    acceptor_.bind(loopback);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { Accept(); });
  }

  ~HttpTestServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      // Wakes the blocked accept() and every blocked read: shutdown(2) on the
      // descriptors, which, unlike closing the Asio objects, is safe while
      // another thread uses them.
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (int connection : open_connections_)
        ::shutdown(connection, SHUT_RDWR);
    }
    accepting_.join();
    for (std::thread& connection : connections_)
      connection.join();
  }
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_.has_value(); }
  // How many connections were accepted so far.
  int connections() const { return connections_accepted_.load(); }
  // Ends each connection right after its answer without announcing it (no
  // "Connection: close"), as a server whose keep-alive timeout ran out
  // does: the client finds out when it sends the next request.
  void CloseAfterEachAnswer(bool close) { close_after_answer_ = close; }

 private:
  using tcp = boost::asio::ip::tcp;

  void Accept() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code error;
      acceptor_.accept(socket, error);
      if (error) {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        // Out of descriptors, say: try again after a pause, not in a busy loop.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      ++connections_accepted_;
      connections_.emplace_back(
          [this, connection = std::move(socket)]() mutable { Serve(std::move(connection)); });
    }
  }

  void Serve(tcp::socket socket) {
    const int descriptor = socket.native_handle();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      open_connections_.insert(descriptor);
    }
    if (tls_) {
      boost::asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
      boost::system::error_code error;
      stream.handshake(boost::asio::ssl::stream_base::server, error);
      // No TLS close_notify at the end: the answers carry their length, and
      // waiting for the peer's close_notify could hang the thread.
      if (!error) Exchange(stream);
    } else {
      Exchange(socket);
    }
    // Before the socket closes, so the destructor never shuts down a
    // descriptor number that has been reused.
    std::lock_guard lock(mutex_);
    open_connections_.erase(descriptor);
  }

  // Requests and answers on one connection until either side ends it.
  template <class Stream>
  void Exchange(Stream& stream) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request_parser<http::string_body> parser;
      // No limit: a test double takes whatever the test sends.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      boost::system::error_code error;
      http::read(stream, buffer, parser, error);
      if (error) return;
      const http::request<http::string_body>& message = parser.get();
      HttpTestRequest request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      for (const auto& field : message)
        request.headers.emplace(std::string(field.name_string()), std::string(field.value()));
      request.body = message.body();
      // Decided before the handler sees the request: a test that switches
      // closing on once the handler has seen one must not race this thread
      // into closing that request's connection too.
      const bool close_after = close_after_answer_;
      const HttpTestReply reply = handler_(request);
      http::response<http::string_body> response;
      response.version(11);
      response.result(static_cast<unsigned>(reply.status));
      for (const auto& [name, value] : reply.headers)
        response.insert(name, value);
      response.body() = reply.body;
      response.keep_alive(message.keep_alive());
      response.prepare_payload();
      http::write(stream, response, error);
      if (error || !response.keep_alive() || close_after) return;
    }
  }

  Handler handler_;
  boost::asio::io_context io_;  // for the sockets only: all I/O here is blocking
  tcp::acceptor acceptor_{io_};
  std::optional<boost::asio::ssl::context> tls_;
  int port_ = 0;
  std::thread accepting_;
  std::vector<std::thread> connections_;  // written by the accept thread until it is joined
  std::mutex mutex_;
  bool stopping_ = false;
  std::set<int> open_connections_;  // descriptors of the connections being served
  std::atomic<int> connections_accepted_{0};
  std::atomic<bool> close_after_answer_{false};
};

}  // namespace ferry::testing
