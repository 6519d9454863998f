// The embedded backend: the server's data in one SQLite file (SqliteStore),
// read and written through the core's ServerState. One connection, so
// requests take turns on one mutex.
#include <mutex>

#include "ferry/server_apply.h"
#include "ferry/store_sqlite.h"
#include "storage_backends.h"
#include "tombstone_purge.h"
#include "webhook_log.h"

namespace ferry::server {
namespace {

Result<std::string> LoadOrCreateEpoch(Store& store) {
  FERRY_ASSIGN_OR_RETURN(auto stored, store.Get("server/epoch"));
  if (stored) return *stored;
  std::string epoch = NewEpoch();
  FERRY_RETURN_IF_ERROR(store.Put("server/epoch", epoch));
  return epoch;
}

class SqliteSyncService final : public SyncService {
 public:
  SqliteSyncService(std::unique_ptr<SqliteStore> store, std::string epoch, ProtocolLimits limits,
                    std::chrono::milliseconds tombstone_horizon, bool webhook)
      : store_(std::move(store)), state_(*store_, std::move(epoch), limits, RandomWord) {
    if (tombstone_horizon.count() > 0) {
      PurgeLimit limit;
      if (webhook) {
        // Called within the round, under mutex_.
        limit = [this](std::string_view user) { return KvDeliveredThrough(*store_, user); };
      }
      // One connection: a purge round takes its turn like a request.
      purge_ = std::make_unique<TombstonePurge>(tombstone_horizon, [this, limit](int64_t cutoff) {
        std::lock_guard lock(mutex_);
        return state_.PurgeTombstonesCommittedBefore(cutoff, limit);
      });
    }
  }
  ~SqliteSyncService() override { Stop(); }

  ServerHttpResponse Handle(std::string_view user, std::string_view method, std::string_view target,
                            std::string_view body) override {
    ServerHttpResponse answer;
    {
      std::lock_guard lock(mutex_);
      answer = HandleWithState(state_, user, method, target, body);
    }
    // Outside the lock: the listener runs HTTP code that must not wait on storage.
    if (answer.changed && listener_) listener_(std::string(user));
    return answer;
  }

  void SetChangeListener(std::function<void(const std::string& user)> listener) override {
    listener_ = std::move(listener);
  }

  Status CheckReady() override {
    std::lock_guard lock(mutex_);
    return store_->Get("server/epoch").status();
  }

  ServerStatistics Statistics() const override { return state_.statistics(); }

  void Stop() override {
    if (purge_) purge_->Stop();
  }

  std::unique_ptr<DeliveryLog> OpenDeliveryLog() override {
    return NewKvDeliveryLog(*store_, mutex_, state_.epoch());
  }

 private:
  std::mutex mutex_;  // guards store_ and state_: one SQLite connection
  std::unique_ptr<SqliteStore> store_;
  ServerState state_;
  // Set once before serving (SetChangeListener's contract), so read unlocked.
  std::function<void(const std::string&)> listener_;
  std::unique_ptr<TombstonePurge> purge_;  // with --tombstone-horizon; stopped before the rest goes
};

}  // namespace

Result<std::unique_ptr<SyncService>> OpenSqliteSyncService(const StorageSettings& settings) {
  FERRY_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(settings.sqlite_path));
  FERRY_ASSIGN_OR_RETURN(std::string epoch, LoadOrCreateEpoch(*store));
  return std::unique_ptr<SyncService>(
      std::make_unique<SqliteSyncService>(std::move(store), std::move(epoch), settings.limits,
                                          settings.tombstone_horizon, settings.webhook));
}

}  // namespace ferry::server
