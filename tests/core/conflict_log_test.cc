// The conflict log (issue 17): every resolution is recorded with its
// document, strategy, winner and time, in the commit that applied it; the
// log is bounded, paged by id, survives a reopen and can be cleared.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

class ConflictLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(MemoryStore& store, uint64_t seed, EngineOptions options = {}) {
    return testing::OpenQuietEngine(store, seed, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& collection, const std::string& key, Json value) {
    EXPECT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, value, now_).ok());
  }

  void Sync(SyncEngine& engine, InlineDriver& driver) {
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(engine, now_);
  }

  // `device` writes each key after `other` wrote it and synced: each push of
  // `device` meets the server's newer version, one conflict per key.
  void Conflict(SyncEngine& device, InlineDriver& device_driver, SyncEngine& other,
                InlineDriver& other_driver, const std::string& collection,
                const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      Put(other, collection, key, Json{{"by", "other"}, {"n", 1}});
      Put(device, collection, key, Json{{"by", "device"}});
    }
    Sync(other, other_driver);
    now_.wall += 1000;
    now_.monotonic += 1000;
    Sync(device, device_driver);
  }

  std::vector<ConflictLogEntry> Log(SyncEngine& engine, uint64_t after = 0, std::size_t limit = 0) {
    auto entries = engine.ConflictLog(after, limit);
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    return entries.ok() ? *entries : std::vector<ConflictLogEntry>{};
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_a_{server_, "alice"}, driver_b_{server_, "alice"};
};

TEST_F(ConflictLogTest, EachResolutionIsRecordedWithStrategyWinnerAndTime) {
  MemoryStore store_a, store_b;
  EngineOptions options;
  options.conflicts.collections["merged"] = ConflictStrategy::kMerge;
  options.conflicts.collections["mine"] = ConflictStrategy::kClientWins;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2, options);
  Conflict(*b, driver_b_, *a, driver_a_, "notes", {"n1"});
  Conflict(*b, driver_b_, *a, driver_a_, "mine", {"m1"});
  Conflict(*b, driver_b_, *a, driver_a_, "merged", {"g1"});

  auto log = Log(*b);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].id, 1u);
  EXPECT_EQ(log[0].document, (DocumentId{"notes", "n1"}));
  EXPECT_EQ(log[0].strategy, ConflictStrategy::kServerWins);
  EXPECT_EQ(log[0].winner, "server");
  EXPECT_EQ(log[0].resolution, "server_wins");
  EXPECT_GT(log[0].server_version, 0u);
  EXPECT_GT(log[0].run_id, 0u);
  EXPECT_EQ(log[1].document, (DocumentId{"mine", "m1"}));
  EXPECT_EQ(log[1].winner, "local");
  EXPECT_EQ(log[1].resolution, "client_wins");
  EXPECT_EQ(log[2].strategy, ConflictStrategy::kMerge);
  EXPECT_EQ(log[2].winner, "new");  // a merge of both sides
  EXPECT_EQ(log[2].resolution, "merged");
  EXPECT_EQ(log[2].at, now_.wall);
  EXPECT_LT(log[0].at, log[2].at);
  // The device that synced first met no conflict.
  EXPECT_TRUE(Log(*a).empty());
}

TEST_F(ConflictLogTest, PagesByIdAndKeepsOnlyTheNewestWithinItsLimit) {
  MemoryStore store_a, store_b;
  EngineOptions options;
  options.conflict_log_limit = 3;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2, options);
  Conflict(*b, driver_b_, *a, driver_a_, "notes", {"k1", "k2", "k3", "k4", "k5"});

  auto log = Log(*b);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].id, 3u);
  EXPECT_EQ(log[2].id, 5u);
  auto page = Log(*b, /*after=*/3, /*limit=*/1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, 4u);
  EXPECT_EQ(Log(*b, 5).size(), 0u);
  // Entries that fell out are gone from the store, not only from the listing.
  std::size_t stored = 0;
  ASSERT_TRUE(store_b
                  .ScanPrefix("cl/",
                              [&](auto, auto) {
                                ++stored;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(stored, 3u);
}

TEST_F(ConflictLogTest, SurvivesAReopenAndClearingKeepsIdsAscending) {
  MemoryStore store_a, store_b;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2);
  Conflict(*b, driver_b_, *a, driver_a_, "notes", {"k1", "k2"});
  b.reset();
  b = Open(store_b, 2);
  ASSERT_EQ(Log(*b).size(), 2u);

  ASSERT_TRUE(b->ClearConflictLog().ok());
  EXPECT_TRUE(Log(*b).empty());
  Conflict(*b, driver_b_, *a, driver_a_, "notes", {"k3"});
  auto log = Log(*b);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].id, 3u);  // a reader that paged past 2 still sees it
  EXPECT_EQ(log[0].document.key, "k3");
}

TEST_F(ConflictLogTest, ALimitOfZeroRecordsNothing) {
  MemoryStore store_a, store_b;
  EngineOptions options;
  options.conflict_log_limit = 0;
  auto a = Open(store_a, 1);
  auto b = Open(store_b, 2, options);
  Conflict(*b, driver_b_, *a, driver_a_, "notes", {"k1"});
  EXPECT_EQ(b->statistics().conflicts, 1u);
  EXPECT_TRUE(Log(*b).empty());
}

}  // namespace
}  // namespace ferry
