#include "ferry/outbox.h"

#include <gtest/gtest.h>

#include "ferry/store_memory.h"

namespace ferry {
namespace {

Mutation Write(uint64_t seq, MutationOp op, Json value, std::string key = "k") {
  Mutation m;
  m.client_id = "c";
  m.seq = seq;
  m.op = op;
  m.document = {"docs", std::move(key)};
  m.value = std::move(value);
  m.hlc = {1000 + static_cast<int64_t>(seq), 0, "c"};
  return m;
}

class OutboxTest : public ::testing::Test {
 protected:
  void Add(const Mutation& m, uint32_t attempts = 0) {
    Transaction txn(store_);
    OutboxEntry entry{m, "", attempts, false, "", 0, 0};
    ASSERT_TRUE(outbox_.StagePut(txn, entry).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  // The entry as stored now: a copy that later changes leave stale.
  OutboxEntry Stored(uint64_t seq) {
    Transaction txn(store_);
    auto entry = outbox_.Read(txn, seq);
    EXPECT_TRUE(entry.ok() && entry->has_value());
    return entry.ok() && entry->has_value() ? **entry : OutboxEntry{};
  }
  void Remove(const OutboxEntry& entry) {
    Transaction txn(store_);
    ASSERT_TRUE(outbox_.StageRemove(txn, entry).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }

  MemoryStore store_;
  Outbox outbox_{store_, "c"};
};

TEST_F(OutboxTest, BatchesComeInSeqOrderWithinTheCountLimit) {
  ASSERT_TRUE(outbox_.Load().ok());
  for (int i = 0; i < 12; ++i)
    Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, Json{{"i", i}}, "k" + std::to_string(i)));
  auto batch = outbox_.SelectBatch({.max_count = 5, .max_bytes = 1 << 20});
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ((*batch)[i].mutation.seq, i + 1);
}

TEST_F(OutboxTest, BatchesRespectTheByteLimitButAlwaysTakeOne) {
  ASSERT_TRUE(outbox_.Load().ok());
  const std::string big(2000, 'x');
  for (int i = 0; i < 3; ++i)
    Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, Json{{"big", big}},
              "k" + std::to_string(i)));
  auto batch = outbox_.SelectBatch({.max_count = 100, .max_bytes = 4500});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 2u);
  auto single = outbox_.SelectBatch({.max_count = 100, .max_bytes = 10});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->size(), 1u);
}

TEST_F(OutboxTest, DeadLettersAreSkippedByBatchesAndListed) {
  ASSERT_TRUE(outbox_.Load().ok());
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 1, "a"));
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 2, "b"));
  {
    Transaction txn(store_);
    auto first = outbox_.Read(txn, 1);
    ASSERT_TRUE(first.ok() && first->has_value());
    OutboxEntry dead = **first;
    dead.dead = true;
    dead.error = "nope";
    ASSERT_TRUE(outbox_.StagePut(txn, dead).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(outbox_.pending_count(), 1u);
  EXPECT_EQ(outbox_.dead_count(), 1u);
  auto batch = outbox_.SelectBatch({});
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ(batch->front().mutation.seq, 2u);
  auto dead = outbox_.ListDead();
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().error, "nope");
}

// ListDead reads only the entries it knows to be dead; the set it keeps
// must follow every change of state and be rebuilt by Load().
TEST_F(OutboxTest, DeadLettersAreListedInSeqOrderAfterEveryChangeOfState) {
  ASSERT_TRUE(outbox_.Load().ok());
  for (const char* key : {"a", "b", "c", "d"})
    Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 1, key));
  const auto mark = [&](uint64_t seq, bool dead) {
    Transaction txn(store_);
    OutboxEntry entry = Stored(seq);
    entry.dead = dead;
    entry.error = dead ? "rejected " + std::to_string(seq) : "";
    ASSERT_TRUE(outbox_.StagePut(txn, entry).ok());
    ASSERT_TRUE(txn.Commit().ok());
  };
  const auto listed = [](Outbox& outbox) {
    std::vector<uint64_t> seqs;
    auto dead = outbox.ListDead();
    EXPECT_TRUE(dead.ok());
    if (dead.ok())
      for (const OutboxEntry& entry : *dead)
        seqs.push_back(entry.mutation.seq);
    return seqs;
  };
  mark(3, true);
  mark(1, true);
  mark(4, true);
  EXPECT_EQ(listed(outbox_), (std::vector<uint64_t>{1, 3, 4}));
  mark(3, false);     // retried: pending again
  Remove(Stored(4));  // discarded
  EXPECT_EQ(listed(outbox_), (std::vector<uint64_t>{1}));
  EXPECT_EQ(outbox_.dead_count(), 1u);
  EXPECT_EQ(outbox_.pending_count(), 2u);
  Outbox reopened(store_, "c");
  ASSERT_TRUE(reopened.Load().ok());
  EXPECT_EQ(listed(reopened), (std::vector<uint64_t>{1}));
  EXPECT_EQ(reopened.dead_count(), 1u);
}

