// ferry-server's HTTP server over Boost.Beast and Asio: one I/O thread runs
// every connection (accepting, reading, writing, live streams, timers), and
// a request pool sized to the cores runs the answers (HttpApi::Handle), so a
// slow database never stalls I/O and an open live stream costs a socket and
// a timer, not a thread. With a certificate and key it serves HTTPS.
#pragma once

#include <memory>
#include <string>

#include "ferry/status.h"
#include "http_api.h"
#include "http_limits.h"
#include "live_streams.h"

namespace ferry::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;       // 0: any free port
  std::string tls_cert;  // PEM certificate chain; with tls_key, HTTPS
  std::string tls_key;   // PEM private key
  HttpLimits limits;
  std::size_t request_threads = 0;  // 0: one per core, at least 2
  bool log = true;                  // one line per request on stderr
};

class HttpServer {
 public:
  // Binds the listening socket (the port is known from here on) and loads
  // the certificate. `api` and `live` must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> Listen(const HttpServerOptions& options,
                                                                  const HttpApi& api,
                                                                  LiveStreams& live);
  ~HttpServer();

  [[nodiscard]] int port() const;
  [[nodiscard]] bool tls() const;

  // Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
  // requests finish (for up to limits.shutdown_timeout), ends live streams
  // and returns. Call once, from the main thread.
  void Run();

 private:
  struct State;  // http_server_beast.cc: Asio's objects
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ferry::server
