// The store lock across processes: a store serves one client at a time, so a
// second open from another process fails clearly, and the store opens again
// once its holder closes it or dies. Same-process cases are in each store's
// own test file (they also run in wasm, where there are no processes).
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "ferry/store_journal.h"
#include "ferry/store_sqlite.h"
#include "support/store_holder.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

// Each store kind behind one signature, so every test runs on both.
struct Kind {
  const char* name;
  Result<std::unique_ptr<Store>> (*open)(const std::string& path, int64_t lock_timeout_ms);
};

void PrintTo(const Kind& kind, std::ostream* out) {
  *out << kind.name;
}

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path, int64_t lock_timeout_ms) {
  SqliteStore::Options options;
  options.lock_timeout_ms = lock_timeout_ms;
  FERRY_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(path, options));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> OpenJournal(const std::string& path, int64_t lock_timeout_ms) {
  JournalStore::Options options;
  options.lock_timeout_ms = lock_timeout_ms;
  FERRY_ASSIGN_OR_RETURN(auto store, JournalStore::Open(path, options));
  return std::unique_ptr<Store>(std::move(store));
}

class StoreLockTest : public ::testing::TestWithParam<Kind> {
 protected:
  Result<std::unique_ptr<Store>> Open(int64_t lock_timeout_ms = 0) {
    return GetParam().open(path_, lock_timeout_ms);
  }
  StoreHolder HoldInAnotherProcess() {
    return StoreHolder([this] { return Open(); });
  }

  TempDir directory_;
  const std::string path_ = directory_.File("store");
};

TEST_P(StoreLockTest, SecondOpenFromAnotherProcessFailsClearly) {
  StoreHolder holder = HoldInAnotherProcess();
  ASSERT_TRUE(holder.holding());
  auto second = Open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kBusy);
  EXPECT_NE(second.status().message().find("in use by another client (process " +
                                           std::to_string(holder.pid()) + ")"),
            std::string::npos)
      << second.status().message();
}

TEST_P(StoreLockTest, OpenInAnotherProcessFailsWhileThisOneHoldsTheStore) {
  auto first = Open();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  StoreHolder other = HoldInAnotherProcess();
  EXPECT_FALSE(other.holding());
  // The refused open changed nothing: the holder keeps working.
  ASSERT_TRUE((*first)->Put("after", "refused").ok());
  EXPECT_EQ((*first)->Get("after")->value_or(""), "refused");
}

TEST_P(StoreLockTest, StoreOpensOnceTheOtherProcessClosesIt) {
  StoreHolder holder = HoldInAnotherProcess();
  ASSERT_TRUE(holder.holding());
  holder.Close();
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Get("key")->value_or(""), "held");
}

TEST_P(StoreLockTest, StoreOpensOnceTheOtherProcessIsKilled) {
  StoreHolder holder = HoldInAnotherProcess();
  ASSERT_TRUE(holder.holding());
  holder.Kill();  // no close: the OS drops the lock with the process
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Get("key")->value_or(""), "held");
}

TEST_P(StoreLockTest, OpenWaitsForTheOtherProcessWithinTheLockTimeout) {
  StoreHolder holder = HoldInAnotherProcess();
  ASSERT_TRUE(holder.holding());
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    holder.Close();
  });
  auto store = Open(/*lock_timeout_ms=*/10'000);
  closer.join();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
}

TEST_P(StoreLockTest, OpenGivesUpWhenTheLockTimeoutPasses) {
  StoreHolder holder = HoldInAnotherProcess();
  ASSERT_TRUE(holder.holding());
  const auto start = std::chrono::steady_clock::now();
  auto store = Open(/*lock_timeout_ms=*/100);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kBusy);
}

std::string KindName(const ::testing::TestParamInfo<Kind>& kind) {
  return kind.param.name;
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreLockTest,
                         ::testing::Values(Kind{"sqlite", &OpenSqlite},
                                           Kind{"journal", &OpenJournal}),
                         KindName);

TEST(SqliteStore, DestroyRefusesWhileAnotherProcessHasTheStoreOpen) {
  TempDir directory;
  const std::string path = directory.File("store.db");
  StoreHolder holder([&] { return OpenSqlite(path, 0); });
  ASSERT_TRUE(holder.holding());
  Status destroyed = SqliteStore::Destroy(path);
  EXPECT_EQ(destroyed.code(), ErrorCode::kBusy);
  EXPECT_TRUE(std::filesystem::exists(path));
  holder.Close();
  ASSERT_TRUE(SqliteStore::Destroy(path).ok());
  EXPECT_TRUE(std::filesystem::is_empty(directory.path()));
}

}  // namespace
}  // namespace ferry::testing
