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
#include <iostream>
#include <optional>

#include "admin_credential.h"
#include "cors.h"
#include "http_api.h"
#include "http_server_beast.h"
#include "live_streams.h"
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
  return OpenSyncService(storage);
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
    auto sender = NewCurlWebhookSender(std::move(target));
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
  const CorsPolicy cors(settings.cors_origins);
  const HttpApi api(**service, *tokens, cors, static_files ? &*static_files : nullptr, live,
                    settings.limits.body_bytes, admin ? &*admin : nullptr);

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
