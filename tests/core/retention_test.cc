// Local retention (issue 17): synced documents leave the local store (never
// the server) by an explicit eviction or by a collection's rule, by age or by
// count; a document with pending writes never does.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

constexpr TimeMs kMinute = 60'000;

class RetentionTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(MemoryStore& store, EngineOptions options = {},
                                   uint64_t seed = 13) {
    return testing::OpenQuietEngine(store, seed, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& collection, const std::string& key) {
    EXPECT_TRUE(
        engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, Json{{"k", key}}, now_).ok());
  }

  SyncRunRecord Sync(SyncEngine& engine) {
    driver_.events.clear();
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver_.Pump(engine, now_);
    auto done = driver_.EventsOf<SyncCompletedEvent>();
    EXPECT_EQ(done.size(), 1u);
    return done.empty() ? SyncRunRecord{} : done[0].run;
  }

  bool Has(SyncEngine& engine, const std::string& collection, const std::string& key) {
    auto value = engine.Get({collection, key});
    EXPECT_TRUE(value.ok());
    return value.ok() && value->has_value();
  }

  std::vector<std::string> Keys(SyncEngine& engine, const std::string& collection) {
    std::vector<std::string> keys;
    auto rows = engine.Scan(collection, "");
    EXPECT_TRUE(rows.ok());
    if (rows.ok()) {
      for (const auto& [key, value] : *rows)
        keys.push_back(key);
    }
    return keys;
  }

  // The documents of the evicted change events the engine emitted.
  std::vector<std::string> EvictedInEvents(SyncEngine& engine) {
    driver_.Pump(engine, now_);
    std::vector<std::string> evicted;
    for (const auto& change : driver_.EventsOf<DocumentsChangedEvent>()) {
      if (!change.evicted) continue;
      EXPECT_FALSE(change.remote);
      for (const DocumentId& id : change.documents)
        evicted.push_back(id.collection + "/" + id.key);
    }
    driver_.events.clear();
    return evicted;
  }

  void Later(TimeMs ms) {
    now_.monotonic += ms;
    now_.wall += ms;
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
};

