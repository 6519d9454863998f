// ferry-server: the reference sync server. Boost.Beast over Asio for HTTP
// (http_server_beast.h), a SyncService for the semantics of docs/PROTOCOL.md
// over its storage (sync_service.h), and the rules of tokens, CORS and
// static files beside them. server_settings.h has the flags.
//
// --port 0 picks a free port; the first line on stdout says which:
//   ferry-server listening on http://127.0.0.1:PORT   (https:// with --tls-cert)
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "admin_credential.h"
#include "cors.h"
#include "http_api.h"
#include "http_server_beast.h"
#include "live_streams.h"
#include "metrics.h"
#include "secret_file.h"
#include "server_settings.h"
#include "static_files.h"
#include "sync_service.h"
#include "tokens.h"
#include "webhook_worker.h"

namespace ferry::server {
namespace {

int Fail(const Status& status) {
  std::cerr << "ferry-server: " << status.ToString() << "\n";
  return 2;
}

Result<std::unique_ptr<SyncService>> OpenService(const Settings& settings) {
  StorageSettings storage{settings.db, settings.postgres, {}};
  storage.limits.max_body_bytes = settings.limits.body_bytes;
  storage.limits.max_mutations_per_push = settings.max_batch;
  storage.tombstone_horizon = settings.tombstone_horizon;
  storage.webhook = !settings.webhook_url.empty();
  return OpenSyncService(storage);
}

// The operator's metrics credential: the file's first line, trimmed.
Result<std::string> LoadMetricsToken(const std::string& path) {
  std::ifstream file(path);
  std::string token;
  if (!file || !std::getline(file, token)) {
    return Status(ErrorCode::kIo, "cannot read --metrics-token-file " + path);
  }
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!token.empty() && blank(token.back()))
    token.pop_back();
  while (!token.empty() && blank(token.front()))
    token.erase(token.begin());
  if (token.size() < 16) {
    return Status(ErrorCode::kInvalidArgument,
                  "--metrics-token-file must hold a token of 16 characters or more");
  }
  return token;
}

int Run(const Settings& settings) {
  auto tokens = TokenTable::Load(settings.tokens);
  if (!tokens.ok()) return Fail(tokens.status());
  // A web app served by its own sync server talks to it same-origin, so no
  // CORS is needed.
  std::optional<StaticFiles> static_files;
  if (!settings.static_dir.empty()) {
    if (!std::filesystem::is_directory(settings.static_dir)) {
      return Fail(Status(ErrorCode::kIo, "cannot serve " + settings.static_dir));
    }
    static_files.emplace(settings.static_dir);
  }
  // The app backend's own credential, checked against the users' tokens.
  std::optional<AdminCredential> admin;
  if (!settings.admin_token_file.empty()) {
    auto loaded = AdminCredential::Load(settings.admin_token_file, *tokens);
    if (!loaded.ok()) return Fail(loaded.status());
    admin = *loaded;
  }
  auto service = OpenService(settings);
  if (!service.ok()) return Fail(service.status());
  LiveStreams live(settings.limits.live_per_user, settings.limits.live_total);
  // The outbound webhook: its own thread, reading the service's database.
  std::unique_ptr<DeliveryLog> delivery_log;
  std::unique_ptr<WebhookSender> webhook_sender;
  std::unique_ptr<WebhookWorker> webhook;
  if (!settings.webhook_url.empty()) {
    WebhookTarget target{settings.webhook_url, "", settings.webhook_ca_file};
    if (!settings.webhook_token_file.empty()) {
      auto token = ReadSecretFile(settings.webhook_token_file);
      if (!token.ok()) return Fail(token.status());
      target.bearer_token = std::move(*token);
    }
    auto sender = NewWebhookSender(std::move(target));
    if (!sender.ok()) return Fail(sender.status());
    webhook_sender = std::move(*sender);
    delivery_log = (*service)->OpenDeliveryLog();
    WebhookSettings webhook_settings;
    webhook_settings.log = !settings.quiet;
    webhook = std::make_unique<WebhookWorker>(*delivery_log, *webhook_sender, webhook_settings);
  }
  (*service)->SetChangeListener([&live, &webhook](const std::string& user) {
    live.Poke(user);
    if (webhook) webhook->Notify(user);
  });
  const CorsPolicy cors(settings.cors_origins, settings.cors_allow_headers);
  // /metrics with the operator's credential.
  std::optional<Metrics> metrics;
  std::optional<MetricsEndpoint> metrics_endpoint;
  if (!settings.metrics_token_file.empty()) {
    auto token = LoadMetricsToken(settings.metrics_token_file);
    if (!token.ok()) {
      (*service)->Stop();
      return Fail(token.status());
    }
    SyncService& sync = **service;
    metrics.emplace(
        MetricsGauges{[&live] { return live.open(); }, [&sync] { return sync.Statistics(); }});
    metrics_endpoint.emplace(MetricsEndpoint{*metrics, std::move(*token)});
  }
  const HttpApi api(**service, *tokens, cors, static_files ? &*static_files : nullptr, live,
                    settings.limits.body_bytes, admin ? &*admin : nullptr,
                    metrics_endpoint ? &*metrics_endpoint : nullptr);

  HttpServerOptions options;
  options.host = settings.host;
  options.port = settings.port;
  options.tls_cert = settings.tls_cert;
  options.tls_key = settings.tls_key;
  options.limits = settings.limits;
  options.request_threads = settings.request_threads;
  options.log = !settings.quiet;
  auto server = HttpServer::Listen(options, api, live);
  if (!server.ok()) {
    if (webhook) webhook->Stop();
    (*service)->Stop();
    return Fail(server.status());
  }
  std::printf("ferry-server listening on %s://%s:%d\n", (*server)->tls() ? "https" : "http",
              settings.host.c_str(), (*server)->port());
  std::fflush(stdout);
  (*server)->Run();    // until SIGTERM or SIGINT, then drained
  (*service)->Stop();  // no poke after this, so the sessions may go
  // A delivery in flight is cut; its batch is sent again after a restart.
  if (webhook) webhook->Stop();
  return 0;
}

}  // namespace
}  // namespace ferry::server

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error code, not a death
  auto settings = ferry::server::ParseArguments(argc, argv);
  if (!settings) {
    ferry::server::PrintUsage();
    return 2;
  }
  return ferry::server::Run(*settings);
}
