// Scope (issue 17): upload-only collections are pushed but never pulled
// back, and a pull scope limits the collections a client pulls; a new scope
// pulls what became visible and forgets what left it, keeping pending writes.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

class PullScopeTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(MemoryStore& store, EngineOptions options = {}) {
    return testing::OpenQuietEngine(store, 11, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& collection, const std::string& key) {
    EXPECT_TRUE(
        engine.HandleLocalWrite(MutationOp::kPut, {collection, key}, Json{{"k", key}}, now_).ok());
  }

  void Sync(SyncEngine& engine) {
    InlineDriver driver(server_, "alice");
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(engine, now_);
    EXPECT_EQ(Pending(engine), 0u);
  }

  std::size_t Pending(SyncEngine& engine) {
    auto pending = engine.PendingMutations(0, 100);
    EXPECT_TRUE(pending.ok());
    return pending.ok() ? pending->size() : 0;
  }

  bool Has(SyncEngine& engine, const std::string& collection, const std::string& key) {
    auto value = engine.Get({collection, key});
    EXPECT_TRUE(value.ok());
    return value.ok() && value->has_value();
  }

  // Another device of the same user writes notes n1 and tasks t1.
  void SeedNotesAndTasks() {
    MemoryStore other_store;
    auto other = Open(other_store);
    Put(*other, "notes", "n1");
    Put(*other, "tasks", "t1");
    Sync(*other);
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
};

TEST_F(PullScopeTest, UploadOnlyWritesReachTheServerButNoOtherDevice) {
  MemoryStore a_store;
  MemoryStore b_store;
  EngineOptions fleet;
  fleet.upload_only = {"readings"};
  auto a = Open(a_store, fleet);
  auto b = Open(b_store, fleet);
  Put(*a, "readings", "r1");
  Put(*a, "notes", "n1");
  Sync(*a);
  auto stored = server_.GetDocument("alice", {"readings", "r1"});
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->state.exists);
  Sync(*b);
  EXPECT_TRUE(Has(*b, "notes", "n1"));
  EXPECT_FALSE(Has(*b, "readings", "r1"));
  // Device A keeps its own reading as a synced document (API.md).
  EXPECT_TRUE(Has(*a, "readings", "r1"));
}

TEST_F(PullScopeTest, AScopeOfNotesPullsNotesAndWideningItPullsTheTasks) {
  SeedNotesAndTasks();
  MemoryStore store;
  EngineOptions notes_only;
  notes_only.pull_collections = std::vector<std::string>{"notes"};
  auto engine = Open(store, notes_only);
  Sync(*engine);
  EXPECT_TRUE(Has(*engine, "notes", "n1"));
  EXPECT_FALSE(Has(*engine, "tasks", "t1"));
  // The cursor now stands past t1: a wider scope must not start from it.
  engine.reset();
  EngineOptions wider;
  wider.pull_collections = std::vector<std::string>{"tasks", "notes"};
  engine = Open(store, wider);
  Sync(*engine);
  EXPECT_TRUE(Has(*engine, "notes", "n1"));
  EXPECT_TRUE(Has(*engine, "tasks", "t1"));
  // The same scope in another order is not a new scope: nothing pulled again.
  const uint64_t pulled = engine->statistics().documents_pulled;
  engine.reset();
  wider.pull_collections = std::vector<std::string>{"notes", "tasks"};
  engine = Open(store, wider);
  Sync(*engine);
  EXPECT_EQ(engine->statistics().documents_pulled, pulled);
}

TEST_F(PullScopeTest, NarrowingTheScopeForgetsWhatLeftItButKeepsPendingWrites) {
  SeedNotesAndTasks();
  MemoryStore store;
  auto engine = Open(store);
  Put(*engine, "notes", "n2");
  Sync(*engine);
  EXPECT_TRUE(Has(*engine, "notes", "n1"));
  EXPECT_TRUE(Has(*engine, "tasks", "t1"));
  engine.reset();
  EngineOptions tasks_only;
  tasks_only.pull_collections = std::vector<std::string>{"tasks"};
  engine = Open(store, tasks_only);
  // A local edit of n1 lands while the resync runs, so it is still pending
  // when the resync ends (its push fails).
  InlineDriver driver(server_, "alice");
  bool edited = false;
  driver.fault = [&](const HttpRequest& request) -> std::optional<HttpResponse> {
    if (request.method == "POST" && edited) return HttpResponse{503, "", "", ""};
    if (request.method == "GET" && !edited) {
      edited = true;
      Put(*engine, "notes", "n1");
    }
    return std::nullopt;
  };
  engine->HandleTrigger(TriggerReason::kManual, now_);
  driver.Pump(*engine, now_);
  EXPECT_EQ(engine->statistics().full_resyncs, 0u);  // a scope change is not a 410
  EXPECT_TRUE(Has(*engine, "tasks", "t1"));
  EXPECT_FALSE(Has(*engine, "notes", "n2"));  // synced, out of scope: forgotten
  EXPECT_TRUE(Has(*engine, "notes", "n1"));   // pending: kept
  EXPECT_EQ(Pending(*engine), 1u);
}

TEST_F(PullScopeTest, AnInvalidCollectionNameIsInvalidArgument) {
  MemoryStore store;
  EngineOptions bad;
  bad.upload_only = {""};
  auto engine = SyncEngine::Open(store, bad, now_);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
