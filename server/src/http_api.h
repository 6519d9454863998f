// What ferry-server answers to a whole request: the /v1 routes (push, pull,
// stats, health, ready, preflights), authentication, CORS, gzip bodies both
// ways and, with --static, the app's files. No sockets: the HTTP sessions
// (http_session.h) read requests, hand them here on the request pool and
// write the answers; /v1/live streams are the sessions' own.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "admin_credential.h"
#include "cors.h"
#include "ferry/status.h"
#include "live_streams.h"
#include "metrics.h"
#include "static_files.h"
#include "sync_service.h"
#include "tokens.h"

namespace ferry::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// The JSON type of every API answer.
inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";

// An answer in the protocol's error form ({"error":{"code":..., ...}}).
[[nodiscard]] HttpResponse ErrorResponse(int status, ErrorCode code, std::string_view message);

// Writes the request log's line for one answer to stderr: method, path,
// status and size, never a header (they hold the token).
void LogRequest(std::string_view method, std::string_view target, int status, std::size_t bytes,
                std::string_view note = "");

// /metrics, for the operator's credential (--metrics-token-file).
struct MetricsEndpoint {
  Metrics& metrics;
  std::string bearer_token;  // what the scraper sends as "Authorization: Bearer ..."
};

class HttpApi {
 public:
  // Every reference must outlive the HttpApi; `static_files` may be null,
  // and so may `admin` (then /v1/admin/* is 404: no --admin-token-file).
  // With `metrics`, every answer is counted and /metrics serves them.
  HttpApi(SyncService& service, const TokenTable& tokens, const CorsPolicy& cors,
          StaticFiles* static_files, const LiveStreams& live, std::size_t max_body_bytes,
          const AdminCredential* admin = nullptr, const MetricsEndpoint* metrics = nullptr);

  // The answer to a complete request, CORS headers included. Request-pool
  // threads only: it may block on the database or on reading a file. Never
  // throws.
  [[nodiscard]] HttpResponse Handle(const HttpRequest& request) const;

  // The user a request's bearer token names. Any thread (never blocks).
  [[nodiscard]] std::optional<std::string> Authenticate(const HttpRequest& request) const;

  // Adds the headers every answer to `request` carries (CORS on /v1/*, and
  // nosniff). For answers made outside Handle: refusals and live streams.
  // Any thread.
  void Decorate(const HttpRequest& request, http::response_header<>& response) const;

  // Counts a refusal the session made itself (Metrics::CountRefusal);
  // `request` is null when its head was never read whole. Any thread.
  void CountRefusal(const HttpRequest* request, int status) const;

  // The log's note on a request (a refused CORS origin), or empty.
  [[nodiscard]] std::string LogNote(const HttpRequest& request) const;

 private:
  [[nodiscard]] HttpResponse Route(const HttpRequest& request) const;
  // `target`: the /v1 exchange as the SyncService knows it (an admin push
  // is a push to /v1/push for the user its path names).
  [[nodiscard]] HttpResponse Push(const HttpRequest& request, const std::string& user,
                                  std::string_view target) const;
  [[nodiscard]] HttpResponse Exchange(const HttpRequest& request, const std::string& user,
                                      std::string_view body, std::string_view target) const;
  [[nodiscard]] HttpResponse Admin(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse Stats(const HttpRequest& request, const std::string& user) const;
  [[nodiscard]] HttpResponse Ready() const;
  [[nodiscard]] HttpResponse StaticFile(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse MetricsPage(const HttpRequest& request) const;

  SyncService& service_;
  const TokenTable& tokens_;
  const CorsPolicy& cors_;
  StaticFiles* static_files_;
  const LiveStreams& live_;
  const std::size_t max_body_bytes_;
  const AdminCredential* admin_;
  const MetricsEndpoint* metrics_;
};

}  // namespace ferry::server
