#include "http_server_beast.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <optional>
#include <thread>

#include "http_session.h"
#include "session_registry.h"

namespace ferry::server {
namespace {

namespace net = boost::asio;
using boost::system::error_code;
using net::ip::tcp;

// File descriptors the process keeps for itself (the database, the log,
// the listening socket, the signal pipe) beyond its connections.
constexpr rlim_t kReservedFiles = 64;
// After accept fails (out of file descriptors, say), it is retried after
// this pause instead of in a busy loop.
constexpr std::chrono::milliseconds kAcceptPause{100};

// The connection cap the process's file limit allows: the soft limit is
// raised to the hard one first.
std::size_t ConnectionCap(std::size_t wanted) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
    (void)getrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur <= kReservedFiles) return wanted;
  const auto allowed = static_cast<std::size_t>(files.rlim_cur - kReservedFiles);
  if (allowed < wanted) {
    std::fprintf(stderr,
                 "ferry-server: --max-connections lowered to %zu (the file limit is %llu)\n",
                 allowed, static_cast<unsigned long long>(files.rlim_cur));
  }
  return std::min(wanted, allowed);
}

std::size_t PoolSize(std::size_t wanted) {
  if (wanted > 0) return wanted;
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

Result<std::optional<net::ssl::context>> LoadTls(const HttpServerOptions& options) {
  if (options.tls_cert.empty()) return std::optional<net::ssl::context>();
  std::optional<net::ssl::context> tls(std::in_place, net::ssl::context::tls_server);
  tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  error_code error;
  tls->use_certificate_chain_file(options.tls_cert, error);
  if (!error) tls->use_private_key_file(options.tls_key, net::ssl::context::pem, error);
  if (error) {
    return Status(ErrorCode::kInvalidArgument, "cannot load the TLS certificate " +
                                                   options.tls_cert + " or key " + options.tls_key +
                                                   ": " + error.message());
  }
  return tls;
}

}  // namespace

struct HttpServer::State {
  State(const HttpServerOptions& options, const HttpApi& api, LiveStreams& live)
      : limits(options.limits),
        pool(PoolSize(options.request_threads)),
        registry(limits.connections),
        context{limits, api, live, pool, registry, options.log} {}

  void Accept();
  void OnAccepted(error_code error, tcp::socket socket);
  void Stop();

  HttpLimits limits;
  // Destroyed in reverse: the I/O context (and with it every session) goes
  // before the registry and the pool its sessions use.
  net::thread_pool pool;
  SessionRegistry registry;
  SessionContext context;
  std::optional<net::ssl::context> tls;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_pause{io};
  net::steady_timer drain_deadline{io};
  net::signal_set signals{io, SIGINT, SIGTERM};
  bool stopping = false;
};

void HttpServer::State::Accept() {
  acceptor.async_accept(net::make_strand(io), [this](error_code error, tcp::socket socket) {
    OnAccepted(error, std::move(socket));
  });
}

void HttpServer::State::OnAccepted(error_code error, tcp::socket socket) {
  if (stopping) return;
  if (error) {
    accept_pause.expires_after(kAcceptPause);
    accept_pause.async_wait([this](error_code waited) {
      if (!waited && !stopping) Accept();
    });
    return;
  }
  error_code ignored;
  // Answers go out in one write, but a live stream's events are small: no
  // waiting for the client's delayed ACK.
  socket.set_option(tcp::no_delay(true), ignored);
  if (!registry.HasRoom()) {
    socket.close(ignored);  // over --max-connections: the client may retry
  } else if (tls) {
    StartHttpsSession(std::move(socket), *tls, context);
  } else {
    StartHttpSession(std::move(socket), context);
  }
  Accept();
}

void HttpServer::State::Stop() {
  stopping = true;
  error_code ignored;
  acceptor.close(ignored);
  accept_pause.cancel();
  drain_deadline.expires_after(limits.shutdown_timeout);
  drain_deadline.async_wait([this](error_code error) {
    if (!error) io.stop();  // what is still open is cut
  });
  // A second signal cuts the drain short.
  signals.async_wait([this](error_code error, int) {
    if (!error) io.stop();
  });
  registry.ShutdownAll([this] {
    // The last session is gone: with these cancelled nothing keeps the I/O
    // context running, and Run returns.
    net::post(io, [this] {
      drain_deadline.cancel();
      signals.cancel();
    });
  });
}

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(const HttpServerOptions& options,
                                                       const HttpApi& api, LiveStreams& live) {
  HttpServerOptions capped = options;
  capped.limits.connections = ConnectionCap(options.limits.connections);
  auto state = std::make_unique<State>(capped, api, live);
  FERRY_ASSIGN_OR_RETURN(state->tls, LoadTls(options));
  error_code error;
  tcp::resolver resolver(state->io);
  const auto endpoints =
      resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, error);
  if (error || endpoints.empty()) {
    return Status(ErrorCode::kInvalidArgument, "cannot resolve " + options.host);
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& acceptor = state->acceptor;
  acceptor.open(endpoint.protocol(), error);
  // A restarted server takes its port back while old connections linger.
  if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
  if (error) {
    return Status(ErrorCode::kIo, "cannot listen on " + options.host + ":" +
                                      std::to_string(options.port) + ": " + error.message());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

int HttpServer::port() const {
  error_code ignored;
  return state_->acceptor.local_endpoint(ignored).port();
}

bool HttpServer::tls() const {
  return state_->tls.has_value();
}

void HttpServer::Run() {
  State& state = *state_;
  state.signals.async_wait([&state](error_code error, int) {
    if (!error) state.Stop();
  });
  state.Accept();
  state.io.run();  // until every session is gone after a signal, or the deadline
  state.signals.cancel();
  // Requests still in the pool finish (their answers go nowhere after a cut).
  state.pool.join();
}

}  // namespace ferry::server
