// Conflicts a person resolves (issue 17): in a collection whose strategy is
// manual, or when a custom resolver defers, the conflict is kept with base,
// local and remote, survives a reopen, shows the server's document
// meanwhile, and is settled later by ResolveConflict, whose answer is pushed
// like any write and recorded in the conflict log.
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/quiet_engine.h"

namespace ferry {
namespace {

using testing::InlineDriver;

class OpenConflictsTest : public ::testing::Test {
 protected:
  static EngineOptions Manual() {
    EngineOptions options;
    options.conflicts.collections["notes"] = ConflictStrategy::kManual;
    return options;
  }

  std::unique_ptr<SyncEngine> Open(MemoryStore& store, uint64_t seed, EngineOptions options = {}) {
    return testing::OpenQuietEngine(store, seed, now_, std::move(options));
  }

  void Put(SyncEngine& engine, const std::string& key, Json value) {
    EXPECT_TRUE(engine.HandleLocalWrite(MutationOp::kPut, {"notes", key}, value, now_).ok());
  }

  void Sync(SyncEngine& engine, InlineDriver& driver) {
    now_.wall += 1000;
    now_.monotonic += 1000;
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver.Pump(engine, now_);
  }

  // Both devices hold {"v": 0}; then `other` writes {"v": 1} and syncs
  // first, and `device`'s {"v": 2} meets it.
  void Conflict(const std::string& key) {
    Put(*other_, key, Json{{"v", 0}});
    Sync(*other_, driver_a_);
    Sync(*device_, driver_b_);
    Put(*other_, key, Json{{"v", 1}});
    Put(*device_, key, Json{{"v", 2}});
    Sync(*other_, driver_a_);
    Sync(*device_, driver_b_);
  }

  std::vector<OpenConflict> Listed() {
    auto conflicts = device_->Conflicts();
    EXPECT_TRUE(conflicts.ok()) << conflicts.status().ToString();
    return conflicts.ok() ? *conflicts : std::vector<OpenConflict>{};
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& key) {
    auto value = engine.Get({"notes", key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  Instant now_{1'000, 1'700'000'000'000};
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_a_{server_, "alice"}, driver_b_{server_, "alice"};
  MemoryStore other_store_, device_store_;
  std::unique_ptr<SyncEngine> other_ = Open(other_store_, 1);
  std::unique_ptr<SyncEngine> device_ = Open(device_store_, 2, Manual());
};

TEST_F(OpenConflictsTest, IsKeptWithBaseLocalAndRemoteWhileTheServersDocumentIsShown) {
  Conflict("n1");
  auto open = Listed();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].document, (DocumentId{"notes", "n1"}));
  EXPECT_EQ(open[0].base_json, R"({"v":0})");
  EXPECT_EQ(open[0].local_json, R"({"v":2})");
  EXPECT_EQ(open[0].remote_json, R"({"v":1})");
  EXPECT_FALSE(open[0].local_hlc.empty());
  EXPECT_FALSE(open[0].remote_hlc.empty());
  EXPECT_EQ(open[0].strategy, ConflictStrategy::kManual);
  EXPECT_GT(open[0].run_id, 0u);
  EXPECT_GT(open[0].server_version, 0u);
  EXPECT_EQ(Get(*device_, "n1"), Json({{"v", 1}}));
  EXPECT_EQ(device_->status().pending, 0u);
  auto events = driver_b_.EventsOf<SyncConflictEvent>();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].resolution, "manual");
  EXPECT_EQ(events[0].resolved.value, Json({{"v", 1}}));
  // Nothing is resolved yet, so nothing is logged.
  EXPECT_TRUE(device_->ConflictLog(0, 0)->empty());
}

TEST_F(OpenConflictsTest, IsResolvedAfterAReopenAndTheAnswerIsPushedAndLogged) {
  Conflict("n1");
  device_.reset();
  device_ = Open(device_store_, 2, Manual());
  ASSERT_EQ(Listed().size(), 1u);

  ASSERT_TRUE(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 3}}, now_).ok());
  EXPECT_TRUE(Listed().empty());
  EXPECT_EQ(Get(*device_, "n1"), Json({{"v", 3}}));
  Sync(*device_, driver_b_);
  Sync(*other_, driver_a_);
  EXPECT_EQ(Get(*other_, "n1"), Json({{"v", 3}}));
  EXPECT_EQ(device_->statistics().conflicts, 1u);  // the answer met no second conflict

  auto log = device_->ConflictLog(0, 0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].strategy, ConflictStrategy::kManual);
  EXPECT_EQ((*log)[0].winner, "new");
  EXPECT_EQ((*log)[0].resolution, "manual");
  EXPECT_EQ(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 4}}, now_).code(),
            ErrorCode::kNotFound);
}