TEST_F(OutboxTest, LoadRestoresCountersAndNeverReusesASeq) {
  ASSERT_TRUE(outbox_.Load().ok());
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 1, "a"));
  Add(Write(outbox_.AllocateSeq(), MutationOp::kDelete, Json(), "b"), 3);
  Outbox reopened(store_, "c");
  ASSERT_TRUE(reopened.Load().ok());
  EXPECT_EQ(reopened.pending_count(), 2u);
  EXPECT_EQ(reopened.AllocateSeq(), 3u);
  auto batch = reopened.SelectBatch({});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ((*batch)[1].attempts, 3u);
  EXPECT_EQ((*batch)[1].mutation.op, MutationOp::kDelete);
}

TEST(OutboxEntryCodec, EntriesRoundTripWithEveryKindOfString) {
  for (const std::string& text : {std::string("plain"), std::string("q\"b\\s/\n\t\x01\x7F"),
                                  std::string("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string()}) {
    for (bool dead : {false, true}) {
      Mutation m = Write(7, MutationOp::kPatch, Json{{"t", text}}, "key " + text);
      m.document.collection = "c" + text;
      m.base_version = 123456789012345;
      const OutboxEntry entry{m, "", 4000000000u, dead, dead ? "rejected: " + text : "", 0, 0};
      auto decoded = DecodeOutboxEntry("c", 7, EncodeOutboxEntry(entry));
      ASSERT_TRUE(decoded.ok()) << decoded.status().message();
      EXPECT_EQ(decoded->mutation.document.collection, m.document.collection);
      EXPECT_EQ(decoded->mutation.document.key, m.document.key);
      EXPECT_EQ(decoded->mutation.op, MutationOp::kPatch);
      EXPECT_EQ(decoded->mutation.base_version, m.base_version);
      EXPECT_EQ(decoded->mutation.hlc.ToString(), m.hlc.ToString());
      EXPECT_EQ(decoded->mutation.value, m.value);
      EXPECT_EQ(decoded->attempts, 4000000000u);
      EXPECT_EQ(decoded->dead, dead);
      EXPECT_EQ(decoded->error, entry.error);
    }
  }
}

// Headers this version does not write (spacing, another key order, escapes
// it would not use) still decode: the fast reader hands them to ParseJson.
TEST(OutboxEntryCodec, HeadersInOtherFormsStillDecode) {
  const std::string hlc = Write(1, MutationOp::kPut, 1).hlc.ToString();
  for (const std::string& header :
       {"{ \"op\": \"put\", \"c\": \"docs\", \"k\": \"k\", \"b\": 3, \"h\": \"" + hlc +
            "\", \"a\": 2 }",
        "{\"a\":2,\"h\":\"" + hlc + "\",\"b\":3,\"k\":\"k\",\"c\":\"docs\",\"op\":\"put\"}",
        "{\"op\":\"put\",\"c\":\"\\u0064ocs\",\"k\":\"k\",\"b\":3,\"h\":\"" + hlc +
            "\",\"a\":2,\"x\":0}"}) {
    SCOPED_TRACE(header);
    auto decoded = DecodeOutboxEntry("c", 1, "P" + header + "\n{\"v\":1}");
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->mutation.document.collection, "docs");
    EXPECT_EQ(decoded->mutation.base_version, 3u);
    EXPECT_EQ(decoded->attempts, 2u);
    EXPECT_EQ(decoded->value_json, "{\"v\":1}");
  }
  for (const std::string& header :
       {"{\"op\":\"put\",\"c\":\"docs\",\"k\":\"k\",\"b\":-3,\"h\":\"" + hlc + "\",\"a\":2}",
        "{\"op\":\"put\",\"c\":\"docs\",\"k\":\"k\",\"b\":3,\"h\":\"" + hlc +
            "\",\"a\":4294967296}",
        "{\"op\":\"put\",\"c\":\"\\ud800\",\"k\":\"k\",\"b\":3,\"h\":\"" + hlc + "\",\"a\":2}",
        "{\"op\":\"put\",\"c\":\"docs\",\"k\":\"k\",\"b\":3,\"h\":\"" + hlc + "\",\"a\":2}}"}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(DecodeOutboxEntry("c", 1, "P" + header + "\n{}").status().code(),
              ErrorCode::kCorruption);
  }
}

TEST_F(OutboxTest, CorruptEntryIsAClearErrorNotACrash) {
  ASSERT_TRUE(outbox_.Load().ok());
  ASSERT_TRUE(store_.Put("o/00000000000000000001", "P{not json").ok());
  Add(Write(2, MutationOp::kPut, 1, "a"));
  ASSERT_TRUE(outbox_.Load().ok());  // counting needs only the state marks
  auto batch = outbox_.SelectBatch({});
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), ErrorCode::kCorruption);
  // The newest entry is decoded at load (it bounds the clock): corrupt, it
  // makes the load fail with the same clear error.
  ASSERT_TRUE(store_.Put("o/00000000000000000003", "P{\"op\":").ok());
  EXPECT_EQ(outbox_.Load().code(), ErrorCode::kCorruption);
  ASSERT_TRUE(store_.Put("o/00000000000000000003", "").ok());
  EXPECT_EQ(outbox_.Load().code(), ErrorCode::kCorruption);
}

