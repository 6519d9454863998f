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
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

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

// A backend may hold a push's writes until it commits (PostgreSQL does):
// each read in the push still sees the push's own earlier writes and
// outcomes, and the log holds each document once.
TEST_P(ServerStateTest, AReadInAPushSeesThePushsOwnEarlierWrites) {
  Push("b", {Write("b", 1, MutationOp::kPut, Json{{"by", "b"}}, "taken")});
  auto response = Push("a", {Write("a", 1, MutationOp::kPut, Json{{"n", 1}}, "x"),
                             Write("a", 2, MutationOp::kPatch, Json{{"m", 2}}, "x"),
                             Write("a", 3, MutationOp::kDelete, Json(), "x"),
                             Write("a", 4, MutationOp::kPatch, Json{{"o", 3}}, "x"),
                             Write("a", 4, MutationOp::kPatch, Json{{"o", 3}}, "x"),
                             Write("a", 5, MutationOp::kPut, 1, "taken", 0),
                             Write("a", 5, MutationOp::kPut, 1, "taken", 0)});
  ASSERT_EQ(response.results.size(), 7u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(response.results[i].status, PushResultStatus::kApplied) << i;
    EXPECT_EQ(response.results[i].version, i + 2) << i;
    EXPECT_EQ(response.results[i].previous_version, i == 0 ? 0 : i + 1) << i;
  }
  EXPECT_EQ(response.results[4].status, PushResultStatus::kDuplicate);
  EXPECT_EQ(response.results[4].current.version, 5u) << "the repeat sees the write before it";
  EXPECT_EQ(response.results[5].status, PushResultStatus::kConflict);
  EXPECT_EQ(response.results[6].status, PushResultStatus::kConflict)
      << "the repeat sees the outcome remembered before it";
  EXPECT_EQ(Doc("x").state.value, (Json{{"o", 3}})) << "the patch after the delete";
  auto pulled = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(pulled.ok());
  ASSERT_EQ(pulled->changes.size(), 2u) << "each document once, at its latest version";
  EXPECT_EQ(pulled->changes[1].document.key, "x");
  EXPECT_EQ(pulled->changes[1].version, 5u);
}

// Keys and values with the characters a backend must escape (PostgreSQL's
// array literals: quotes, backslashes, commas, braces, spaces, "NULL")
// come back byte for byte, in one push and across pushes.
TEST_P(ServerStateTest, KeysAndValuesThatNeedEscapingRoundTrip) {
  const std::vector<std::string> keys = {"a\"b",
                                         "back\\slash",
                                         "x,y",
                                         "{braces}",
                                         " spaced ",
                                         "NULL",
                                         "\u00e9t\u00e9 \xf0\x9f\x98\x80",
                                         "\\\""};
  const Json value = {{"text", "quote \" backslash \\ newline \n tab \t"}, {"n", nullptr}};
  std::vector<Mutation> puts;
  for (std::size_t i = 0; i < keys.size(); ++i)
    puts.push_back(Write("a", i + 1, MutationOp::kPut, value, keys[i]));
  auto response = Push("a", puts);
  ASSERT_EQ(response.results.size(), keys.size());
  for (const PushResult& result : response.results)
    EXPECT_EQ(result.status, PushResultStatus::kApplied);
  auto patched = Push(
      "a", {Write("a", keys.size() + 1, MutationOp::kPatch, Json{{"more", "\\\""}}, keys[0], 1)});
  ASSERT_EQ(patched.results.size(), 1u);
  EXPECT_EQ(patched.results[0].status, PushResultStatus::kApplied);

  auto pulled = server_->ServePull("alice", {"", 100});
  ASSERT_TRUE(pulled.ok());
  std::map<std::string, Json> seen;
  for (const auto& change : pulled->changes)
    seen[change.document.key] = change.state.value;
  ASSERT_EQ(seen.size(), keys.size());
  for (std::size_t i = 1; i < keys.size(); ++i)
    EXPECT_EQ(seen[keys[i]], value) << keys[i];
  Json merged = value;
  merged["more"] = "\\\"";
  EXPECT_EQ(seen[keys[0]], merged);
}

