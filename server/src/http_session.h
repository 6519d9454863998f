// One client connection of ferry-server, plain or TLS: reads requests within
// the limits of http_limits.h, hands each to the request pool (HttpApi), writes
// the answers, keeps the connection alive between requests, and turns a
// /v1/live request into a Server-Sent Events stream that costs a socket and
// a timer until the client goes away.
//
// Threading: a session runs on its own strand of the I/O context; only
// HttpApi::Handle runs on the request pool. Shutdown and pokes may come from
// any thread: they post to the strand.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http_api.h"
#include "http_limits.h"
#include "live_streams.h"
#include "session_registry.h"

namespace ferry::server {

// What every session shares; outlives them all.
struct SessionContext {
  const HttpLimits& limits;
  const HttpApi& api;
  LiveStreams& live;
  boost::asio::thread_pool& pool;
  SessionRegistry& registry;
  bool log = true;
};

// Serves `socket` (an accepted connection on its own strand) until either
// side closes it. With `tls`, a TLS handshake comes first.
void StartHttpSession(boost::asio::ip::tcp::socket socket, SessionContext& context);
void StartHttpsSession(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
                       SessionContext& context);

}  // namespace ferry::server
