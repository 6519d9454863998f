// The backends behind OpenSyncService, one file each (storage_sqlite.cc,
// storage_postgres.cc); sync_service.cc picks one from the settings.
#pragma once

#include <memory>

#include "ferry/status.h"
#include "sync_service.h"

namespace ferry::server {

// One SQLite file (settings.sqlite_path), one connection: requests take turns.
[[nodiscard]] Result<std::unique_ptr<SyncService>> OpenSqliteSyncService(
    const StorageSettings& settings);

}  // namespace ferry::server