// More than a backend holds in memory for one push (PostgreSQL: 4 MB of
// prefetched documents, 4 MB of held writes): what it no longer holds, it
// reads again, the push's own writes included.
TEST_P(ServerStateTest, APushOfLargeDocumentsReadsAndWritesEachRight) {
  const std::string large(900 * 1024, 'a');
  constexpr uint64_t kCount = 6;
  std::vector<Mutation> puts;
  std::vector<Mutation> patches;
  for (uint64_t i = 0; i < kCount; ++i) {
    const std::string key = "k" + std::to_string(i);
    puts.push_back(Write("a", i + 1, MutationOp::kPut, Json{{"big", large}}, key));
    patches.push_back(Write("a", kCount + i + 1, MutationOp::kPatch, Json{{"n", i}}, key));
  }
  std::vector<Mutation> both = puts;
  both.insert(both.end(), patches.begin(), patches.end());
  for (const PushResult& result : Push("a", both).results)
    EXPECT_EQ(result.status, PushResultStatus::kApplied) << result.seq << ": " << result.error;
  for (Mutation& patch : patches) {
    patch.seq += kCount;
    patch.base_version = kCount + std::stoull(patch.document.key.substr(1)) + 1;
    patch.value = Json{{"m", patch.seq}};
  }
  for (const PushResult& result : Push("a", patches).results)
    EXPECT_EQ(result.status, PushResultStatus::kApplied) << result.seq << ": " << result.error;
  for (uint64_t i = 0; i < kCount; ++i) {
    const ServerDocument doc = Doc("k" + std::to_string(i));
    EXPECT_EQ(doc.state.value, (Json{{"big", large}, {"n", i}, {"m", 2 * kCount + i + 1}})) << i;
    EXPECT_EQ(doc.version, 2 * kCount + i + 1) << i;
  }
}

TEST_P(ServerStateTest, InvalidMutationIsRejectedWithoutBlockingTheRest) {
  auto response = Push("a", {Write("a", 1, MutationOp::kPatch, Json::array({1}), "x"),
                             Write("a", 2, MutationOp::kPut, 5, "y")});
  EXPECT_EQ(response.results[0].status, PushResultStatus::kRejected);
  EXPECT_FALSE(response.results[0].error.empty());
  EXPECT_EQ(response.results[1].status, PushResultStatus::kApplied);
}

TEST_P(ServerStateTest, APatchWhoseResultExceedsTheValueLimitIsRejected) {
  const std::string half(kMaxValueBytes / 2, 'a');
  Push("a", {Write("a", 1, MutationOp::kPut, Json{{"first", half}}, "x")});
  // Each patch is within the limit; the document they make is not.
  auto response = Push("a", {Write("a", 2, MutationOp::kPatch, Json{{"second", half}}, "x", 1),
                             Write("a", 3, MutationOp::kPatch, Json{{"third", "small"}}, "x", 1)});
  EXPECT_EQ(response.results[0].status, PushResultStatus::kRejected);
  EXPECT_NE(response.results[0].error.find("the patched document"), std::string::npos)
      << response.results[0].error;
  EXPECT_EQ(response.results[1].status, PushResultStatus::kApplied);
  EXPECT_EQ(Doc("x").state.value, (Json{{"first", half}, {"third", "small"}}));
  EXPECT_EQ(Doc("x").version, 2u) << "the rejected patch took no version";
}