TEST_F(RetentionTest, AnEvictionDropsSyncedDocumentsHereOnlyAndKeepsPendingOnes) {
  MemoryStore store;
  auto engine = Open(store);
  for (const char* key : {"a", "b", "c"})
    Put(*engine, "notes", key);
  ASSERT_EQ(Sync(*engine).pushed, 3u);
  Put(*engine, "notes", "b");  // pending again: b stays

  auto evicted = engine->HandleEvict("notes", std::vector<std::string>{"a", "b", "none"}, now_);
  ASSERT_TRUE(evicted.ok()) << evicted.status().ToString();
  EXPECT_EQ(*evicted, 1u);
  EXPECT_EQ(EvictedInEvents(*engine), (std::vector<std::string>{"notes/a"}));
  EXPECT_EQ(Keys(*engine, "notes"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(engine->statistics().documents_evicted, 1u);

  // The server keeps a, and the next pull does not bring it back: nothing
  // changed there.
  auto on_server = server_.ServePull("alice", {"", 100});
  ASSERT_TRUE(on_server.ok());
  EXPECT_EQ(on_server->changes.size(), 3u);
  EXPECT_EQ(Sync(*engine).pushed, 1u);
  EXPECT_FALSE(Has(*engine, "notes", "a"));
}

TEST_F(RetentionTest, AWholeCollectionIsEvictedWhenNoKeysAreNamed) {
  MemoryStore store;
  auto engine = Open(store);
  for (const char* key : {"r1", "r2", "r3"})
    Put(*engine, "readings", key);
  Put(*engine, "notes", "n1");
  Sync(*engine);
  Put(*engine, "readings", "r2");  // pending again: stays
  auto evicted = engine->HandleEvict("readings", std::nullopt, now_);
  ASSERT_TRUE(evicted.ok());
  EXPECT_EQ(*evicted, 2u);
  EXPECT_EQ(Keys(*engine, "readings"), (std::vector<std::string>{"r2"}));
  EXPECT_TRUE(Has(*engine, "notes", "n1"));
  EXPECT_EQ(engine->HandleEvict("", std::nullopt, now_).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->HandleEvict("notes", std::vector<std::string>{""}, now_).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(RetentionTest, AnEvictedDocumentComesBackWhenTheServerChangesIt) {
  MemoryStore store;
  auto engine = Open(store);
  Put(*engine, "notes", "a");
  Sync(*engine);
  ASSERT_TRUE(engine->HandleEvict("notes", std::vector<std::string>{"a"}, now_).ok());
  {  // Another device of the user writes a again.
    MemoryStore other_store;
    auto other = Open(other_store, {}, /*seed=*/14);
    Sync(*other);
    Put(*other, "notes", "a");
    Sync(*other);
  }
  EXPECT_EQ(Sync(*engine).pulled, 1u);
  EXPECT_TRUE(Has(*engine, "notes", "a"));
}

TEST_F(RetentionTest, AnAgeRuleEvictsWhatWasSyncedLongerAgoAfterARun) {
  MemoryStore store;
  EngineOptions options;
  options.retention["readings"] = {.max_age_ms = 60 * kMinute};
  auto engine = Open(store, options);
  Put(*engine, "readings", "old");
  Put(*engine, "notes", "n");  // no rule: never evicted
  Sync(*engine);
  Later(30 * kMinute);
  Put(*engine, "readings", "newer");
  Sync(*engine);
  Put(*engine, "readings", "pending");
  Later(31 * kMinute);
  driver_.fault = [](const HttpRequest&) { return HttpResponse{503, "", "", ""}; };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver_.Pump(*engine, now_);
  EXPECT_TRUE(Has(*engine, "readings", "old")) << "a failed run evicts nothing";
  driver_.fault = nullptr;
  driver_.events.clear();

  Later(60 * kMinute);  // the retry is due by now
  engine->HandleTimeout(now_);
  driver_.Pump(*engine, now_);
  ASSERT_EQ(driver_.EventsOf<SyncCompletedEvent>().size(), 1u);
  // "pending" was pushed by this very run: synced now, it stays.
  EXPECT_EQ(Keys(*engine, "readings"), (std::vector<std::string>{"pending"}));
  EXPECT_TRUE(Has(*engine, "notes", "n"));
  EXPECT_EQ(engine->statistics().documents_evicted, 2u);
}

TEST_F(RetentionTest, ACountRuleKeepsTheMostRecentlySyncedAtOpenAndAfterRuns) {
  MemoryStore store;
  {
    auto engine = Open(store);
    for (const char* key : {"r1", "r2", "r3"}) {
      Put(*engine, "readings", key);
      Sync(*engine);
      Later(kMinute);
    }
  }
  EngineOptions options;
  options.retention["readings"] = {.max_count = 2};
  auto engine = Open(store, options);  // the pass at open
  EXPECT_EQ(Keys(*engine, "readings"), (std::vector<std::string>{"r2", "r3"}));
  EXPECT_EQ(EvictedInEvents(*engine), (std::vector<std::string>{"readings/r1"}));
  Put(*engine, "readings", "r4");
  Sync(*engine);
  EXPECT_EQ(Keys(*engine, "readings"), (std::vector<std::string>{"r3", "r4"}));
}

// Documents synced in one run share a sync time: the count lets the first
// keys go. Documents with pending writes stay, even when a whole collection
// is evicted.
TEST_F(RetentionTest, ACountRuleBreaksTiesByKeyAndSkipsPendingDocuments) {
  MemoryStore store;
  EngineOptions options;
  options.retention["readings"] = {.max_count = 1};
  auto engine = Open(store, options);
  for (const char* key : {"d", "b", "a", "c"})
    Put(*engine, "readings", key);
  Sync(*engine);
  EXPECT_EQ(Keys(*engine, "readings"), (std::vector<std::string>{"d"}));
  Later(kMinute);
  Put(*engine, "readings", "d");  // pending: kept whatever the count says
  Put(*engine, "readings", "e");
  driver_.fault = [](const HttpRequest&) { return HttpResponse{503, "", "", ""}; };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver_.Pump(*engine, now_);
  driver_.fault = nullptr;
  auto evicted = engine->HandleEvict("readings", std::nullopt, now_);
  ASSERT_TRUE(evicted.ok());
  EXPECT_EQ(*evicted, 0u) << "both are pending";
}

TEST_F(RetentionTest, RulesAreCheckedAtOpen) {
  MemoryStore store;
  EngineOptions no_bound;
  no_bound.retention["readings"] = {};
  EXPECT_EQ(SyncEngine::Open(store, no_bound, now_).status().code(), ErrorCode::kInvalidArgument);
  EngineOptions bad_name;
  bad_name.retention[""] = {.max_count = 1};
  EXPECT_EQ(SyncEngine::Open(store, bad_name, now_).status().code(), ErrorCode::kInvalidArgument);
}

// A store of format 1 kept no sync time in its server copies: they count as
// synced when the store is first opened by a Ferry that records it.
TEST_F(RetentionTest, CopiesOfAFormatOneStoreCountAsSyncedAtTheUpgrade) {
  MemoryStore store;
  {
    auto engine = Open(store);
    Put(*engine, "readings", "r1");
    Sync(*engine);
  }
  ASSERT_TRUE(store.Put("m/format", "1").ok());
  ASSERT_TRUE(store.Delete("m/copies_timed_since").ok());
  ASSERT_TRUE(store.Put(std::string("s/readings\0r1", 13), "1 1\n{\"k\":\"r1\"}").ok());
  Later(10 * kMinute);
  EngineOptions options;
  options.retention["readings"] = {.max_age_ms = 5 * kMinute};
  auto engine = Open(store, options);
  EXPECT_TRUE(Has(*engine, "readings", "r1")) << "synced at the upgrade, not at the epoch";
  auto format = store.Get("m/format");
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(format->value_or(""), "2");
  engine.reset();
  Later(6 * kMinute);
  engine = Open(store, options);
  EXPECT_FALSE(Has(*engine, "readings", "r1"));
}

}  // namespace
}  // namespace ferry
