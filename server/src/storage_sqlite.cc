// The embedded backend: the server's data in one SQLite file (SqliteStore),
// read and written through the core's ServerState. One connection, so
// requests take turns on one mutex.
#include <mutex>
#include <random>

#include "ferry/json.h"
#include "ferry/server_apply.h"
#include "ferry/store_sqlite.h"
#include "storage_backends.h"

namespace ferry::server {
namespace {

Result<std::string> LoadOrCreateEpoch(Store& store) {
  FERRY_ASSIGN_OR_RETURN(auto stored, store.Get("server/epoch"));
  if (stored) return *stored;
  // A new database gets a new epoch, so cursors handed out by a server whose
  // data was lost expire instead of silently skipping changes.
  std::random_device random;
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string epoch;
  for (int i = 0; i < 10; ++i)
    epoch += kDigits[random() % 36];
  FERRY_RETURN_IF_ERROR(store.Put("server/epoch", epoch));
  return epoch;
}

std::string EncodeStatistics(const ServerStatistics& statistics) {
  return DumpJson(Json{{"mutationsApplied", statistics.mutations_applied},
                       {"mutationsDuplicate", statistics.mutations_duplicate},
                       {"mutationsConflict", statistics.mutations_conflict},
                       {"mutationsRejected", statistics.mutations_rejected}});
}

class SqliteSyncService final : public SyncService {
 public:
  SqliteSyncService(std::unique_ptr<SqliteStore> store, std::string epoch, ProtocolLimits limits)
      : store_(std::move(store)), state_(*store_, std::move(epoch), limits) {}

  ServerHttpResponse Handle(std::string_view user, std::string_view method, std::string_view target,
                            std::string_view body) override {
    ServerHttpResponse answer;
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      if (target.substr(0, target.find('?')) == "/v1/stats")
        return {200, EncodeStatistics(state_.statistics())};
      const uint64_t applied_before = state_.statistics().mutations_applied;
      answer = HandleServerRequest(state_, user, method, target, body);
      changed = state_.statistics().mutations_applied != applied_before;
    }
    // Outside the lock: the listener runs HTTP code that must not wait on storage.
    if (changed && listener_) listener_(std::string(user));
    return answer;
  }

  void SetChangeListener(std::function<void(const std::string& user)> listener) override {
    listener_ = std::move(listener);
  }

  Status CheckReady() override {
    std::lock_guard lock(mutex_);
    return store_->Get("server/epoch").status();
  }

  void Stop() override {}

 private:
  std::mutex mutex_;  // guards store_ and state_: one SQLite connection
  std::unique_ptr<SqliteStore> store_;
  ServerState state_;
  // Set once before serving (SetChangeListener's contract), so read unlocked.
  std::function<void(const std::string&)> listener_;
};

}  // namespace

Result<std::unique_ptr<SyncService>> OpenSqliteSyncService(const StorageSettings& settings) {
  FERRY_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(settings.sqlite_path));
  FERRY_ASSIGN_OR_RETURN(std::string epoch, LoadOrCreateEpoch(*store));
  return std::unique_ptr<SyncService>(
      std::make_unique<SqliteSyncService>(std::move(store), std::move(epoch), settings.limits));
}

}  // namespace ferry::server