TEST_P(ServerStateTest, APushAnswerCarriesEachDocumentOnceAndWithinItsBudget) {
  const std::string large(900 * 1024, 'a');
  Push("a", {Write("a", 1, MutationOp::kPut, large, "big"),
             Write("a", 2, MutationOp::kPut, large, "big2")});
  // 300 deletes of one document, each based on a version another client
  // never saw: each conflicts, and each used to carry the document.
  std::vector<Mutation> deletes;
  for (uint64_t seq = 1; seq <= 300; ++seq)
    deletes.push_back(Write("b", seq, MutationOp::kDelete, Json(), "big", 0));
  auto response = Push("b", deletes);
  std::size_t with_current = 0;
  for (const PushResult& result : response.results) {
    EXPECT_EQ(result.status, PushResultStatus::kConflict);
    with_current += result.has_current;
  }
  EXPECT_EQ(with_current, 1u);
  EXPECT_TRUE(response.results[0].has_current) << "the first always has it: pushes progress";
  EXPECT_LT(EncodePushResponse(response).size(), 2u * large.size());
  // The repeat answers its remembered conflicts the same way.
  EXPECT_EQ(Push("b", deletes).results[0].has_current, true);

  // The byte budget: past it, no result carries a document.
  ProtocolLimits limits;
  limits.max_push_current_bytes = 2 * large.size();
  ServerState server(*storage_, "ep1", limits);
  ASSERT_TRUE(server
                  .ApplyPush("u", {"a",
                                   {Write("a", 1, MutationOp::kPut, large, "x"),
                                    Write("a", 2, MutationOp::kPut, large, "y"),
                                    Write("a", 3, MutationOp::kPut, large, "z")}})
                  .ok());
  auto conflicts = server.ApplyPush("u", {"b",
                                          {Write("b", 1, MutationOp::kDelete, Json(), "x"),
                                           Write("b", 2, MutationOp::kDelete, Json(), "y"),
                                           Write("b", 3, MutationOp::kDelete, Json(), "z")}});
  ASSERT_TRUE(conflicts.ok());
  EXPECT_TRUE(conflicts->results[0].has_current);
  EXPECT_TRUE(conflicts->results[1].has_current) << "within the budget when it began";
  EXPECT_FALSE(conflicts->results[2].has_current);
}

TEST_P(ServerStateTest, AStampFurtherAheadOfTheServersClockThanTheLimitIsRejected) {
  const int64_t server_wall_ms = 1'700'000'000'000;
  const int64_t limit = ProtocolLimits{}.max_hlc_ahead_ms;
  Mutation at_limit = Write("a", 1, MutationOp::kPut, 1, "x");
  at_limit.hlc.wall_ms = server_wall_ms + limit;
  Mutation beyond = Write("a", 2, MutationOp::kPut, 2, "y");
  beyond.hlc.wall_ms = server_wall_ms + limit + 1;
  Mutation year_9999 = Write("a", 3, MutationOp::kPut, 3, "z");
  year_9999.hlc.wall_ms = 253'402'300'799'000;
  auto response = server_->ApplyPush("alice", {"a", {at_limit, beyond, year_9999}}, server_wall_ms);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->results[0].status, PushResultStatus::kApplied);
  EXPECT_EQ(response->results[1].status, PushResultStatus::kRejected);
  EXPECT_NE(response->results[1].error.find("ahead of the server's clock"), std::string::npos);
  EXPECT_EQ(response->results[2].status, PushResultStatus::kRejected);
  EXPECT_EQ(Doc("y").version, 0u);
  EXPECT_EQ(Doc("z").version, 0u);
}

TEST_P(ServerStateTest, CountsEachUsersPushesApartAndAllTogether) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x"), Write("a", 2, MutationOp::kPut, 2, "y")},
       "alice");
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x")}, "alice");  // a duplicate
  Push("b", {Write("b", 1, MutationOp::kPut, 3, "x")}, "bob");
  const ServerStatistics alice = server_->StatisticsOf("alice");
  EXPECT_EQ(alice.mutations_applied, 2u);
  EXPECT_EQ(alice.mutations_duplicate, 1u);
  EXPECT_EQ(server_->StatisticsOf("bob").mutations_applied, 1u);
  EXPECT_EQ(server_->StatisticsOf("bob").mutations_duplicate, 0u);
  EXPECT_EQ(server_->StatisticsOf("carol").mutations_applied, 0u);
  EXPECT_EQ(server_->statistics().mutations_applied, 3u);
}

