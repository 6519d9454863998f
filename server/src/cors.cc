#include "cors.h"

#include <algorithm>
#include <cctype>

namespace ferry::server {
namespace {

// The request headers the clients send beyond the CORS-safelisted ones: the
// shared engine host builds them (platform/src/engine_host.cc, EngineHost::
// Build) and the browser transport sends them as built. A header added
// there must be added here, or cross-origin browsers refuse the request.
// An app's own headers are added with --cors-allow-header.
constexpr std::string_view kAllowedHeaders =
    "Authorization, Content-Type, Content-Encoding, Ferry-Protocol";
constexpr std::string_view kAllowedMethods = "GET, POST";
// Chromium caps the preflight cache at two hours; Firefox allows a day.
constexpr std::string_view kMaxAgeSeconds = "7200";
// The client honours Retry-After (429 and 503); a script on another origin
// can read only response headers that are exposed.
constexpr std::string_view kExposedHeaders = "Retry-After";

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// Whether `list` (a comma-separated header value) holds `name`, ignoring case.
bool ListHas(std::string_view list, std::string_view name) {
  const std::string wanted = Lower(name);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (Lower(item) == wanted) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool IsApiPath(std::string_view path) {
  return path.rfind("/v1/", 0) == 0;
}

std::optional<std::string> NormalizeAllowedOrigin(std::string_view origin) {
  std::string lower = Lower(origin);
  std::string_view authority = lower;
  if (authority.rfind("http://", 0) == 0) {
    authority.remove_prefix(7);
  } else if (authority.rfind("https://", 0) == 0) {
    authority.remove_prefix(8);
  } else {
    return std::nullopt;  // `*`, `null` and schemes browsers never send from a dev server
  }
  // A browser's Origin header is scheme://host[:port] exactly: with a path or
  // a trailing slash the entry would never match, so it is refused up front.
  if (authority.empty() || authority.find_first_of("/?#*@ \t") != std::string_view::npos) {
    return std::nullopt;
  }
  return lower;
}

std::string AddToVary(std::string_view vary, std::string_view name) {
  if (ListHas(vary, name)) return std::string(vary);
  if (vary.empty()) return std::string(name);
  return std::string(vary) + ", " + std::string(name);
}

bool IsAllowableHeaderName(std::string_view name) {
  constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kTokenPunctuation.find(c) != std::string_view::npos;
  });
}

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins,
                       std::vector<std::string> extra_headers)
    : allowed_origins_(std::move(allowed_origins)), allowed_headers_(kAllowedHeaders) {
  for (const std::string& name : extra_headers) {
    if (!ListHas(allowed_headers_, name)) allowed_headers_ += ", " + name;
  }
}

bool CorsPolicy::Allows(std::string_view origin) const {
  return !origin.empty() && std::find(allowed_origins_.begin(), allowed_origins_.end(), origin) !=
                                allowed_origins_.end();
}

HeaderList CorsPolicy::ResponseHeaders(std::string_view origin) const {
  if (!Allows(origin)) return {};
  return {{"Access-Control-Allow-Origin", std::string(origin)},
          {"Access-Control-Expose-Headers", std::string(kExposedHeaders)}};
}

HeaderList CorsPolicy::PreflightHeaders(std::string_view origin) const {
  if (!Allows(origin)) return {};
  return {{"Access-Control-Allow-Methods", std::string(kAllowedMethods)},
          {"Access-Control-Allow-Headers", allowed_headers_},
          {"Access-Control-Max-Age", std::string(kMaxAgeSeconds)}};
}

std::string CorsPolicy::RefusalNote(std::string_view method, std::string_view path,
                                    std::string_view origin) const {
  // Only preflights: browsers send Origin with same-origin POSTs too, which
  // need no CORS.
  if (method != "OPTIONS" || !IsApiPath(path) || origin.empty() || Allows(origin)) return "";
  return " (origin " + std::string(origin) + " not allowed: see --cors-origin)";
}

}  // namespace ferry::server
