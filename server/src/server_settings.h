// ferry-server's command line: every flag, its default and its check.
// server/README.md lists them for operators.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "http_limits.h"

namespace ferry::server {

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db = "ferry-server.db";
  std::string postgres;  // a libpq connection URL; when set, PostgreSQL instead of --db
  std::string tokens;
  std::size_t max_batch = 1000;
  bool quiet = false;
  std::string static_dir;  // files served at / (a web app next to its sync server)
  std::string tls_cert;    // PEM certificate chain; with tls_key, serve HTTPS
  std::string tls_key;     // PEM private key
  // Origins (scheme://host[:port]) whose pages may call /v1/* cross-origin.
  std::vector<std::string> cors_origins;
  std::vector<std::string> cors_allow_headers;  // beside the ones the clients always send
  HttpLimits limits;                            // --max-body-bytes among them
  std::size_t request_threads = 0;  // --threads; 0 (the default): one per core, at least 2

  // Working beside an existing backend (docs/SERVER.md).
  std::string admin_token_file;  // the secret of /v1/admin/*; empty: no admin endpoint
  // The http(s) URL applied changes are POSTed to; empty: no webhook.
  std::string webhook_url;
  // A secret sent to the webhook as "Authorization: Bearer"; empty: none.
  std::string webhook_token_file;
  // PEM CA certificates the webhook's certificate is checked against,
  // instead of the system's store (a private CA); empty: the system's.
  std::string webhook_ca_file;
  // --tombstone-horizon (30d, 12h, 90m, 45s or seconds): deletes older
  // than it lose their tombstones; 0 (the default) keeps them forever.
  std::chrono::milliseconds tombstone_horizon{0};
  // --metrics-token-file: a file holding the bearer token that may read
  // /metrics; without it there is no /metrics.
  std::string metrics_token_file;
};

// The settings, or nullopt (after a note on stderr for a value that is
// wrong rather than missing) when the command line is not valid.
[[nodiscard]] std::optional<Settings> ParseArguments(int argc, char** argv);
void PrintUsage();

}  // namespace ferry::server
