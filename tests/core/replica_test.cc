#include "ferry/replica.h"

#include <gtest/gtest.h>

#include "ferry/store_memory.h"

namespace ferry {
namespace {

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(outbox_.Load().ok()); }

  OutboxEntry Write(const std::string& key, MutationOp op, Json value) {
    Mutation m;
    m.client_id = "c";
    m.seq = outbox_.AllocateSeq();
    m.op = op;
    m.document = {"docs", key};
    m.value = std::move(value);
    m.hlc = {1000, static_cast<uint32_t>(m.seq), "c"};
    Transaction txn(store_);
    auto write = replica_.StageLocalWrite(txn, m, "", /*allow_coalescing=*/false);
    EXPECT_TRUE(write.ok());
    EXPECT_TRUE(txn.Commit().ok());
    return write.ok() ? write->entry : OutboxEntry{};
  }

  bool Remote(const std::string& key, Version version, std::optional<Json> value,
              bool resync = false) {
    Transaction txn(store_);
    PulledChange change{
        {"docs", key}, version, value.has_value(), value ? DumpJson(*value) : "", {}};
    auto changed = replica_.StageRemoteChange(txn, change, resync);
    EXPECT_TRUE(changed.ok());
    EXPECT_TRUE(txn.Commit().ok());
    return changed.ok() && *changed;
  }

  std::optional<Json> Get(const std::string& key) {
    auto value = replica_.Get({"docs", key});
    EXPECT_TRUE(value.ok());
    return value.ok() ? *value : std::nullopt;
  }

  MemoryStore store_;
  Outbox outbox_{store_, "c"};
  Replica replica_{store_, outbox_};
};

TEST_F(ReplicaTest, LocalViewReplaysPendingWritesOverTheServerCopy) {
  Remote("a", 5, Json{{"title", "server"}, {"body", "b"}});
  OutboxEntry patch = Write("a", MutationOp::kPatch, Json{{"title", "local"}});
  EXPECT_EQ(patch.mutation.base_version, 5u);
  EXPECT_EQ(Get("a"), (Json{{"title", "local"}, {"body", "b"}}));
}

TEST_F(ReplicaTest, RemoteChangesRebasePendingWrites) {
  Remote("a", 5, Json{{"title", "t"}, {"body", "b"}});
  Write("a", MutationOp::kPatch, Json{{"title", "local"}});
  EXPECT_TRUE(Remote("a", 9, Json{{"title", "t"}, {"body", "remote"}}));
  EXPECT_EQ(Get("a"), (Json{{"title", "local"}, {"body", "remote"}}));
  // A remote delete under a pending patch: the patch rebuilds from {}.
  EXPECT_TRUE(Remote("a", 12, std::nullopt));
  EXPECT_EQ(Get("a"), (Json{{"title", "local"}}));
}

TEST_F(ReplicaTest, OlderOrRepeatedRemoteVersionsAreIgnored) {
  EXPECT_TRUE(Remote("a", 5, Json(1)));
  EXPECT_FALSE(Remote("a", 4, Json(2)));
  EXPECT_FALSE(Remote("a", 5, Json(3)));
  EXPECT_EQ(Get("a"), Json(1));
}

// A resync after a server was restored from a backup: its documents may
// carry lower versions than the copies, or the same version for another
// write, and they are the truth.
TEST_F(ReplicaTest, AResyncTakesTheServersDocumentWhateverItsVersion) {
  EXPECT_TRUE(Remote("a", 1, Json(1)));
  EXPECT_TRUE(Remote("a", 9, std::nullopt));  // a delete the restore lost
  EXPECT_TRUE(Remote("a", 1, Json(1), /*resync=*/true));
  EXPECT_EQ(Get("a"), Json(1));
  EXPECT_TRUE(Remote("b", 7, Json("lost")));
  EXPECT_TRUE(Remote("b", 7, Json("restored"), /*resync=*/true));
  EXPECT_EQ(Get("b"), Json("restored"));
  EXPECT_FALSE(Remote("b", 7, Json("restored"), /*resync=*/true)) << "nothing changed";
}

TEST_F(ReplicaTest, AppliedAckFoldsIntoTheCopyOnlyAtThePreviousVersion) {
  Remote("a", 5, Json{{"n", 1}});
  OutboxEntry first = Write("a", MutationOp::kPatch, Json{{"m", 2}});
  {
    Transaction txn(store_);
    ASSERT_TRUE(replica_.StageApplied(txn, first, 5, 6).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(Get("a"), (Json{{"n", 1}, {"m", 2}}));
  Transaction probe(store_);
  auto copy = replica_.ReadServerCopy(probe, {"docs", "a"});
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->version, 6u);

  // An ack whose previous version is not the copy's leaves the copy alone:
  // the copy is stale and the pull must bring the real state.
  OutboxEntry second = Write("a", MutationOp::kPatch, Json{{"k", 3}});
  {
    Transaction txn(store_);
    ASSERT_TRUE(replica_.StageApplied(txn, second, 8, 9).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  Transaction after(store_);
  auto stale = replica_.ReadServerCopy(after, {"docs", "a"});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->version, 6u);
  EXPECT_TRUE(Remote("a", 9, Json{{"n", 1}, {"m", 2}, {"x", 0}, {"k", 3}}));
  EXPECT_EQ(Get("a"), (Json{{"n", 1}, {"m", 2}, {"x", 0}, {"k", 3}}));
  EXPECT_EQ(outbox_.pending_count(), 0u);
}

TEST_F(ReplicaTest, DeadLetteredWriteLeavesTheView) {
  Remote("a", 5, Json{{"n", 1}});
  OutboxEntry patch = Write("a", MutationOp::kPatch, Json{{"n", 2}});
  EXPECT_EQ(Get("a"), (Json{{"n", 2}}));
  Transaction txn(store_);
  ASSERT_TRUE(replica_.StageDeadLetter(txn, patch, "refused").ok());
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Get("a"), (Json{{"n", 1}}));
  EXPECT_EQ(outbox_.dead_count(), 1u);
}

TEST_F(ReplicaTest, ScanMergesPendingAndServerDocumentsInKeyOrder) {
  Remote("b", 1, Json("server-b"));
  Remote("d", 2, Json("server-d"));
  Remote("e", 3, Json("server-e"));
  Write("a", MutationOp::kPut, Json("local-a"));
  Write("d", MutationOp::kDelete, Json());
  Write("e", MutationOp::kPut, Json("local-e"));
  Write("f", MutationOp::kPut, Json("local-f"));
  auto all = replica_.Scan("docs", "", 0);
  ASSERT_TRUE(all.ok());
  std::vector<std::pair<std::string, Json>> expected = {
      {"a", "local-a"}, {"b", "server-b"}, {"e", "local-e"}, {"f", "local-f"}};
  EXPECT_EQ(*all, expected);
  auto limited = replica_.Scan("docs", "", 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
  auto other = replica_.Scan("doc", "", 0);  // a collection prefix is not the collection
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(ReplicaTest, CorruptStoredDocumentIsAClearError) {
  ASSERT_TRUE(store_.Put(std::string("s/docs\0a", 8), "{broken").ok());
  auto value = replica_.Get({"docs", "a"});
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace ferry
