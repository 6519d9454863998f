// OpenPostgresSyncService in a build without libpq (libpq-dev missing).
#include "storage_backends.h"

namespace ferry::server {

Result<std::unique_ptr<SyncService>> OpenPostgresSyncService(const StorageSettings&) {
  return Status(ErrorCode::kInvalidArgument,
                "--postgres: this ferry-server was built without libpq (install libpq-dev)");
}

}  // namespace ferry::server
