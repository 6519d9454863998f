#include "server_settings.h"

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>

#include "cors.h"

namespace ferry::server {
namespace {

// A whole number, all of the text.
std::optional<std::size_t> Count(const std::string& text) {
  if (text.empty() || text[0] == '-') return std::nullopt;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return static_cast<std::size_t>(value);
}

// Seconds, fractions allowed ("0.5"), more than zero.
std::optional<std::chrono::milliseconds> Duration(const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 1e6) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

using Setter = std::function<bool(Settings&, const std::string&)>;

Setter Text(std::string Settings::*field) {
  return [field](Settings& settings, const std::string& value) {
    settings.*field = value;
    return true;
  };
}

bool SetCount(std::size_t& field, const std::string& value) {
  const std::optional<std::size_t> count = Count(value);
  if (count) field = *count;
  return count.has_value();
}

Setter Number(std::size_t Settings::*field) {
  return [field](Settings& settings, const std::string& value) {
    return SetCount(settings.*field, value);
  };
}

Setter Number(std::size_t HttpLimits::*field) {
  return [field](Settings& settings, const std::string& value) {
    return SetCount(settings.limits.*field, value);
  };
}

Setter Time(std::chrono::milliseconds HttpLimits::*field) {
  return [field](Settings& settings, const std::string& value) {
    const auto duration = Duration(value);
    if (duration) settings.limits.*field = *duration;
    return duration.has_value();
  };
}

bool SetPort(Settings& settings, const std::string& value) {
  const std::optional<std::size_t> port = Count(value);
  if (!port || *port > 65535) return false;
  settings.port = static_cast<int>(*port);
  return true;
}

bool AddCorsOrigin(Settings& settings, const std::string& value) {
  std::optional<std::string> origin = NormalizeAllowedOrigin(value);
  if (!origin) {
    std::cerr << "ferry-server: --cors-origin takes an exact origin such as "
                 "http://localhost:5173 (no path, no trailing slash, not *), not "
              << value << "\n";
    return false;
  }
  settings.cors_origins.push_back(std::move(*origin));
  return true;
}

bool AddCorsAllowHeader(Settings& settings, const std::string& value) {
  if (!IsAllowableHeaderName(value)) return false;
  settings.cors_allow_headers.push_back(value);
  return true;
}

// A duration with a unit, for spans an operator thinks of in days:
// "30d", "12h", "90m", "45s", or plain seconds.
bool SetTombstoneHorizon(Settings& settings, const std::string& value) {
  static const std::map<char, long long> kUnitSeconds = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  std::string number = value;
  long long unit = 1;
  if (!number.empty() && kUnitSeconds.contains(number.back())) {
    unit = kUnitSeconds.at(number.back());
    number.pop_back();
  }
  const std::optional<std::size_t> count = Count(number);
  if (!count || *count > 100ULL * 365 * 86400 / unit) return false;  // at most a century
  settings.tombstone_horizon = std::chrono::seconds(static_cast<long long>(*count) * unit);
  return true;
}

const std::map<std::string, Setter>& Flags() {
  static const std::map<std::string, Setter> flags = {
      {"--host", Text(&Settings::host)},
      {"--port", SetPort},
      {"--db", Text(&Settings::db)},
      {"--postgres", Text(&Settings::postgres)},
      {"--tokens", Text(&Settings::tokens)},
      {"--static", Text(&Settings::static_dir)},
      {"--tls-cert", Text(&Settings::tls_cert)},
      {"--tls-key", Text(&Settings::tls_key)},
      {"--cors-origin", AddCorsOrigin},
      {"--cors-allow-header", AddCorsAllowHeader},
      {"--max-batch", Number(&Settings::max_batch)},
      {"--threads", Number(&Settings::request_threads)},
      {"--max-body-bytes", Number(&HttpLimits::body_bytes)},
      {"--max-header-bytes", Number(&HttpLimits::header_bytes)},
      {"--max-header-count", Number(&HttpLimits::header_count)},
      {"--max-connections", Number(&HttpLimits::connections)},
      {"--max-live-per-user", Number(&HttpLimits::live_per_user)},
      {"--max-live-streams", Number(&HttpLimits::live_total)},
      {"--head-timeout", Time(&HttpLimits::head_timeout)},
      {"--request-timeout", Time(&HttpLimits::request_timeout)},
      {"--idle-timeout", Time(&HttpLimits::idle_timeout)},
      {"--shutdown-timeout", Time(&HttpLimits::shutdown_timeout)},
      // Working beside an existing backend.
      {"--admin-token-file", Text(&Settings::admin_token_file)},
      {"--webhook-url", Text(&Settings::webhook_url)},
      {"--webhook-token-file", Text(&Settings::webhook_token_file)},
      {"--webhook-ca-file", Text(&Settings::webhook_ca_file)},
      // Operations.
      {"--tombstone-horizon", SetTombstoneHorizon},
      {"--metrics-token-file", Text(&Settings::metrics_token_file)},
  };
  return flags;
}

}  // namespace

void PrintUsage() {
  std::cerr << "usage: ferry-server --tokens FILE [--db FILE | --postgres URL] [--host ADDR]\n"
               "                    [--port N] [--max-body-bytes N] [--max-batch N]\n"
               "                    [--tls-cert FILE --tls-key FILE] [--static DIR]\n"
               "                    [--cors-origin ORIGIN]... [--cors-allow-header NAME]...\n"
               "                    [--quiet] [--threads N]\n"
               "                    [--max-header-bytes N] [--max-header-count N]\n"
               "                    [--head-timeout S] [--request-timeout S] [--idle-timeout S]\n"
               "                    [--max-connections N] [--max-live-per-user N]\n"
               "                    [--max-live-streams N] [--shutdown-timeout S]\n"
               "                    [--admin-token-file FILE]\n"
               "                    [--webhook-url URL [--webhook-token-file FILE]\n"
               "                     [--webhook-ca-file FILE]]\n"
               "                    [--tombstone-horizon DURATION (30d, 12h, 90m, 45s)]\n"
               "                    [--metrics-token-file FILE]\n";
}

std::optional<Settings> ParseArguments(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--quiet") {
      settings.quiet = true;
      continue;
    }
    const auto setter = Flags().find(flag);
    if (setter == Flags().end() || i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (!setter->second(settings, value)) {
      std::cerr << "ferry-server: " << flag << " does not take " << value << "\n";
      return std::nullopt;
    }
  }
  if (settings.tokens.empty()) return std::nullopt;
  if (settings.tls_cert.empty() != settings.tls_key.empty()) return std::nullopt;  // both or none
  return settings;
}

}  // namespace ferry::server
