#include "http_api.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>

#include "ferry/gzip_zlib.h"
#include "ferry/json.h"
#include "ferry/protocol.h"
#include "gzip_body.h"

namespace ferry::server {
namespace {

// Below this, gzip's header and trailer outweigh what it saves.
constexpr std::size_t kCompressAbove = 1024;

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// The media type of a Content-Type value, without parameters, lower case.
std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ')
    type.remove_prefix(1);
  return Lower(type);
}

std::string_view View(boost::beast::string_view text) {
  return {text.data(), text.size()};
}

boost::beast::string_view BeastView(std::string_view text) {
  return {text.data(), text.size()};
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view PathOf(const HttpRequest& request) {
  return PathOf(View(request.target()));
}

std::string_view Header(const HttpRequest& request, http::field field) {
  const auto found = request.find(field);
  if (found == request.end()) return {};
  return View(found->value());
}

HttpResponse JsonResponse(const HttpRequest& request, int status, std::string body) {
  HttpResponse response{static_cast<http::status>(status), request.version()};
  if (body.size() > kCompressAbove && AcceptsGzip(Header(request, http::field::accept_encoding))) {
    if (std::optional<std::string> compressed = GzipZlib(body)) {
      response.set(http::field::content_encoding, "gzip");
      response.set(http::field::vary, "Accept-Encoding");
      body = std::move(*compressed);
    }  // else zlib is out of memory: sent as it is
  }
  response.set(http::field::content_type, BeastView(kJsonType));
  response.body() = std::move(body);
  return response;
}

HttpResponse Unauthenticated() {
  HttpResponse response =
      ErrorResponse(401, ErrorCode::kUnauthenticated, "missing or unknown bearer token");
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

HttpResponse NotFound() {
  return ErrorResponse(404, ErrorCode::kNotFound, "HTTP 404");
}

}  // namespace

HttpResponse ErrorResponse(int status, ErrorCode code, std::string_view message) {
  HttpResponse response;
  response.result(static_cast<unsigned>(status));
  response.set(http::field::content_type, BeastView(kJsonType));
  response.body() = EncodeErrorBody(code, message);
  return response;
}

void LogRequest(std::string_view method, std::string_view target, int status, std::size_t bytes,
                std::string_view note) {
  const std::string_view path = PathOf(target);
  // One fprintf per line: stderr is unbuffered, and each call is written whole.
  std::fprintf(stderr, "ferry-server: %.*s %.*s %d %zu bytes%.*s\n",
               static_cast<int>(method.size()), method.data(), static_cast<int>(path.size()),
               path.data(), status, bytes, static_cast<int>(note.size()), note.data());
}

HttpApi::HttpApi(SyncService& service, const TokenTable& tokens, const CorsPolicy& cors,
                 StaticFiles* static_files, const LiveStreams& live, std::size_t max_body_bytes,
                 const AdminCredential* admin, const MetricsEndpoint* metrics)
    : service_(service),
      tokens_(tokens),
      cors_(cors),
      static_files_(static_files),
      live_(live),
      max_body_bytes_(max_body_bytes),
      admin_(admin),
      metrics_(metrics) {}

std::optional<std::string> HttpApi::Authenticate(const HttpRequest& request) const {
  return tokens_.UserFor(Header(request, http::field::authorization));
}

HttpResponse HttpApi::Handle(const HttpRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  HttpResponse response;
  try {
    response = Route(request);
  } catch (const std::exception&) {  // out of memory, most likely: the server goes on
    response = ErrorResponse(500, ErrorCode::kInternal, "the server could not answer");
  }
  response.version(request.version());
  Decorate(request, response);
  if (metrics_ != nullptr) {
    metrics_->metrics.CountRequest(Metrics::RouteOf(PathOf(request)), response.result_int(),
                                   std::chrono::steady_clock::now() - started);
  }
  return response;
}

HttpResponse HttpApi::Route(const HttpRequest& request) const {
  const std::string_view path = PathOf(request);
  const http::verb method = request.method();
  if (method == http::verb::options && IsApiPath(path)) {
    // Every OPTIONS on /v1/* gets 204 and the API's methods, with or without
    // CORS, so a preflight never looks like a missing endpoint; Decorate
    // adds the rest for an allowed origin.
    HttpResponse response{http::status::no_content, request.version()};
    response.set(http::field::allow, BeastView(kApiMethods));
    return response;
  }
  const bool get = method == http::verb::get || method == http::verb::head;
  if (get && path == "/v1/health") return JsonResponse(request, 200, "{\"status\":\"ok\"}");
  if (get && path == "/v1/ready") return Ready();
  if (get && path == "/metrics" && metrics_ != nullptr) return MetricsPage(request);
  if (path.starts_with(kAdminPrefix)) return Admin(request);
  const bool push = method == http::verb::post && path == "/v1/push";
  const bool exchange =
      push || (get && (path == "/v1/pull" || path == "/v1/stats" || path == kLivePath));
  if (exchange) {
    std::optional<std::string> user = Authenticate(request);
    if (!user) return Unauthenticated();
    if (push) return Push(request, *user, View(request.target()));
    if (path == "/v1/stats") return Stats(request, *user);
    if (path == "/v1/pull") return Exchange(request, *user, "", View(request.target()));
    return NotFound();  // an authenticated /v1/live is the session's, never here
  }
  if (get && static_files_ != nullptr && !IsApiPath(path)) return StaticFile(request);
  return NotFound();
}

HttpResponse HttpApi::Push(const HttpRequest& request, const std::string& user,
                           std::string_view target) const {
  // The clients send JSON. Anything else (a multipart form, say) is refused
  // as such, not parsed, and not a 5xx that clients would retry forever.
  const std::string_view type = Header(request, http::field::content_type);
  if (!type.empty() && MediaType(type) != "application/json") {
    return ErrorResponse(415, ErrorCode::kInvalidArgument,
                         "push bodies are application/json, not " + MediaType(type));
  }
  const std::string encoding = Lower(Header(request, http::field::content_encoding));
  if (encoding.empty() || encoding == "identity") {
    return Exchange(request, user, request.body(), target);
  }
  if (encoding != "gzip") {
    return ErrorResponse(415, ErrorCode::kInvalidArgument,
                         "Content-Encoding " + encoding + " is not supported (gzip is)");
  }
  Result<std::string> body = InflateGzipBody(request.body(), max_body_bytes_);
  if (!body.ok()) {
    const bool too_large = body.status().code() == ErrorCode::kTooLarge;
    return ErrorResponse(too_large ? 413 : 400, body.status().code(), body.status().message());
  }
  return Exchange(request, user, *body, target);
}

HttpResponse HttpApi::Exchange(const HttpRequest& request, const std::string& user,
                               std::string_view body, std::string_view target) const {
  const std::string method(View(request.method_string()));
  ServerHttpResponse answer = service_.Handle(user, method, target, body);
  // The service answers 5xx only when storage failed (HandleServerRequest).
  if (answer.status >= 500 && metrics_ != nullptr) metrics_->metrics.CountDatabaseError();
  return JsonResponse(request, answer.status, std::move(answer.body));
}

// The app backend's writes: a push for the user the path names, with the
// admin secret (a user's token is refused like a wrong one). The change
// listener then pokes the user's streams as for a device's push.
HttpResponse HttpApi::Admin(const HttpRequest& request) const {
  if (admin_ == nullptr) return NotFound();  // not enabled: no door at all
  if (!admin_->Accepts(Header(request, http::field::authorization))) return Unauthenticated();
  const std::optional<std::string> user = AdminPushUser(PathOf(request));
  if (!user) return NotFound();
  if (request.method() != http::verb::post) {
    return ErrorResponse(405, ErrorCode::kInvalidArgument, "use POST");
  }
  return Push(request, *user, "/v1/push");
}

HttpResponse HttpApi::Stats(const HttpRequest& request, const std::string& user) const {
  ServerHttpResponse answer = service_.Handle(user, "GET", "/v1/stats", "");
  if (answer.status != 200) return JsonResponse(request, answer.status, std::move(answer.body));
  // The open streams are the HTTP layer's to count, not the storage's: the
  // calling user's only, as for the counters.
  Result<Json> statistics = ParseJson(answer.body);
  if (statistics.ok() && statistics->is_object()) {
    (*statistics)["liveListeners"] = live_.open(user);
    answer.body = DumpJson(*statistics);
  }
  return JsonResponse(request, 200, std::move(answer.body));
}

HttpResponse HttpApi::Ready() const {
  const Status ready = service_.CheckReady();
  if (ready.ok()) {
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, BeastView(kJsonType));
    response.body() = "{\"status\":\"ready\"}";
    return response;
  }
  if (metrics_ != nullptr) metrics_->metrics.CountDatabaseError();
  HttpResponse response =
      ErrorResponse(503, ErrorCode::kUnavailable, "not ready: " + ready.message());
  response.set(http::field::retry_after, "1");
  return response;
}

HttpResponse HttpApi::StaticFile(const HttpRequest& request) const {
  const std::optional<std::string> path = DecodeUrlPath(View(request.target()));
  if (!path) return ErrorResponse(400, ErrorCode::kInvalidArgument, "malformed URL path");
  StaticResponse answer = static_files_->Serve(
      {*path, Header(request, http::field::accept), Header(request, http::field::accept_encoding)});
  if (answer.status != 200) return NotFound();
  HttpResponse response{http::status::ok, request.version()};
  response.set(http::field::content_type, answer.content_type);
  response.set(http::field::cache_control, answer.cache_control);
  if (answer.vary_accept_encoding) response.set(http::field::vary, "Accept-Encoding");
  if (!answer.content_encoding.empty()) {
    response.set(http::field::content_encoding, answer.content_encoding);
  }
  response.body() = std::move(answer.body);
  return response;  // for HEAD the session sends the headers only
}

// The operator's credential, not a user's token: metrics show every
// user's traffic together. Compared in full whatever the first difference,
// so the time taken says nothing of the token.
HttpResponse HttpApi::MetricsPage(const HttpRequest& request) const {
  const std::string_view given = Header(request, http::field::authorization);
  const std::string expected = "Bearer " + metrics_->bearer_token;
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    difference |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  if (difference != 0) return Unauthenticated();
  HttpResponse response{http::status::ok, request.version()};
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.body() = metrics_->metrics.Render();
  return response;
}

void HttpApi::Decorate(const HttpRequest& request, http::response_header<>& response) const {
  // Browsers must never guess a type: an uploaded-looking file served as
  // text/plain must not run as a script or render as HTML.
  response.set("X-Content-Type-Options", "nosniff");
  const std::string_view path = PathOf(request);
  if (!cors_.enabled() || !IsApiPath(path)) return;
  const std::string_view origin = Header(request, http::field::origin);
  HeaderList headers = cors_.ResponseHeaders(origin);
  if (request.method() == http::verb::options) {
    HeaderList preflight = cors_.PreflightHeaders(origin);
    headers.insert(headers.end(), preflight.begin(), preflight.end());
  }
  for (const auto& [name, value] : headers)
    response.set(name, value);
  // One Vary header: a JSON answer may already vary by Accept-Encoding.
  const auto vary = response.find(http::field::vary);
  const std::string current = vary == response.end() ? std::string() : std::string(vary->value());
  response.set(http::field::vary, AddToVary(current, "Origin"));
}

void HttpApi::CountRefusal(const HttpRequest* request, int status) const {
  if (metrics_ == nullptr) return;
  metrics_->metrics.CountRefusal(request ? Metrics::RouteOf(PathOf(*request)) : "none", status);
}

std::string HttpApi::LogNote(const HttpRequest& request) const {
  return cors_.RefusalNote(View(request.method_string()), PathOf(request),
                           Header(request, http::field::origin));
}

}  // namespace ferry::server
