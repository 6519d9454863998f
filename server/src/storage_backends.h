// The backends behind OpenSyncService, one file each (storage_sqlite.cc,
// storage_postgres*.cc); sync_service.cc picks one from the settings and
// holds what they share.
#pragma once

#include <memory>
#include <string>

#include "ferry/server_apply.h"
#include "ferry/status.h"
#include "sync_service.h"

namespace ferry::server {

// One SQLite file (settings.sqlite_path), one connection: requests take turns.
[[nodiscard]] Result<std::unique_ptr<SyncService>> OpenSqliteSyncService(
    const StorageSettings& settings);
// PostgreSQL at settings.postgres_url: a pool of connections, the schema
// created or migrated at start. kInvalidArgument in a build without libpq.
[[nodiscard]] Result<std::unique_ptr<SyncService>> OpenPostgresSyncService(
    const StorageSettings& settings);

// A new random epoch for a new database, so cursors handed out by a server
// whose data was lost expire instead of silently skipping changes.
std::string NewEpoch();

// Handle's answer from `state`: /v1/stats from its counters, the rest from
// HandleServerRequest. Thread-safe as far as `state` is.
ServerHttpResponse HandleWithState(ServerState& state, std::string_view user,
                                   std::string_view method, std::string_view target,
                                   std::string_view body);

}  // namespace ferry::server
