// The backends behind OpenSyncService, one file each (storage_sqlite.cc,
// storage_postgres*.cc); sync_service.cc picks one from the settings and
// holds what they share.
#pragma once

#include <cstdint>
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

// A random 64-bit word for commit tags (ServerState's RandomSource): true
// randomness, so a database restored from a backup never reuses a tag the
// lost history handed out. Thread-safe.
uint64_t RandomWord();

// The wall clock a push's stamps are checked against (Unix ms; core reads no
// clock).
int64_t WallClockMs();

// Handle's answer from `state`: /v1/stats from the calling user's counters,
// the rest from HandleServerRequest with the server's wall clock (so a stamp
// far ahead of it is rejected). Thread-safe as far as `state` is.
ServerHttpResponse HandleWithState(ServerState& state, std::string_view user,
                                   std::string_view method, std::string_view target,
                                   std::string_view body);

}  // namespace ferry::server
