// The server semantics contract (core/include/ferry/server_apply.h) over
// every ServerStorage backend (ferry/server_storage.h). Each backend
// instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, ServerStateTest,
//                            ::testing::Values(ServerBackend{"postgres", open}),
//                            PrintServerBackend);
//
// core_tests runs it over MemoryStore; tests/server/ over SQLite and PostgreSQL.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "ferry/server_apply.h"
#include "ferry/server_storage.h"

namespace ferry::testing {

struct ServerBackend {
  std::string name;
  // Opens fresh, empty storage (the pointer keeps whatever it runs on alive),
  // or nullptr when the backend cannot run here: the tests skip, saying why.
  std::function<std::shared_ptr<ServerStorage>()> open;
  std::function<std::string()> unavailable = [] { return std::string(); };
};

inline void PrintTo(const ServerBackend& backend, std::ostream* out) {
  *out << backend.name;
}

inline std::string PrintServerBackend(const ::testing::TestParamInfo<ServerBackend>& info) {
  return info.param.name;
}

inline Mutation Write(std::string client, uint64_t seq, MutationOp op, Json value, std::string key,
                      Version base = 0) {
  Mutation m;
  m.client_id = std::move(client);
  m.seq = seq;
  m.op = op;
  m.document = {"docs", std::move(key)};
  m.value = std::move(value);
  m.base_version = base;
  m.hlc = {1000, static_cast<uint32_t>(seq), m.client_id};
  return m;
}

class ServerStateTest : public ::testing::TestWithParam<ServerBackend> {
 protected:
  void SetUp() override {
    storage_ = GetParam().open();
    if (!storage_) GTEST_SKIP() << GetParam().unavailable();
    server_ = std::make_unique<ServerState>(*storage_, "ep1");
  }

  PushResponse Push(std::string client, std::vector<Mutation> mutations,
                    std::string user = "alice") {
    auto response = server_->ApplyPush(user, {std::move(client), std::move(mutations)});
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? *response : PushResponse{};
  }
  ServerDocument Doc(std::string key, std::string user = "alice") {
    auto doc = server_->GetDocument(user, {"docs", std::move(key)});
    EXPECT_TRUE(doc.ok());
    return doc.ok() ? *doc : ServerDocument{};
  }

  std::shared_ptr<ServerStorage> storage_;
  std::unique_ptr<ServerState> server_;
};

TEST_P(ServerStateTest, AppliesEachSeqOnceAndAnswersRepeatsAsDuplicates) {
  auto first = Push("a", {Write("a", 1, MutationOp::kPut, Json{{"n", 1}}, "x")});
  EXPECT_EQ(first.results[0].status, PushResultStatus::kApplied);
  auto again = Push("a", {Write("a", 1, MutationOp::kPut, Json{{"n", 1}}, "x"),
                          Write("a", 2, MutationOp::kPatch, Json{{"m", 2}}, "x")});
  EXPECT_EQ(again.results[0].status, PushResultStatus::kDuplicate);
  EXPECT_EQ(again.results[1].status, PushResultStatus::kApplied);
  EXPECT_EQ(Doc("x").state.value, (Json{{"n", 1}, {"m", 2}}));
  EXPECT_EQ(server_->statistics().mutations_applied, 2u);
  EXPECT_EQ(server_->statistics().mutations_duplicate, 1u);
  auto last = server_->LastSeq("alice", "a");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 2u);
}

TEST_P(ServerStateTest, VersionsIncreaseWithEveryAppliedMutation) {
  auto response =
      Push("a", {Write("a", 1, MutationOp::kPut, 1, "x"), Write("a", 2, MutationOp::kPut, 2, "y")});
  EXPECT_EQ(response.results[0].version, 1u);
  EXPECT_EQ(response.results[1].version, 2u);
}

TEST_P(ServerStateTest, ForeignWriteAfterTheBaseIsAConflict) {
  Push("a", {Write("a", 1, MutationOp::kPut, Json{{"by", "a"}}, "x")});
  auto response = Push("b", {Write("b", 1, MutationOp::kPut, Json{{"by", "b"}}, "x", /*base=*/0)});
  ASSERT_EQ(response.results[0].status, PushResultStatus::kConflict);
  EXPECT_EQ(response.results[0].current.version, 1u);
  EXPECT_EQ(response.results[0].current.state.value, (Json{{"by", "a"}}));
  EXPECT_EQ(Doc("x").state.value, (Json{{"by", "a"}}));
}

TEST_P(ServerStateTest, ClientsOwnConsecutiveWritesOnTheSameBaseDoNotConflict) {
  Push("a", {Write("a", 1, MutationOp::kPut, Json{{"v", 0}}, "x")});
  // b writes twice against version 1 before hearing back.
  auto response = Push("b", {Write("b", 1, MutationOp::kPatch, Json{{"v", 1}}, "x", 1),
                             Write("b", 2, MutationOp::kPatch, Json{{"w", 2}}, "x", 1)});
  EXPECT_EQ(response.results[0].status, PushResultStatus::kApplied);
  EXPECT_EQ(response.results[1].status, PushResultStatus::kApplied);
  // ...but a write by a against the old base now conflicts.
  auto stale = Push("a", {Write("a", 2, MutationOp::kPatch, Json{{"v", 9}}, "x", 1)});
  EXPECT_EQ(stale.results[0].status, PushResultStatus::kConflict);
}

