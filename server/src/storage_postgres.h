// The PostgreSQL backend's parts (storage_postgres*.cc), internal to the server.
#pragma once

#include <memory>
#include <string>

#include "ferry/server_storage.h"
#include "postgres_pool.h"

namespace ferry::server::postgres {

// Creates the schema or brings it to this server's version, under an
// advisory lock so instances starting together take turns.
[[nodiscard]] Status Migrate(PGconn* connection);
// The schema version this server creates or migrates to (tests).
[[nodiscard]] int SchemaVersion();
// The database's epoch, storing `fresh` if it has none yet.
[[nodiscard]] Result<std::string> LoadOrCreateEpoch(PGconn* connection, const std::string& fresh);

// ServerStorage over the tables. Threading: thread-safe; each call borrows
// a pooled connection, and a user's transactions take turns on a lock of
// that user's ferry_users row (SELECT ... FOR UPDATE), held until commit.
class PostgresServerStorage final : public ServerStorage {
 public:
  explicit PostgresServerStorage(Pool& pool) : pool_(pool) {}

  [[nodiscard]] Result<std::unique_ptr<ServerTransaction>> Begin(std::string_view user) override;
  [[nodiscard]] Status ReadChanges(std::string_view user, const ChangeQuery& query,
                                   const ChangeVisitor& visit) override;
  [[nodiscard]] Status PurgeTombstones(std::string_view user, Version version) override;
  [[nodiscard]] Result<LogMark> ReadPullPage(std::string_view user, const PullPageQuery& query,
                                             const ChangeVisitor& visit) override;
  [[nodiscard]] Status PurgeTombstonesCommittedBefore(int64_t wall_ms,
                                                      const PurgeLimit& limit) override;

 private:
  Pool& pool_;
};

}  // namespace ferry::server::postgres