TEST_P(ServerStateTest, PullPagesThroughLatestStatesInChangeOrder) {
  for (uint64_t i = 1; i <= 5; ++i)
    Push("a", {Write("a", i, MutationOp::kPut, static_cast<int>(i), "k" + std::to_string(i))});
  Push("a", {Write("a", 6, MutationOp::kPut, 100, "k1", 1)});  // k1 moves to the end
  std::vector<std::string> keys;
  std::vector<std::optional<uint64_t>> remaining;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto response = server_->ServePull("alice", {cursor, 2});
    ASSERT_TRUE(response.ok());
    for (const auto& change : response->changes)
      keys.push_back(change.document.key);
    remaining.push_back(response->remaining);
    cursor = response->cursor;
    if (!response->has_more) break;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"k2", "k3", "k4", "k5", "k1"}));
  // The head (6) minus each page's last version; the last page says none.
  EXPECT_EQ(remaining, (std::vector<std::optional<uint64_t>>{3, 1, std::nullopt}));
  auto empty = server_->ServePull("alice", {cursor, 2});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->changes.empty());
  EXPECT_EQ(empty->cursor, cursor);
}

// Pulls every page under `scope` from `cursor`; returns "collection/key" in
// order and leaves `cursor` at the last page's cursor.
inline std::vector<std::string> PullAll(ServerState& server, std::string& cursor,
                                        const CollectionScope& scope, std::size_t limit = 2) {
  std::vector<std::string> seen;
  for (int page = 0; page < 100; ++page) {
    auto response = server.ServePull("alice", {cursor, limit, scope});
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    if (!response.ok()) break;
    for (const auto& change : response->changes)
      seen.push_back(change.document.collection + "/" + change.document.key);
    cursor = response->cursor;
    if (!response->has_more) break;
  }
  return seen;
}

TEST_P(ServerStateTest, AScopedPullServesOnlyTheCollectionsItAdmits) {
  uint64_t seq = 0;
  for (const char* collection : {"notes", "readings", "tasks", "readings", "notes", "readings"}) {
    ++seq;
    Mutation m = Write("a", seq, MutationOp::kPut, 1, "k" + std::to_string(seq));
    m.document.collection = collection;
    Push("a", {m});
  }
  std::string cursor;
  EXPECT_EQ(PullAll(*server_, cursor, {std::vector<std::string>{"notes"}, {}}),
            (std::vector<std::string>{"notes/k1", "notes/k5"}));
  // The scoped pull that reached the head leaves its cursor there.
  auto again = server_->ServePull("alice", {cursor, 2, {std::vector<std::string>{"notes"}, {}}});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->changes.empty());
  EXPECT_FALSE(again->has_more);
  std::string from_start;
  EXPECT_EQ(PullAll(*server_, from_start, {std::nullopt, {"readings"}}),
            (std::vector<std::string>{"notes/k1", "tasks/k3", "notes/k5"}));
  std::string everything;
  EXPECT_EQ(PullAll(*server_, everything, {}, 100).size(), 6u);
  std::string none;
  EXPECT_TRUE(PullAll(*server_, none, {std::vector<std::string>{}, {}}).empty());
}