TEST_F(OutboxTest, RemovalsPersistTheSeqCounterSoSeqsAreNeverReused) {
  ASSERT_TRUE(outbox_.Load().ok());
  for (int i = 0; i < 3; ++i)
    Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, i, "k" + std::to_string(i)));
  {
    Transaction txn(store_);
    auto newest = outbox_.Read(txn, 3);
    ASSERT_TRUE(newest.ok() && newest->has_value());
    ASSERT_TRUE(outbox_.StageRemove(txn, **newest).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  Outbox reopened(store_, "c");
  ASSERT_TRUE(reopened.Load().ok());
  EXPECT_EQ(reopened.AllocateSeq(), 4u);  // 3 reached the server; never again
  ASSERT_TRUE(reopened.newest_hlc().has_value());
  EXPECT_EQ(reopened.newest_hlc()->wall_ms, 1002);  // the stamp of seq 2, now the newest
}

// An answer can name an entry that has already left the outbox (answered
// twice, or removed by a second client on the same store, as in issue 12,
// where status().pending read 18446744073709551615). The counts follow what
// the store holds, never what the caller believes.
TEST_F(OutboxTest, RemovingAnEntryThatIsAlreadyGoneLeavesTheCountsTrue) {
  ASSERT_TRUE(outbox_.Load().ok());
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 1, "a"));
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 2, "b"));
  const OutboxEntry stale = Stored(1);
  for (int removal = 0; removal < 3; ++removal) {
    Remove(stale);
    EXPECT_EQ(outbox_.pending_count(), 1u) << "after removal " << removal + 1;
  }
  EXPECT_EQ(outbox_.dead_count(), 0u);
}

TEST_F(OutboxTest, DeadLetteringAnEntryThatIsAlreadyGoneLeavesTheCountsTrue) {
  ASSERT_TRUE(outbox_.Load().ok());
  Add(Write(outbox_.AllocateSeq(), MutationOp::kPut, 1, "a"));
  OutboxEntry dead = Stored(1);
  Remove(dead);
  ASSERT_EQ(outbox_.pending_count(), 0u);
  Transaction txn(store_);
  dead.dead = true;
  ASSERT_TRUE(outbox_.StagePut(txn, dead).ok());  // a copy read when it was still pending
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(outbox_.pending_count(), 0u);
  EXPECT_EQ(outbox_.dead_count(), 1u);
}

TEST(CoalesceMutations, PutThenPatchBecomesOnePut) {
  Mutation put = Write(1, MutationOp::kPut, Json{{"a", 1}, {"b", 2}});
  put.base_version = 7;
  auto combined =
      CoalesceMutations(put, Write(2, MutationOp::kPatch, Json{{"b", nullptr}, {"c", 3}}));
  ASSERT_TRUE(combined.has_value());
  EXPECT_EQ(combined->op, MutationOp::kPut);
  EXPECT_EQ(combined->value, (Json{{"a", 1}, {"c", 3}}));
  EXPECT_EQ(combined->seq, 2u);
  EXPECT_EQ(combined->base_version, 7u);
}

TEST(CoalesceMutations, LaterPutOrDeleteReplacesAnything) {
  for (MutationOp earlier : {MutationOp::kPut, MutationOp::kPatch, MutationOp::kDelete}) {
    Json earlier_value = earlier == MutationOp::kDelete ? Json() : Json{{"a", 1}};
    auto put = CoalesceMutations(Write(1, earlier, earlier_value),
                                 Write(2, MutationOp::kPut, Json{{"z", 1}}));
    ASSERT_TRUE(put.has_value());
    EXPECT_EQ(put->op, MutationOp::kPut);
    EXPECT_EQ(put->value, (Json{{"z", 1}}));
    auto del =
        CoalesceMutations(Write(1, earlier, earlier_value), Write(2, MutationOp::kDelete, Json()));
    ASSERT_TRUE(del.has_value());
    EXPECT_EQ(del->op, MutationOp::kDelete);
  }
}

TEST(CoalesceMutations, DeleteThenPatchBuildsFromEmpty) {
  auto combined = CoalesceMutations(Write(1, MutationOp::kDelete, Json()),
                                    Write(2, MutationOp::kPatch, Json{{"a", 1}, {"b", nullptr}}));
  ASSERT_TRUE(combined.has_value());
  EXPECT_EQ(combined->op, MutationOp::kPut);
  EXPECT_EQ(combined->value, (Json{{"a", 1}}));
}

TEST(CoalesceMutations, PatchesThatCannotComposeStaySeparate) {
  EXPECT_FALSE(CoalesceMutations(Write(1, MutationOp::kPatch, Json{{"a", nullptr}}),
                                 Write(2, MutationOp::kPatch, Json{{"a", {{"x", 1}}}}))
                   .has_value());
}

}  // namespace
}  // namespace ferry
