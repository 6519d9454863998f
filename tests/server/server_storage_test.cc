// The server's storage backends: the ServerState contract over SQLite and
// PostgreSQL (a real server started by the test), and what only a shared
// database has to get right: parallel users, one user's pushes in commit
// order, the schema across restarts.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/server_apply_contract.h"
#include "ferry/server_storage_kv.h"
#include "ferry/store_sqlite.h"
#include "storage_postgres.h"
#include "support/postgres_process.h"
#include "support/temp_dir.h"
#include "sync_service.h"

namespace ferry {
namespace {

using testing::PostgresProcess;
using testing::ServerBackend;
using testing::ServerStateTest;
using testing::Write;

struct SqliteServerStorage {
  testing::TempDir directory;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<KvServerStorage> storage;
};

std::shared_ptr<ServerStorage> OpenSqlite() {
  auto held = std::make_shared<SqliteServerStorage>();
  auto store = SqliteStore::Open(held->directory.File("server.db"));
  if (!store.ok()) return nullptr;
  held->store = std::move(*store);
  held->storage = std::make_unique<KvServerStorage>(*held->store);
  return std::shared_ptr<ServerStorage>(held, held->storage.get());
}

// A PostgreSQL server of its own, the schema migrated, and the storage.
// Members end in reverse: storage, pool, then the server.
struct PostgresServerStorage {
  PostgresProcess process;
  std::unique_ptr<server::postgres::Pool> pool;
  std::unique_ptr<server::postgres::PostgresServerStorage> storage;
};

std::shared_ptr<PostgresServerStorage> StartPostgres() {
  auto held = std::make_shared<PostgresServerStorage>();
  if (!held->process.unavailable().empty()) return nullptr;
  auto pool = server::postgres::Pool::Open(held->process.url(), 8);
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  if (!pool.ok()) return nullptr;
  held->pool = std::move(*pool);
  {
    auto lease = held->pool->Acquire();
    EXPECT_TRUE(lease.ok());
    if (!lease.ok()) return nullptr;
    Status migrated = server::postgres::Migrate(lease->get());
    EXPECT_TRUE(migrated.ok()) << migrated.ToString();
  }
  held->storage = std::make_unique<server::postgres::PostgresServerStorage>(*held->pool);
  return held;
}

std::shared_ptr<ServerStorage> OpenPostgres() {
  auto held = StartPostgres();
  if (!held) return nullptr;
  return std::shared_ptr<ServerStorage>(held, held->storage.get());
}

std::string PostgresUnavailable() {
  return PostgresProcess().unavailable();
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerStateTest,
                         ::testing::Values(ServerBackend{"sqlite", OpenSqlite},
                                           ServerBackend{"postgres", OpenPostgres,
                                                         PostgresUnavailable}),
                         testing::PrintServerBackend);

class PostgresStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    held_ = StartPostgres();
    if (!held_) GTEST_SKIP() << PostgresUnavailable();
    server_ = std::make_unique<ServerState>(*held_->storage, "ep");
  }
  // Pushes one put of `key` for `user` in a thread; the future holds its result.
  std::future<Result<PushResponse>> PushLater(std::string user, std::string client, uint64_t seq,
                                              std::string key) {
    return std::async(std::launch::async, [=, this] {
      return server_->ApplyPush(user, {client, {Write(client, seq, MutationOp::kPut, 1, key)}});
    });
  }

  std::shared_ptr<PostgresServerStorage> held_;
  std::unique_ptr<ServerState> server_;
};