TEST_P(ServerStateTest, AScopedPageCountsOnlyAdmittedChangesTowardItsLimit) {
  uint64_t seq = 0;
  for (int i = 0; i < 5; ++i) {
    Mutation m = Write("a", ++seq, MutationOp::kPut, 1, "r" + std::to_string(i));
    m.document.collection = "readings";
    Push("a", {m});
  }
  Push("a", {Write("a", ++seq, MutationOp::kPut, 1, "d1")});
  Push("a", {Write("a", ++seq, MutationOp::kPut, 1, "d2")});
  auto page = server_->ServePull("alice", {"", 2, {std::nullopt, {"readings"}}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_EQ(page->changes[1].document.key, "d2");
  EXPECT_FALSE(page->has_more);
  // A scoped page that leaves more says no "remaining": the head would count
  // the readings it skips.
  auto first = server_->ServePull("alice", {"", 1, {std::nullopt, {"readings"}}});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->has_more);
  EXPECT_EQ(first->remaining, std::nullopt);
}

TEST_P(ServerStateTest, AMalformedScopeIsAnswered400) {
  auto response = HandleServerRequest(*server_, "alice", "GET", "/v1/pull?collections=a,,b", "");
  EXPECT_EQ(response.status, 400);
  auto good = HandleServerRequest(*server_, "alice", "GET", "/v1/pull?collections=a%2Cb", "");
  EXPECT_EQ(good.status, 200);
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

// Any cursor this server did not issue for its log expires (410: the client
// resyncs) rather than being refused (400: the client would retry it forever).
TEST_P(ServerStateTest, CursorsFromAnotherEpochOrInAnotherFormatExpire) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x")});
  for (const std::string cursor : {"ep0.5", "garbage", "ep1.1", "ep1.0", "ep1.1.1", "ep1.x.1.a.0",
                                   "ep1.1.1..0", "ep1.1.1.a.0.0"}) {
    EXPECT_EQ(server_->ServePull("alice", {cursor, 10}).status().code(), ErrorCode::kCursorExpired)
        << cursor;
  }
}

// The fields of a cursor ("<epoch>.<after>.<head>.<tag>.<horizon>") with
// `after` and `head` replaced: what a client holding an altered one sends.
inline std::string WithPosition(const std::string& cursor, const std::string& after,
                                const std::string& head) {
  const std::size_t first = cursor.find('.');
  const std::size_t second = cursor.find('.', first + 1);
  const std::size_t third = cursor.find('.', second + 1);
  return cursor.substr(0, first + 1) + after + "." + head + cursor.substr(third);
}

// Positions inside the log that the server never issues: a page's end past
// the head it read (it would skip the changes between), a horizon the log
// has not reached.
TEST_P(ServerStateTest, ACursorWithFieldsTheServerNeverIssuesExpires) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x"), Write("a", 2, MutationOp::kPut, 2, "y")});
  auto first = server_->ServePull("alice", {"", 1});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_more);
  const std::string after_past_head = WithPosition(first->cursor, "2", "1");
  EXPECT_EQ(server_->ServePull("alice", {after_past_head, 10}).status().code(),
            ErrorCode::kCursorExpired)
      << after_past_head;
  auto empty = server_->ServePull("nobody", {"", 10});
  ASSERT_TRUE(empty.ok());
  const std::string far_horizon = empty->cursor + "999999999999";
  EXPECT_EQ(server_->ServePull("nobody", {far_horizon, 10}).status().code(),
            ErrorCode::kCursorExpired)
      << far_horizon;
  EXPECT_TRUE(server_->ServePull("alice", {first->cursor, 10}).ok());
}

TEST_P(ServerStateTest, ACursorAheadOfTheChangeLogExpiresInsteadOfWrappingToTheStart) {
  Push("a", {Write("a", 1, MutationOp::kPut, 1, "x"), Write("a", 2, MutationOp::kPut, 2, "y")});
  auto issued = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(issued.ok());
  // 2^64-1: one past it wrapped to 0 and served the whole log again.
  for (const auto& [after, head] : std::vector<std::pair<std::string, std::string>>{
           {"18446744073709551615", "18446744073709551615"}, {"3", "3"}, {"2", "3"}}) {
    const std::string cursor = WithPosition(issued->cursor, after, head);
    auto pulled = server_->ServePull("alice", {cursor, 10});
    EXPECT_EQ(pulled.status().code(), ErrorCode::kCursorExpired) << cursor;
  }
  EXPECT_EQ(server_->ServePull("nobody", {"ep1.1.1.0.0", 10}).status().code(),
            ErrorCode::kCursorExpired)
      << "a user who wrote nothing was issued no cursor above 0";
  auto current = server_->ServePull("alice", {issued->cursor, 10});
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_TRUE(current->changes.empty());
  Push("a", {Write("a", 3, MutationOp::kDelete, Json(), "y", 2)});
  EXPECT_TRUE(server_->PurgeTombstones("alice", UINT64_MAX).ok());
  auto full = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->changes.size(), 1u) << "purging up to 2^64-1 drops every tombstone";
  EXPECT_EQ(full->changes[0].document.key, "x");
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

