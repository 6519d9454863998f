// Cross-origin requests to the sync API (/v1/*), for a web app served from
// another origin, as a dev server on another port is. Off unless origins are
// allowed (--cors-origin). Decisions only, no HTTP library types, so they move
// with the server to another HTTP stack.
//
// The rules:
// - Only /v1/* gets CORS headers; static files are served same-origin.
// - An allowed Origin (an exact match of scheme://host[:port]) is echoed in
//   Access-Control-Allow-Origin, never `*`, and never with
//   Access-Control-Allow-Credentials: the clients send a bearer token in
//   Authorization, not cookies, so no credentials mode is needed.
// - Any other Origin, or none, gets no CORS headers, so the browser refuses
//   the answer. A preflight from it still gets the plain 204 that every
//   OPTIONS on /v1/* gets (with or without the flag): the browser then reports
//   the missing Access-Control-Allow-Origin, which names the real problem,
//   where a 404 or 403 would suggest a wrong URL or a wrong token.
// - With origins allowed, every /v1/* answer says `Vary: Origin`, so a cache
//   never hands one origin's answer to another.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Whether `path` belongs to the sync API, the only part CORS applies to.
[[nodiscard]] bool IsApiPath(std::string_view path);

// `origin` as an allow-list entry: an http or https origin with no path, in
// lower case as browsers send it; nullopt when it is not one (`*`, `null`, a
// URL with a path or a trailing slash).
[[nodiscard]] std::optional<std::string> NormalizeAllowedOrigin(std::string_view origin);

// `vary` (a Vary header value, maybe empty) with `name` added once.
[[nodiscard]] std::string AddToVary(std::string_view vary, std::string_view name);

// Immutable after construction, so any worker thread may read it.
class CorsPolicy {
 public:
  // `allowed_origins` must hold normalized origins (NormalizeAllowedOrigin);
  // `extra_headers`, request headers allowed beside the ones Ferry's clients
  // always send (an app's custom headers, e.g. X-API-Key), names checked by
  // IsAllowableHeaderName.
  explicit CorsPolicy(std::vector<std::string> allowed_origins,
                      std::vector<std::string> extra_headers = {});

  [[nodiscard]] bool enabled() const { return !allowed_origins_.empty(); }
  [[nodiscard]] bool Allows(std::string_view origin) const;

  // The headers every answer on /v1/* to a request with this Origin header
  // (empty if none) carries, except Vary (see vary_origin()).
  [[nodiscard]] HeaderList ResponseHeaders(std::string_view origin) const;
  // The further headers of a preflight answer; empty for a refused origin.
  [[nodiscard]] HeaderList PreflightHeaders(std::string_view origin) const;
  // Whether /v1/* answers must say `Vary: Origin`.
  [[nodiscard]] bool vary_origin() const { return enabled(); }
  // For the request log: why a browser will refuse a preflight's answer
  // (" (origin ... not allowed: see --cors-origin)"), or empty.
  [[nodiscard]] std::string RefusalNote(std::string_view method, std::string_view path,
                                        std::string_view origin) const;

 private:
  std::vector<std::string> allowed_origins_;
  std::string allowed_headers_;  // the Access-Control-Allow-Headers value
};

// Whether `name` may be added to the allowed request headers
// (--cors-allow-header): an HTTP token (RFC 9110), so it cannot break the
// header list it joins.
[[nodiscard]] bool IsAllowableHeaderName(std::string_view name);

// What an OPTIONS request on /v1/* gets with or without CORS: 204 and the
// methods the API has, so a preflight never looks like a missing endpoint.
inline constexpr int kPreflightStatus = 204;
inline constexpr std::string_view kApiMethods = "GET, POST, OPTIONS";

}  // namespace ferry::server