TEST_P(ServerStateTest, ARepeatedMutationThatWasNotAppliedGetsItsOutcomeAgain) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x")});
  Push("b", {Write("b", 1, MutationOp::kPut, 2, "x", 1)});
  // b's stale write conflicts and b's next mutation is refused; both answers are lost.
  const std::vector<Mutation> sent = {Write("b", 2, MutationOp::kPut, 3, "x", 0),
                                      Write("b", 3, MutationOp::kPatch, "not an object", "y")};
  auto first = Push("b", sent);
  ASSERT_EQ(first.results[0].status, PushResultStatus::kConflict);
  ASSERT_EQ(first.results[1].status, PushResultStatus::kRejected);
  Push("a", {Write("a", 2, MutationOp::kPut, 4, "x", 2)});  // the document moves on meanwhile
  auto again = Push("b", sent);
  ASSERT_EQ(again.results[0].status, PushResultStatus::kConflict);
  EXPECT_EQ(again.results[0].current.version, 3u);  // the document as it is now
  EXPECT_EQ(again.results[0].current.state.value, Json(4));
  EXPECT_EQ(again.results[0].current.hlc, Write("a", 2, MutationOp::kPut, 4, "x").hlc.ToString());
  ASSERT_EQ(again.results[1].status, PushResultStatus::kRejected);
  EXPECT_EQ(again.results[1].error, first.results[1].error);
  EXPECT_EQ(Doc("x").state.value, Json(4));  // nothing was applied by the repeat
  // A push starting above them tells the server b has settled them: forgotten.
  Push("b", {Write("b", 4, MutationOp::kPut, 5, "z")});
  auto late = Push("b", sent);
  EXPECT_EQ(late.results[0].status, PushResultStatus::kDuplicate);
  EXPECT_EQ(late.results[1].status, PushResultStatus::kDuplicate);
}

TEST_P(ServerStateTest, InvalidMutationIsRejectedWithoutBlockingTheRest) {
  auto response = Push("a", {Write("a", 1, MutationOp::kPatch, Json::array({1}), "x"),
                             Write("a", 2, MutationOp::kPut, 5, "y")});
  EXPECT_EQ(response.results[0].status, PushResultStatus::kRejected);
  EXPECT_FALSE(response.results[0].error.empty());
  EXPECT_EQ(response.results[1].status, PushResultStatus::kApplied);
}

TEST_P(ServerStateTest, PullPagesThroughLatestStatesInChangeOrder) {
  for (uint64_t i = 1; i <= 5; ++i)
    Push("a", {Write("a", i, MutationOp::kPut, static_cast<int>(i), "k" + std::to_string(i))});
  Push("a", {Write("a", 6, MutationOp::kPut, 100, "k1", 1)});  // k1 moves to the end
  std::vector<std::string> keys;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto response = server_->ServePull("alice", {cursor, 2});
    ASSERT_TRUE(response.ok());
    for (const auto& change : response->changes)
      keys.push_back(change.document.key);
    cursor = response->cursor;
    if (!response->has_more) break;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"k2", "k3", "k4", "k5", "k1"}));
  auto empty = server_->ServePull("alice", {cursor, 2});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->changes.empty());
  EXPECT_EQ(empty->cursor, cursor);
}

TEST_P(ServerStateTest, DeletesAreServedAsTombstonesUntilPurged) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x"),
             Write("a", 2, MutationOp::kDelete, Json(), "x", 1)});
  auto pulled = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(pulled.ok());
  ASSERT_EQ(pulled->changes.size(), 1u);
  EXPECT_FALSE(pulled->changes[0].state.exists);
  ASSERT_TRUE(server_->PurgeTombstones("alice", 2).ok());
  auto after = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->changes.empty());
}

TEST_P(ServerStateTest, CursorsOlderThanThePurgeHorizonExpire) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x")});
  auto pulled = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(pulled.ok());
  Push("a", {Write("a", 2, MutationOp::kDelete, Json(), "x", 1),
             Write("a", 3, MutationOp::kPut, 1, "y")});
  ASSERT_TRUE(server_->PurgeTombstones("alice", 3).ok());
  EXPECT_EQ(server_->ServePull("alice", {pulled->cursor, 10}).status().code(),
            ErrorCode::kCursorExpired);
}

TEST_P(ServerStateTest, CursorsFromAnotherEpochExpire) {
  EXPECT_EQ(server_->ServePull("alice", {"ep0.5", 10}).status().code(), ErrorCode::kCursorExpired);
  EXPECT_EQ(server_->ServePull("alice", {"garbage", 10}).status().code(), ErrorCode::kProtocol);
}

TEST_P(ServerStateTest, UsersNeverSeeEachOthersData) {
  Push("a", {Write("a", 1, MutationOp::kPut, Json{{"secret", "alice"}}, "x")}, "alice");
  auto bob = server_->ServePull("bob", {"", 100});
  ASSERT_TRUE(bob.ok());
  EXPECT_TRUE(bob->changes.empty());
  // The same client id and key under another user is a separate document.
  auto response = Push("a", {Write("a", 1, MutationOp::kPut, Json{{"secret", "bob"}}, "x")}, "bob");
  EXPECT_EQ(response.results[0].status, PushResultStatus::kApplied);
  EXPECT_EQ(Doc("x", "alice").state.value, (Json{{"secret", "alice"}}));
  EXPECT_EQ(Doc("x", "bob").state.value, (Json{{"secret", "bob"}}));
}

}  // namespace ferry::testing
