// The seam between the HTTP layer and storage: what an authenticated /v1
// request needs from the server's data, whatever holds it (SQLite by default,
// PostgreSQL with --postgres). The HTTP layer owns sockets, tokens and live
// streams; this owns the sync semantics and the database.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/protocol.h"
#include "ferry/server_apply.h"
#include "ferry/status.h"
#include "webhook_log.h"

namespace ferry::server {
// The sync semantics for authenticated users, as the HTTP layer needs them.
// Thread-safe. Every call may block on the database: call it from the
// request pool, never from an I/O thread.
class SyncService {
 public:
  virtual ~SyncService() = default;
  // One /v1 exchange (push, pull, stats, ...) for `user`, as
  // HandleServerRequest answers it today.
  virtual ServerHttpResponse Handle(std::string_view user, std::string_view method,
                                    std::string_view target, std::string_view body) = 0;
  // Called on any thread, must not block, with each user whose change log
  // grew (on this instance or, with PostgreSQL, on another). Set once,
  // before serving.
  virtual void SetChangeListener(std::function<void(const std::string& user)> listener) = 0;
  // Readiness: the database answers (GET /v1/ready).
  [[nodiscard]] virtual Status CheckReady() = 0;
  // Stops background work; no listener call after it returns.
  virtual void Stop() = 0;

  // Working beside an existing backend: the change log and delivery cursors
  // the outbound webhook reads and moves (webhook_log.h), in this service's
  // database. Used by one thread; it must not outlive the service.
  [[nodiscard]] virtual std::unique_ptr<DeliveryLog> OpenDeliveryLog() = 0;
  // This process's push outcomes, every user together (/metrics).
  [[nodiscard]] virtual ServerStatistics Statistics() const = 0;
};
struct StorageSettings {
  std::string sqlite_path;   // --db (the default backend)
  std::string postgres_url;  // --postgres; when set, PostgreSQL
  ProtocolLimits limits;
  // --tombstone-horizon: tombstones of deletes committed longer ago are
  // purged in the background; zero keeps them forever.
  std::chrono::milliseconds tombstone_horizon{0};
  // --webhook-url is set: the purge leaves the tombstones of deletes the
  // receiver has not acknowledged, so every delete is delivered.
  bool webhook = false;
};
[[nodiscard]] Result<std::unique_ptr<SyncService>> OpenSyncService(const StorageSettings& settings);
}  // namespace ferry::server
