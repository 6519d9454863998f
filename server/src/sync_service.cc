#include "sync_service.h"

#include "storage_backends.h"

namespace ferry::server {

Result<std::unique_ptr<SyncService>> OpenSyncService(const StorageSettings& settings) {
  if (!settings.postgres_url.empty()) {
    return Status(ErrorCode::kInvalidArgument, "this build has no PostgreSQL backend");
  }
  return OpenSqliteSyncService(settings);
}

}  // namespace ferry::server