// A database restored from a backup keeps its epoch: a client whose cursor
// came from the lost history must not read on in the new one once its head
// passes the cursor (it would never get the new writes at those versions,
// and keep documents the server no longer has). Two storages model the
// restore: the same commits (and tags) up to the backup, then each its own.
TEST_P(ServerStateTest, ACursorFromAHistoryLostToARestoreExpiresOnceTheHeadPassesIt) {
  std::shared_ptr<ServerStorage> restored_storage = GetParam().open();
  ASSERT_TRUE(restored_storage);
  uint64_t lost_words = 0;
  uint64_t restored_words = 0;
  ServerState lost(*storage_, "ep1", {}, [&] { return ++lost_words; });
  // The restored database's later commits draw other words, as fresh randomness does.
  ServerState restored(*restored_storage, "ep1", {}, [&] {
    return ++restored_words <= 1 ? restored_words : 1000 + restored_words;
  });
  const PushRequest shared{"a", {Write("a", 1, MutationOp::kPut, 1, "x")}};
  ASSERT_TRUE(lost.ApplyPush("alice", shared).ok());
  ASSERT_TRUE(restored.ApplyPush("alice", shared).ok());
  auto before_backup = lost.ServePull("alice", {"", 10});
  ASSERT_TRUE(before_backup.ok());

  ASSERT_TRUE(lost.ApplyPush("alice", {"a",
                                       {Write("a", 2, MutationOp::kPut, 2, "y"),
                                        Write("a", 3, MutationOp::kPut, 3, "z")}})
                  .ok());
  auto after_backup = lost.ServePull("alice", {before_backup->cursor, 10});
  ASSERT_TRUE(after_backup.ok());
  ASSERT_EQ(after_backup->changes.size(), 2u);

  // The restored log: another client's writes take versions 2..4.
  ASSERT_TRUE(restored
                  .ApplyPush("alice", {"b",
                                       {Write("b", 1, MutationOp::kPut, 10, "p"),
                                        Write("b", 2, MutationOp::kPut, 20, "q"),
                                        Write("b", 3, MutationOp::kDelete, Json(), "x", 1)}})
                  .ok());
  EXPECT_EQ(restored.ServePull("alice", {after_backup->cursor, 10}).status().code(),
            ErrorCode::kCursorExpired)
      << after_backup->cursor;
  // A cursor from before the backup names a commit both logs hold: it reads on.
  auto shared_prefix = restored.ServePull("alice", {before_backup->cursor, 10});
  ASSERT_TRUE(shared_prefix.ok()) << shared_prefix.status().ToString();
  EXPECT_EQ(shared_prefix->changes.size(), 3u);
}

// A resync (a pull from the start) pages through live documents below the
// horizon; its cursors go on while no purge comes, and expire when one does.
TEST_P(ServerStateTest, AResyncPagesBelowTheHorizonUntilAnotherPurge) {
  for (uint64_t i = 1; i <= 5; ++i)
    Push("a", {Write("a", i, MutationOp::kPut, static_cast<int>(i), "k" + std::to_string(i))});
  Push("a", {Write("a", 6, MutationOp::kDelete, Json(), "k5", 5)});
  ASSERT_TRUE(server_->PurgeTombstones("alice", 6).ok());
  std::vector<std::string> keys;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto response = server_->ServePull("alice", {cursor, 2});
    ASSERT_TRUE(response.ok()) << "page " << page << ": " << response.status().ToString();
    for (const auto& change : response->changes)
      keys.push_back(change.document.key);
    cursor = response->cursor;
    if (!response->has_more) break;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2", "k3", "k4"}));

  auto first_page = server_->ServePull("alice", {"", 2});
  ASSERT_TRUE(first_page.ok());
  Push("a", {Write("a", 7, MutationOp::kDelete, Json(), "k3", 3)});
  ASSERT_TRUE(server_->PurgeTombstones("alice", 7).ok());
  EXPECT_EQ(server_->ServePull("alice", {first_page->cursor, 2}).status().code(),
            ErrorCode::kCursorExpired)
      << "the purge may have dropped a delete of a document the resync already saw";
}

