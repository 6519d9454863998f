// ServerStorage over the core's ordered key-value Store: the simulation's
// model server (MemoryStore) and ferry-server's SQLite backend (SqliteStore).
//
// Threading: not thread-safe, like its Store; the host serialises every call,
// which also serialises a user's transactions as ServerStorage requires.
#pragma once

#include "ferry/server_storage.h"
#include "ferry/store.h"

namespace ferry {

class KvServerStorage final : public ServerStorage {
 public:
  explicit KvServerStorage(Store& store) : store_(store) {}

  [[nodiscard]] Result<std::unique_ptr<ServerTransaction>> Begin(std::string_view user) override;
  [[nodiscard]] Status ReadChanges(std::string_view user, const ChangeQuery& query,
                                   const ChangeVisitor& visit) override;
  [[nodiscard]] Status PurgeTombstones(std::string_view user, Version version) override;
  [[nodiscard]] Result<LogMark> ReadPullPage(std::string_view user, const PullPageQuery& query,
                                             const ChangeVisitor& visit) override;
  [[nodiscard]] Status PurgeTombstonesCommittedBefore(int64_t wall_ms,
                                                      const PurgeLimit& limit) override;

 private:
  Store& store_;
};

}  // namespace ferry
