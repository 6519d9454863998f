// Write ids (SyncEngine::HandleLocalWrites): a call run again with the same
// id, by this engine or by another one on the same store later, is applied
// once. Browser contexts rely on this when a follower re-runs a write the
// owner that went away may already have committed (docs/CONTEXTS.md).
#include <gtest/gtest.h>

#include "ferry/engine.h"
#include "ferry/store_memory.h"
#include "support/inline_driver.h"
#include "support/push_results.h"

namespace ferry {
namespace {

using testing::InlineDriver;
using testing::RejectEveryPush;

constexpr TimeMs kStart = 1'700'000'000'000;

class IdempotentWriteTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncEngine> Open(EngineOptions options = {}) {
    options.random_seed = 1;
    options.sync_on_local_write = false;
    auto engine = SyncEngine::Open(store_, options, now_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  Result<std::vector<uint64_t>> Write(SyncEngine& engine, const std::string& key, Json value,
                                      std::string_view write_id) {
    const LocalWrite write{MutationOp::kPut, {"notes", key}, std::move(value)};
    return engine.HandleLocalWrites({&write, 1}, now_, write_id);
  }

  std::unique_ptr<SyncEngine> OpenRemembering(std::size_t write_id_limit) {
    EngineOptions options;
    options.write_id_limit = write_id_limit;
    return Open(options);
  }

  std::optional<Json> Get(SyncEngine& engine, const std::string& key) {
    auto value = engine.Get({"notes", key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  SyncRunRecord Sync(SyncEngine& engine) {
    const std::size_t before = driver_.EventsOf<SyncCompletedEvent>().size();
    engine.HandleTrigger(TriggerReason::kManual, now_);
    driver_.Pump(engine, now_);
    auto completed = driver_.EventsOf<SyncCompletedEvent>();
    EXPECT_EQ(completed.size(), before + 1) << "the sync did not complete";
    return completed.size() > before ? completed.back().run : SyncRunRecord{};
  }

  std::size_t ChangeEvents(SyncEngine& engine) {
    driver_.Pump(engine, now_);
    return driver_.EventsOf<DocumentsChangedEvent>().size();
  }

  std::size_t StoredWriteIds() {
    std::size_t count = 0;
    EXPECT_TRUE(store_
                    .ScanPrefix("w/",
                                [&](std::string_view, std::string_view) {
                                  ++count;
                                  return true;
                                })
                    .ok());
    return count;
  }

  TimeMs now_ = kStart;
  MemoryStore store_;
  MemoryStore server_store_;
  ServerState server_{server_store_, "ep1"};
  InlineDriver driver_{server_, "alice"};
};

TEST_F(IdempotentWriteTest, SameIdTwiceIsOneMutationWithTheSameSeqs) {
  auto engine = Open();
  auto first = Write(*engine, "a", Json{{"n", 1}}, "call-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(ChangeEvents(*engine), 1u);
  EXPECT_EQ(Sync(*engine).pushed, 1u);  // sent: a repeat could no longer coalesce with it

  auto again = Write(*engine, "a", Json{{"n", 1}}, "call-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(engine->status().pending, 0u);  // nothing new to push
  EXPECT_EQ(ChangeEvents(*engine), 1u);     // and nothing changed
  Sync(*engine);
  EXPECT_EQ(server_.statistics().mutations_applied, 1u);
}

TEST_F(IdempotentWriteTest, IdIsRememberedByTheStoreAcrossReopen) {
  std::vector<uint64_t> first;
  {
    auto engine = Open();
    auto written = Write(*engine, "a", Json{{"n", 1}}, "call-1");
    ASSERT_TRUE(written.ok());
    first = *written;
  }
  auto reopened = Open();  // another owner of the same store
  auto again = Write(*reopened, "a", Json{{"n", 1}}, "call-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, first);
  EXPECT_EQ(reopened->status().pending, 1u);
  EXPECT_EQ(Sync(*reopened).pushed, 1u);
  EXPECT_EQ(server_.statistics().mutations_applied, 1u);
}

TEST_F(IdempotentWriteTest, DifferentIdsAndNoIdAreSeparateMutations) {
  auto engine = Open();
  auto one = Write(*engine, "a", Json{{"n", 1}}, "call-1");
  Sync(*engine);
  auto two = Write(*engine, "a", Json{{"n", 1}}, "call-2");
  Sync(*engine);
  auto three = Write(*engine, "a", Json{{"n", 1}}, "");
  Sync(*engine);
  ASSERT_TRUE(one.ok() && two.ok() && three.ok());
  EXPECT_NE(*one, *two);
  EXPECT_NE(*two, *three);
  EXPECT_EQ(server_.statistics().mutations_applied, 3u);
  EXPECT_EQ(StoredWriteIds(), 2u);  // a call without an id leaves no record
}

TEST_F(IdempotentWriteTest, MalformedIdIsRefusedAndNothingIsWritten) {
  auto engine = Open();
  for (const std::string& id : {std::string(65, 'a'), std::string("a/b"), std::string("a b"),
                                std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_EQ(Write(*engine, "a", 1, id).status().code(), ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(engine->RetryFailedMutation(1, now_, id).status().code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(engine->DiscardFailedMutation(1, now_, id).code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(engine->status().pending, 0u);
  EXPECT_EQ(ChangeEvents(*engine), 0u);
  EXPECT_TRUE(Write(*engine, "a", 1, std::string(64, 'Z')).ok());
  EXPECT_TRUE(Write(*engine, "b", 1, "0123456789abcdef_-ABC").ok());
}

TEST_F(IdempotentWriteTest, OnlyTheNewestIdsAreRemembered) {
  auto engine = OpenRemembering(3);
  for (const char* id : {"id-1", "id-2", "id-3", "id-4", "id-5"})
    ASSERT_TRUE(Write(*engine, id, 1, id).ok());
  EXPECT_EQ(StoredWriteIds(), 3u);
  EXPECT_EQ(engine->status().pending, 5u);
  ASSERT_TRUE(Write(*engine, "again", 1, "id-5").ok());  // remembered: nothing written
  ASSERT_TRUE(Write(*engine, "again", 1, "id-3").ok());
  EXPECT_EQ(Get(*engine, "again"), std::nullopt);
  ASSERT_TRUE(Write(*engine, "again", 1, "id-2").ok());  // forgotten: written again
  EXPECT_NE(Get(*engine, "again"), std::nullopt);
  EXPECT_EQ(StoredWriteIds(), 3u);
}

TEST_F(IdempotentWriteTest, LowerLimitOnReopenForgetsTheExcessAtTheNextWrite) {
  {
    auto engine = Open();
    for (const char* id : {"id-1", "id-2", "id-3", "id-4"})
      ASSERT_TRUE(Write(*engine, id, 1, id).ok());
  }
  auto engine = OpenRemembering(2);
  ASSERT_TRUE(Write(*engine, "x", 1, "id-5").ok());
  EXPECT_EQ(StoredWriteIds(), 2u);
  ASSERT_TRUE(Write(*engine, "y", 1, "id-4").ok());  // still remembered
  EXPECT_EQ(Get(*engine, "y"), std::nullopt);
}

TEST_F(IdempotentWriteTest, RetryAndDiscardOfADeadLetterRunTwiceActOnce) {
  auto engine = Open();
  ASSERT_TRUE(Write(*engine, "bad1", 1, "").ok());
  ASSERT_TRUE(Write(*engine, "bad2", 2, "").ok());
  driver_.fault = RejectEveryPush;
  Sync(*engine);
  driver_.fault = nullptr;
  auto failed = engine->FailedMutations();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 2u);
  const uint64_t retry_seq = failed->at(0).mutation.seq, discard_seq = failed->at(1).mutation.seq;

  auto retried = engine->RetryFailedMutation(retry_seq, now_, "retry-1");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  auto retried_again = engine->RetryFailedMutation(retry_seq, now_, "retry-1");
  ASSERT_TRUE(retried_again.ok()) << retried_again.status().ToString();
  EXPECT_EQ(*retried_again, *retried);
  EXPECT_EQ(engine->status().pending, 1u);

  EXPECT_TRUE(engine->DiscardFailedMutation(discard_seq, now_, "discard-1").ok());
  EXPECT_TRUE(engine->DiscardFailedMutation(discard_seq, now_, "discard-1").ok());
  EXPECT_EQ(engine->DiscardFailedMutation(discard_seq, now_, "discard-2").code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(engine->status().failed, 0u);
  EXPECT_EQ(Sync(*engine).pushed, 1u);
  EXPECT_EQ(server_.statistics().mutations_applied, 1u);
}

}  // namespace
}  // namespace ferry