// The tombstone horizon by time: tombstones of commits before the cut-off
// go, later ones stay, and a cursor from before the purge expires.
TEST_P(ServerStateTest, PurgeByCommitTimeDropsOnlyOlderTombstones) {
  const auto push_at = [&](int64_t wall_ms, Mutation mutation) {
    auto response = server_->ApplyPush("alice", {mutation.client_id, {mutation}}, wall_ms);
    ASSERT_TRUE(response.ok());
    ASSERT_EQ(response->results[0].status, PushResultStatus::kApplied);
  };
  push_at(1000, Write("a", 1, MutationOp::kPut, 1, "old"));
  push_at(1000, Write("a", 2, MutationOp::kPut, 1, "new"));
  auto early = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(early.ok());
  push_at(2000, Write("a", 3, MutationOp::kDelete, Json(), "old", 1));
  push_at(3000, Write("a", 4, MutationOp::kDelete, Json(), "new", 2));

  ASSERT_TRUE(server_->PurgeTombstonesCommittedBefore(1500).ok());
  auto nothing_yet = server_->ServePull("alice", {early->cursor, 10});
  ASSERT_TRUE(nothing_yet.ok()) << "nothing before 1500 was a tombstone";
  EXPECT_EQ(nothing_yet->changes.size(), 2u);

  ASSERT_TRUE(server_->PurgeTombstonesCommittedBefore(2500).ok());
  EXPECT_EQ(server_->ServePull("alice", {early->cursor, 10}).status().code(),
            ErrorCode::kCursorExpired);
  auto full = server_->ServePull("alice", {"", 10});
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->changes.size(), 1u) << "the later tombstone stays";
  EXPECT_EQ(full->changes[0].document.key, "new");
  EXPECT_FALSE(full->changes[0].state.exists);
  auto current = server_->ServePull("alice", {full->cursor, 10});
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  ASSERT_TRUE(server_->PurgeTombstonesCommittedBefore(2500).ok());
  EXPECT_TRUE(server_->ServePull("alice", {full->cursor, 10}).ok())
      << "a purge that moves nothing expires nothing";
}

// A purge limit (the webhook's delivery cursor) holds the purge back per
// user: a tombstone above it stays until the limit reaches it.
TEST_P(ServerStateTest, PurgeGoesNoFurtherThanItsLimit) {
  const auto push_at = [&](int64_t wall_ms, const std::string& user, Mutation mutation) {
    auto response = server_->ApplyPush(user, {mutation.client_id, {mutation}}, wall_ms);
    ASSERT_TRUE(response.ok());
    ASSERT_EQ(response->results[0].status, PushResultStatus::kApplied);
  };
  for (const std::string user : {"alice", "bob"}) {
    push_at(1000, user, Write("a", 1, MutationOp::kPut, 1, "k"));
    push_at(1000, user, Write("a", 2, MutationOp::kDelete, Json(), "k", 1));
  }
  Version alice_limit = 1;
  const PurgeLimit limit = [&](std::string_view user) -> Result<Version> {
    return user == "alice" ? alice_limit : Version{2};
  };
  const auto tombstones = [&](const std::string& user) {
    auto full = server_->ServePull(user, {"", 10});
    EXPECT_TRUE(full.ok());
    return full.ok() ? full->changes.size() : 0;
  };

  ASSERT_TRUE(server_->PurgeTombstonesCommittedBefore(5000, limit).ok());
  EXPECT_EQ(tombstones("alice"), 1u) << "alice's tombstone (version 2) is above her limit";
  EXPECT_EQ(tombstones("bob"), 0u);

  alice_limit = 2;
  ASSERT_TRUE(server_->PurgeTombstonesCommittedBefore(5000, limit).ok());
  EXPECT_EQ(tombstones("alice"), 0u) << "the limit reached it";

  const PurgeLimit failing = [](std::string_view) -> Result<Version> {
    return Status(ErrorCode::kInternal, "cursor unreadable");
  };
  push_at(6000, "alice", Write("a", 3, MutationOp::kPut, 1, "j"));
  push_at(6000, "alice", Write("a", 4, MutationOp::kDelete, Json(), "j", 3));
  EXPECT_FALSE(server_->PurgeTombstonesCommittedBefore(9000, failing).ok());
  EXPECT_EQ(tombstones("alice"), 1u) << "an unreadable limit purges nothing";
}

}  // namespace ferry::testing
