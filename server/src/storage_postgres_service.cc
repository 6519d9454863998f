// The SyncService over PostgreSQL: a connection pool, the tables
// (PostgresServerStorage) and a listener thread that turns NOTIFYs from other
// instances into change-listener calls.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "storage_backends.h"
#include "storage_postgres.h"
#include "tombstone_purge.h"
#include "webhook_log.h"

namespace ferry::server {
namespace {

using postgres::Pool;
using postgres::PostgresServerStorage;

// Connections per instance: pushes of this many users at once, the rest wait
// for a connection (the HTTP layer's request pool is about the size of the
// cores, so this rarely binds).
constexpr int kPoolSize = 8;

class PostgresSyncService final : public SyncService {
 public:
  PostgresSyncService(std::string url, std::unique_ptr<Pool> pool, std::string epoch,
                      ProtocolLimits limits, std::chrono::milliseconds tombstone_horizon,
                      bool webhook)
      : url_(std::move(url)),
        pool_(std::move(pool)),
        storage_(*pool_),
        state_(storage_, std::move(epoch), limits, RandomWord),
        wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (tombstone_horizon.count() > 0) {
      // Every instance purges; a purge takes each user's row lock, so
      // rounds of several instances take turns and the later finds nothing.
      PurgeLimit limit;
      if (webhook) {
        limit = [this](std::string_view user) -> Result<Version> {
          FERRY_ASSIGN_OR_RETURN(postgres::Lease lease, pool_->Acquire());
          return PostgresDeliveredThrough(lease.get(), user);
        };
      }
      purge_ = std::make_unique<TombstonePurge>(tombstone_horizon, [this, limit](int64_t cutoff) {
        return state_.PurgeTombstonesCommittedBefore(cutoff, limit);
      });
    }
  }
  ~PostgresSyncService() override {
    Stop();
    if (wake_ >= 0) close(wake_);
  }

  ServerHttpResponse Handle(std::string_view user, std::string_view method, std::string_view target,
                            std::string_view body) override {
    ServerHttpResponse answer = HandleWithState(state_, user, method, target, body);
    // This instance's pushes poke at once; the NOTIFY they sent is skipped
    // by the listener thread (it comes from one of our pool's connections).
    if (answer.changed && listener_) listener_(std::string(user));
    return answer;
  }

  void SetChangeListener(std::function<void(const std::string& user)> listener) override {
    listener_ = std::move(listener);
    if (!thread_.joinable()) thread_ = std::thread([this] { Listen(); });
  }

  Status CheckReady() override {
    FERRY_ASSIGN_OR_RETURN(postgres::Lease lease, pool_->Acquire());
    return postgres::Exec(lease.get(), "SELECT 1").status();
  }

  ServerStatistics Statistics() const override { return state_.statistics(); }

  void Stop() override {
    if (purge_) purge_->Stop();
    stopping_ = true;
    const uint64_t one = 1;
    if (wake_ >= 0) (void)!write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<DeliveryLog> OpenDeliveryLog() override {
    return NewPostgresDeliveryLog(url_, state_.epoch());
  }

 private:
  // Runs on thread_: LISTEN on a connection of its own, reconnecting (at
  // most once a second) when the database goes away, until Stop.
  void Listen() {
    while (!stopping_) {
      auto connection = postgres::Connect(url_);
      if (connection.ok() && postgres::Exec(connection->get(), "LISTEN ferry_changes").ok()) {
        Deliver(connection->get());
      }
      if (!stopping_) Sleep(std::chrono::seconds(1));
    }
  }

  // Passes each notification from another instance to the listener until
  // the connection fails or Stop.
  void Deliver(PGconn* connection) {
    while (!stopping_) {
      pollfd fds[2] = {{PQsocket(connection), POLLIN, 0}, {wake_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (PQconsumeInput(connection) == 0) return;  // the connection failed
      while (PGnotify* notice = PQnotifies(connection)) {
        const std::string user = notice->extra;
        const bool own = pool_->IsOwnBackend(notice->be_pid);
        PQfreemem(notice);
        if (!own && !stopping_ && listener_) listener_(user);
      }
    }
  }

  void Sleep(std::chrono::milliseconds duration) {
    pollfd wake = {wake_, POLLIN, 0};
    poll(&wake, 1, static_cast<int>(duration.count()));
  }

  const std::string url_;
  std::unique_ptr<Pool> pool_;
  PostgresServerStorage storage_;
  ServerState state_;  // thread-safe over a thread-safe storage
  // Set once before serving (SetChangeListener's contract), so read unlocked.
  std::function<void(const std::string&)> listener_;
  std::atomic<bool> stopping_ = false;
  int wake_;  // an eventfd Stop writes to, waking the listener thread's poll
  std::thread thread_;
  std::unique_ptr<TombstonePurge> purge_;  // with --tombstone-horizon; stopped before the rest goes
};

}  // namespace

Result<std::unique_ptr<SyncService>> OpenPostgresSyncService(const StorageSettings& settings) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Open(settings.postgres_url, kPoolSize));
  std::string epoch;
  {
    FERRY_ASSIGN_OR_RETURN(postgres::Lease lease, pool->Acquire());
    FERRY_RETURN_IF_ERROR(postgres::Migrate(lease.get()));
    FERRY_ASSIGN_OR_RETURN(epoch, postgres::LoadOrCreateEpoch(lease.get(), NewEpoch()));
  }
  return std::unique_ptr<SyncService>(std::make_unique<PostgresSyncService>(
      settings.postgres_url, std::move(pool), std::move(epoch), settings.limits,
      settings.tombstone_horizon, settings.webhook));
}

}  // namespace ferry::server
