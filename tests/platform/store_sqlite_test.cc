#include "ferry/store_sqlite.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/indexed_store_contract.h"
#include "core/store_contract.h"
#include "support/disk_full.h"
#include "support/store_lock_checks.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

// One directory per test process, holding a fresh file per opened store.
TempDir& Directory() {
  static TempDir directory;
  return directory;
}

std::string FreshPath() {
  static int counter = 0;
  return Directory().File("store-" + std::to_string(++counter) + ".db");
}

// The contract suite, plus reopening the same file for durability.
template <SqliteStore::Durability kDurability>
class PathTrackingBackend {
 public:
  static std::unique_ptr<Store> Open() {
    path() = FreshPath();
    auto store = SqliteStore::Open(path(), {.durability = kDurability});
    if (!store.ok()) ADD_FAILURE() << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  static std::unique_ptr<Store> Reopen(std::unique_ptr<Store> old) {
    old.reset();
    auto store = SqliteStore::Open(path(), {.durability = kDurability});
    if (!store.ok()) ADD_FAILURE() << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  static std::string& path() {
    static std::string current;
    return current;
  }
};

using NormalBackend = PathTrackingBackend<SqliteStore::Durability::kNormal>;
using FullBackend = PathTrackingBackend<SqliteStore::Durability::kFull>;
INSTANTIATE_TEST_SUITE_P(
    Sqlite, StoreContractTest,
    ::testing::Values(StoreBackend{"sqlite_normal", &NormalBackend::Open, &NormalBackend::Reopen},
                      StoreBackend{"sqlite_full", &FullBackend::Open, &FullBackend::Reopen}),
    PrintBackend);

INSTANTIATE_TEST_SUITE_P(SqliteIndexes, IndexedStoreTest,
                         ::testing::Values(StoreBackend{"sqlite_normal", &NormalBackend::Open,
                                                        &NormalBackend::Reopen}),
                         PrintBackend);

// Runs raw SQL on a store file, as another program would.
void Sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// 2,000 keys (~450 KB) committed and checkpointed, so every page is in the
// main file, where the damage tests then damage it.
void FillAndCheckpoint(const std::string& path) {
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    WriteBatch batch;
    for (int i = 0; i < 2000; ++i)
      batch.Put("key" + std::to_string(i), std::string(200, 'v'));
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  Sql(path, "PRAGMA wal_checkpoint(TRUNCATE)");
}

TEST(SqliteStore, RefusesAFileFromANewerFormat) {
  const std::string path = FreshPath();
  { ASSERT_TRUE(SqliteStore::Open(path).ok()); }
  Sql(path, "PRAGMA user_version=7");  // as a newer Ferry would leave it
  auto reopened = SqliteStore::Open(path);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(reopened.status().message().find("format 7"), std::string::npos);
}

TEST(SqliteStore, SecondOpenInTheSameProcessFailsClearly) {
  const std::string path = FreshPath();
  ExpectSecondOpenInThisProcessFailsClearly([&] { return SqliteStore::Open(path); });
}

TEST(SqliteStore, OpenWaitsForTheHolderWithinTheLockTimeout) {
  const std::string path = FreshPath();
  auto first = SqliteStore::Open(path);
  ASSERT_TRUE(first.ok());
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    first->reset();
  });
  auto second = SqliteStore::Open(path, {.lock_timeout_ms = 10'000});
  closer.join();
  EXPECT_TRUE(second.ok()) << second.status().ToString();
}

TEST(SqliteStore, DestroyRefusesWhileTheStoreIsOpen) {
  const std::string path = FreshPath();
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("key", "value").ok());
  EXPECT_EQ(SqliteStore::Destroy(path).code(), ErrorCode::kBusy);
  EXPECT_EQ((*store)->Get("key")->value_or(""), "value");
}

TEST(SqliteStore, DestroyRemovesEveryFileIncludingTheLock) {
  TempDir directory;
  const std::string path = directory.File("store.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("key", "value").ok());
  }
  std::ofstream(path + ".lock") << "12345\n";  // as a killed holder leaves it
  ASSERT_TRUE(SqliteStore::Destroy(path).ok());
  EXPECT_TRUE(std::filesystem::is_empty(directory.path()));
  EXPECT_TRUE(SqliteStore::Destroy(directory.File("gone/store.db")).ok());  // nothing to remove
}

TEST(SqliteStore, FileThatIsNotADatabaseIsReportedAsCorrupt) {
  const std::string path = FreshPath();
  std::ofstream(path) << std::string(8192, 'x');
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
}

TEST(SqliteStore, DamagedPagesAreFoundByTheIntegrityCheck) {
  const std::string path = FreshPath();
  FillAndCheckpoint(path);
  {
    // Scribble over a page in the middle of the table's B-tree.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096 * 5 + 100);
    const std::string junk(1000, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto store = SqliteStore::Open(
      path, {.durability = SqliteStore::Durability::kNormal, .check_integrity_on_open = true});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
}

// A file cut short (a bad copy, a full disk during a backup restore): a
// clear kCorruption, either at open with the integrity check or from the
// first read that meets the missing pages, and the file is left as it was.
TEST(SqliteStore, TruncatedFileIsReportedAsCorruptAndLeftUntouched) {
  const std::string path = FreshPath();
  FillAndCheckpoint(path);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  const auto read_file = [&] {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  const std::string damaged = read_file();

  auto checked = SqliteStore::Open(
      path, {.durability = SqliteStore::Durability::kNormal, .check_integrity_on_open = true});
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), ErrorCode::kCorruption) << checked.status().ToString();

  auto unchecked = SqliteStore::Open(path);
  if (unchecked.ok()) {
    std::size_t seen = 0;
    Status scanned = (*unchecked)->Scan("", "", [&](std::string_view, std::string_view) {
      ++seen;
      return true;
    });
    ASSERT_FALSE(scanned.ok()) << "a scan over missing pages saw " << seen << " keys and no error";
    EXPECT_EQ(scanned.code(), ErrorCode::kCorruption) << scanned.ToString();
  } else {
    EXPECT_EQ(unchecked.status().code(), ErrorCode::kCorruption);
  }
  unchecked = Status(ErrorCode::kInternal, "closed");  // closes the store before the comparison
  EXPECT_EQ(read_file(), damaged);                     // nothing was repaired, truncated or deleted
}

TEST(SqliteStore, DiskFullIsACleanErrorAndLosesNoCommittedBatch) {
  const std::string path = FreshPath();
  { ASSERT_TRUE(SqliteStore::Open(path).ok()); }
  const auto open = [&]() -> std::unique_ptr<Store> {
    auto store = SqliteStore::Open(path);
    return store.ok() ? std::move(*store) : nullptr;
  };
  const DiskFullReport report = FillUntilFull(open, 512 * 1024);
  EXPECT_EQ(report.failure, ErrorCode::kIo);
  auto reopened = SqliteStore::Open(
      path, {.durability = SqliteStore::Durability::kNormal, .check_integrity_on_open = true});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ExpectNothingCommittedWasLost(report, **reopened);
}

TEST(SqliteStore, UnopenablePathIsAClearError) {
  auto store = SqliteStore::Open("/nonexistent-dir/sub/store.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kIo);
}

TEST(SqliteStore, DestroyRemovesTheFiles) {
  const std::string path = FreshPath();
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("k", "v").ok());
  }
  ASSERT_TRUE(SqliteStore::Destroy(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  auto reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok());
  auto value = (*reopened)->Get("k");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
}

// A child process commits batches as fast as it can and reports each
// committed batch number through a pipe; the parent kills it with SIGKILL at
// a random moment. The store must reopen, and every batch the child reported
// committed must be there, whole.
TEST(SqliteStore, SurvivesSigkillMidWriteWithoutLosingCommittedBatches) {
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    const std::string path = FreshPath();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto store = SqliteStore::Open(path);
      if (!store.ok()) _exit(3);
      for (uint32_t batch_number = 1;; ++batch_number) {
        WriteBatch batch;
        for (int i = 0; i < 10; ++i) {
          batch.Put("b" + std::to_string(batch_number) + "/" + std::to_string(i),
                    std::string(300, 'a' + i));
        }
        batch.Put("last", std::to_string(batch_number));
        if (!(*store)->Commit(batch).ok()) _exit(4);
        if (write(fds[1], &batch_number, sizeof batch_number) != sizeof batch_number) _exit(5);
      }
    }
    close(fds[1]);
    usleep(static_cast<useconds_t>(5000 + random() % 60000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    uint32_t reported = 0, number = 0;
    while (read(fds[0], &number, sizeof number) == sizeof number)
      reported = number;
    close(fds[0]);

    auto store = SqliteStore::Open(
        path, {.durability = SqliteStore::Durability::kNormal, .check_integrity_on_open = true});
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().ToString();
    auto last = (*store)->Get("last");
    ASSERT_TRUE(last.ok());
    const uint32_t stored = last->has_value() ? static_cast<uint32_t>(std::stoul(**last)) : 0;
    EXPECT_GE(stored, reported) << "round " << round << ": a reported commit is missing";
    for (uint32_t b = 1; b <= stored; ++b) {
      for (int i = 0; i < 10; ++i) {
        auto value = (*store)->Get("b" + std::to_string(b) + "/" + std::to_string(i));
        ASSERT_TRUE(value.ok() && value->has_value())
            << "round " << round << " batch " << b << " is torn";
      }
    }
  }
}

}  // namespace
}  // namespace ferry::testing