TEST_F(OpenConflictsTest, KeepingTheServersDocumentWritesNothingAndADeleteIsPushed) {
  Conflict("kept");
  Conflict("deleted");
  ASSERT_EQ(Listed().size(), 2u);

  ASSERT_TRUE(device_->ResolveConflict({"notes", "kept"}, Json{{"v", 1}}, now_).ok());
  EXPECT_EQ(device_->status().pending, 0u);
  ASSERT_TRUE(device_->ResolveConflict({"notes", "deleted"}, std::nullopt, now_).ok());
  EXPECT_EQ(device_->status().pending, 1u);
  Sync(*device_, driver_b_);
  Sync(*other_, driver_a_);
  EXPECT_EQ(Get(*other_, "kept"), Json({{"v", 1}}));
  EXPECT_EQ(Get(*other_, "deleted"), std::nullopt);

  auto log = device_->ConflictLog(0, 0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].winner, "server");
  EXPECT_EQ((*log)[1].winner, "new");
}

TEST_F(OpenConflictsTest, ShowsTheServersNewerDocumentAfterAPullAndResolvesAgainstIt) {
  Conflict("n1");
  const Version first = Listed().at(0).server_version;
  Put(*other_, "n1", Json{{"v", 5}});
  Sync(*other_, driver_a_);
  Sync(*device_, driver_b_);

  auto open = Listed();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].remote_json, R"({"v":5})");
  EXPECT_GT(open[0].server_version, first);
  EXPECT_EQ(open[0].local_json, R"({"v":2})");
  // The answer goes against the version seen: it applies, no new conflict.
  ASSERT_TRUE(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 6}}, now_).ok());
  Sync(*device_, driver_b_);
  EXPECT_EQ(device_->statistics().conflicts, 1u);
  Sync(*other_, driver_a_);
  EXPECT_EQ(Get(*other_, "n1"), Json({{"v", 6}}));
}

TEST_F(OpenConflictsTest, AResolveRunAgainWithItsWriteIdChangesNothing) {
  Conflict("n1");
  ASSERT_TRUE(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 3}}, now_, "resolve-1").ok());
  Put(*device_, "n1", Json{{"v", 4}});
  ASSERT_TRUE(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 3}}, now_, "resolve-1").ok());
  EXPECT_EQ(Get(*device_, "n1"), Json({{"v", 4}}));
  EXPECT_EQ(device_->ConflictLog(0, 0)->size(), 1u);
}

TEST_F(OpenConflictsTest, ACustomResolverThatDefersKeepsTheConflictOpen) {
  EngineOptions options;
  options.conflicts.default_strategy = ConflictStrategy::kCustom;
  int asked = 0;
  options.conflicts.custom = [&](const ConflictInput&) -> Result<std::optional<Json>> {
    ++asked;
    return DeferResolution();
  };
  MemoryStore store;
  device_ = Open(store, 3, std::move(options));
  Conflict("n1");
  EXPECT_EQ(asked, 1);
  auto open = Listed();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].strategy, ConflictStrategy::kCustom);
  EXPECT_EQ(driver_b_.EventsOf<SyncConflictEvent>().at(0).resolution, "deferred");
  ASSERT_TRUE(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 2}}, now_).ok());
  EXPECT_EQ(device_->ConflictLog(0, 0)->at(0).winner, "local");
}

TEST_F(OpenConflictsTest, EvictionKeepsAnOpenConflictsDocument) {
  Conflict("n1");
  Put(*other_, "n2", Json{{"v", 0}});
  Sync(*other_, driver_a_);
  Sync(*device_, driver_b_);
  auto evicted = device_->HandleEvict("notes", std::nullopt, now_);
  ASSERT_TRUE(evicted.ok());
  EXPECT_EQ(*evicted, 1u);
  EXPECT_EQ(Get(*device_, "n1"), Json({{"v", 1}}));
  EXPECT_EQ(Get(*device_, "n2"), std::nullopt);
}

TEST_F(OpenConflictsTest, RefusesAnInvalidAnswerAndLeavesTheConflictOpen) {
  Conflict("n1");
  EXPECT_EQ(device_->ResolveConflict({"notes", ""}, Json{{"v", 3}}, now_).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(device_->ResolveConflict({"notes", "n1"}, Json{{"v", 3}}, now_, "bad id!").code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Listed().size(), 1u);
}

}  // namespace
}  // namespace ferry