TEST_F(PostgresStorageTest, PushesOfOtherUsersGoOnWhileOneUsersPushWaitsForItsLock) {
  // A transaction of alice's holds her row lock, as a slow push would.
  auto alice = held_->storage->Begin("alice");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = PushLater("bob", "b", 1, "x");
  ASSERT_EQ(bob.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "bob's push waited for alice's lock";
  ASSERT_TRUE(bob.get().ok());
  auto alice_push = PushLater("alice", "a", 1, "x");
  EXPECT_EQ(alice_push.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout)
      << "alice's push did not wait for her own open transaction";
  alice->reset();  // rolls back, releasing the lock
  ASSERT_EQ(alice_push.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto response = alice_push.get();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->results[0].version, 1u);
}

// Four writers push one user's documents while a reader pages through the
// change log with small pages. Each version is handed out under the user's
// row lock, so versions commit in order and the reader, whose cursor only
// moves past versions it has seen, must end up with every document.
TEST_F(PostgresStorageTest, ConcurrentPushesOfOneUserNeverSkipAVersionForAConcurrentPuller) {
  constexpr int kWriters = 4;
  constexpr int kPushesEach = 40;
  std::atomic<int> writing = kWriters;
  std::vector<std::thread> writers;
  std::mutex versions_mutex;
  std::set<Version> versions;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::string client = "c" + std::to_string(w);
      for (int i = 1; i <= kPushesEach; ++i) {
        const std::string key = client + "-" + std::to_string(i);
        auto response = server_->ApplyPush(
            "alice", {client, {Write(client, static_cast<uint64_t>(i), MutationOp::kPut, i, key)}});
        ASSERT_TRUE(response.ok()) << response.status().ToString();
        std::lock_guard lock(versions_mutex);
        versions.insert(response->results[0].version);
      }
      --writing;
    });
  }
  std::set<std::string> seen;
  std::string cursor;
  const auto pull_all = [&] {
    for (bool more = true; more;) {
      auto page = server_->ServePull("alice", {cursor, 7});
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      for (const ServerDocument& change : page->changes)
        seen.insert(change.document.key);
      cursor = page->cursor;
      more = page->has_more;
    }
  };
  while (writing > 0)
    pull_all();
  for (auto& writer : writers)
    writer.join();
  pull_all();
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kWriters * kPushesEach));
  ASSERT_EQ(versions.size(), static_cast<std::size_t>(kWriters * kPushesEach));
  EXPECT_EQ(*versions.begin(), 1u);
  EXPECT_EQ(*versions.rbegin(), static_cast<Version>(kWriters * kPushesEach));
}

// The epoch and the data as a client sees them through the service.
std::string PullBody(server::SyncService& service) {
  return service.Handle("alice", "GET", "/v1/pull", "").body;
}

TEST(PostgresSchema, IsCreatedOnFirstStartAndReusedOnTheSecond) {
  PostgresProcess process;
  if (!process.unavailable().empty()) GTEST_SKIP() << process.unavailable();
  const server::StorageSettings settings{"", process.url(), {}};
  std::string first_pull;
  {
    auto service = server::OpenSyncService(settings);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    ASSERT_TRUE((*service)->CheckReady().ok());
    const std::string push =
        EncodePushRequest({"c", {Write("c", 1, MutationOp::kPut, Json{{"kept", true}}, "x")}});
    EXPECT_EQ((*service)->Handle("alice", "POST", "/v1/push", push).status, 200);
    first_pull = PullBody(**service);
    (*service)->Stop();
  }
  auto again = server::OpenSyncService(settings);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Same epoch (the cursor) and the same document: the tables were reused.
  EXPECT_EQ(PullBody(**again), first_pull);
  EXPECT_NE(first_pull.find("\"kept\":true"), std::string::npos) << first_pull;
  auto connection = server::postgres::Connect(process.url());
  ASSERT_TRUE(connection.ok());
  auto rows = server::postgres::Exec(connection->get(), "SELECT version FROM ferry_schema");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(PQntuples(rows->get()), 1);
  EXPECT_EQ(server::postgres::TextAt(rows->get(), 0, 0),
            std::to_string(server::postgres::SchemaVersion()));
  (*again)->Stop();
}

TEST(PostgresSchema, ABadUrlFailsAtStartWithTheReason) {
  auto service = server::OpenSyncService({"", "postgresql:///none?host=/nonexistent", {}});
  ASSERT_FALSE(service.ok());
  EXPECT_NE(service.status().message().find("cannot connect"), std::string::npos)
      << service.status().ToString();
}

}  // namespace
}  // namespace ferry
