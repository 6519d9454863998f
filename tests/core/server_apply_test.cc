#include "ferry/server_apply.h"

#include <gtest/gtest.h>

#include "core/server_apply_contract.h"
#include "ferry/server_storage_kv.h"
#include "ferry/store_memory.h"

namespace ferry {
namespace {

using testing::ServerBackend;
using testing::ServerStateTest;
using testing::Write;

// The model server's storage: the key-value layout over MemoryStore.
struct MemoryServerStorage {
  MemoryStore store;
  KvServerStorage storage{store};
};

INSTANTIATE_TEST_SUITE_P(Memory, ServerStateTest,
                         ::testing::Values(ServerBackend{
                             "memory",
                             [] {
                               auto held = std::make_shared<MemoryServerStorage>();
                               return std::shared_ptr<ServerStorage>(held, &held->storage);
                             }}),
                         testing::PrintServerBackend);

TEST(HandleServerRequest, MapsProblemsToHttpStatuses) {
  MemoryStore store;
  ProtocolLimits limits;
  limits.max_body_bytes = 4096;
  ServerState server(store, "ep", limits);
  EXPECT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", "{").status, 400);
  EXPECT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", std::string(5000, ' ')).status,
            413);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/push", "").status, 405);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/nothing", "").status, 404);
  EXPECT_EQ(HandleServerRequest(server, "u", "GET", "/v1/pull?cursor=old.1", "").status, 410);
  auto ok = HandleServerRequest(server, "u", "GET", "/v1/pull?limit=5", "");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(DecodePullResponse(ok.body, {}).ok());
}

// A push body of one put per stamp, seqs from 1, each to its own key.
std::string PushBody(const std::vector<std::string>& stamps) {
  std::string mutations;
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    if (i > 0) mutations += ',';
    mutations += R"({"seq":)" + std::to_string(i + 1) + R"(,"collection":"docs","key":"k)" +
                 std::to_string(i) + R"(","op":"put","value":1,"baseVersion":0,"hlc":")" +
                 stamps[i] + R"("})";
  }
  return R"({"protocol":1,"clientId":"a","mutations":[)" + mutations + "]}";
}

TEST(HandleServerRequest, AMalformedStampIsRejectedPerMutationAndNeverStored) {
  MemoryStore store;
  ServerState server(store, "ep");
  const std::string body =
      PushBody({"yesterday", "0000000000001000-000000-a", "0000000000001000-00000g-a"});
  for (int attempt = 0; attempt < 2; ++attempt) {  // a repeat gets the same answer
    auto answer = HandleServerRequest(server, "u", "POST", "/v1/push", body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    PushRequest sent;
    for (uint64_t seq = 1; seq <= 3; ++seq)
      sent.mutations.push_back(Write("a", seq, MutationOp::kPut, 1, "k" + std::to_string(seq - 1)));
    auto results = DecodePushResponse(answer.body, sent, {});
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    EXPECT_EQ(results->results[0].status, PushResultStatus::kRejected);
    EXPECT_NE(results->results[0].error.find("malformed HLC stamp"), std::string::npos);
    EXPECT_EQ(results->results[1].status,
              attempt == 0 ? PushResultStatus::kApplied : PushResultStatus::kDuplicate);
    EXPECT_EQ(results->results[2].status, PushResultStatus::kRejected);
  }
  auto pulled = HandleServerRequest(server, "u", "GET", "/v1/pull", "");
  ASSERT_EQ(pulled.status, 200);
  auto page = DecodePullResponse(pulled.body, {});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->changes.size(), 1u);
  EXPECT_EQ(page->changes[0].document.key, "k1");
}

TEST(HandleServerRequest, ChecksStampsAgainstTheWallClockItIsGiven) {
  MemoryStore store;
  ServerState server(store, "ep");
  const std::string body = PushBody({"0001700003600001-000000-a"});
  auto answer =
      HandleServerRequest(server, "u", "POST", "/v1/push", body, int64_t{1'700'000'000'000});
  ASSERT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("\"rejected\""), std::string::npos) << answer.body;
}

// A store whose commits fail with a chosen code (a full disk, a busy or
// oversized database, a lost connection).
class FailingCommitStore final : public Store {
 public:
  explicit FailingCommitStore(ErrorCode code) : code_(code) {}
  Result<std::optional<std::string>> Get(std::string_view key) override { return store_.Get(key); }
  Status Scan(std::string_view begin, std::string_view end, const ScanVisitor& visit) override {
    return store_.Scan(begin, end, visit);
  }
  Status Commit(const WriteBatch&) override { return Status(code_, "the commit failed"); }

 private:
  MemoryStore store_;
  ErrorCode code_;
};

// Rule 2: a well-formed push the storage fails changed nothing and is
// answered 500 whatever the storage's code, so the client retries it; a
// 4xx would make it split the batch and dead-letter a good write.
TEST(HandleServerRequest, AStorageFailureDuringAPushIs500WhateverItsCode) {
  for (ErrorCode code : {ErrorCode::kIo, ErrorCode::kTooLarge, ErrorCode::kBusy,
                         ErrorCode::kUnavailable, ErrorCode::kInvalidArgument}) {
    FailingCommitStore store(code);
    ServerState server(store, "ep");
    auto answer = HandleServerRequest(server, "u", "POST", "/v1/push",
                                      PushBody({"0000000000001000-000000-a"}));
    EXPECT_EQ(answer.status, 500) << ErrorCodeName(code) << ": " << answer.body;
    EXPECT_FALSE(answer.changed);
  }
}

// Rule 4: a bad collection or key, or an unknown op, rejects that mutation
// alone and consumes its seq; the others of the push are applied. A repeat
// gets the same answer while it is remembered, a bare duplicate once the
// client's next push has settled it (rule 6).
TEST(HandleServerRequest, ABadDocumentIdOrOpIsRejectedPerMutation) {
  MemoryStore store;
  ServerState server(store, "ep");
  const std::string stamp = R"(,"value":1,"baseVersion":0,"hlc":"0000000000001000-000000-a"})";
  const std::string body = R"({"protocol":1,"clientId":"a","mutations":[)"
                           R"({"seq":1,"collection":"","key":"k","op":"put")" +
                           stamp + R"(,{"seq":2,"collection":"docs","key":"k","op":"upsert")" +
                           stamp + R"(,{"seq":3,"collection":"docs","key":"k","op":"put")" + stamp +
                           "]}";
  PushRequest sent;
  for (uint64_t seq = 1; seq <= 3; ++seq)
    sent.mutations.push_back(Write("a", seq, MutationOp::kPut, 1, "k"));
  sent.mutations[0].document.collection = "";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto answer = HandleServerRequest(server, "u", "POST", "/v1/push", body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    auto results = DecodePushResponse(answer.body, sent, {});
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    EXPECT_EQ(results->results[0].status, PushResultStatus::kRejected);
    EXPECT_NE(results->results[0].error.find("collection is empty"), std::string::npos);
    EXPECT_EQ(results->results[1].status, PushResultStatus::kRejected);
    EXPECT_NE(results->results[1].error.find("unknown mutation op"), std::string::npos);
    EXPECT_EQ(results->results[2].status,
              attempt == 0 ? PushResultStatus::kApplied : PushResultStatus::kDuplicate);
  }
  EXPECT_EQ(*server.LastSeq("u", "a"), 3u);
  // Seq 4 settles everything below it; seq 1 repeated is then a duplicate
  // without a document (it names none).
  const std::string settle = R"({"protocol":1,"clientId":"a","mutations":[)"
                             R"({"seq":4,"collection":"docs","key":"j","op":"put")" +
                             stamp + "]}";
  ASSERT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", settle).status, 200);
  const std::string again = R"({"protocol":1,"clientId":"a","mutations":[)"
                            R"({"seq":1,"collection":"","key":"k","op":"put")" +
                            stamp + "]}";
  auto repeat = HandleServerRequest(server, "u", "POST", "/v1/push", again);
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(repeat.body, R"({"results":[{"seq":1,"status":"duplicate"}]})");
  // A remembered conflict repeated under a bad collection: the outcome,
  // without a document, never a failure.
  const std::string by_b = R"({"protocol":1,"clientId":"b","mutations":[)"
                           R"({"seq":1,"collection":"docs","key":"b","op":"put")" +
                           stamp + "]}";
  ASSERT_EQ(HandleServerRequest(server, "u", "POST", "/v1/push", by_b).status, 200);
  const std::string conflict = R"({"protocol":1,"clientId":"a","mutations":[)"
                               R"({"seq":5,"collection":"docs","key":"b","op":"put")" +
                               stamp + "]}";
  ASSERT_NE(HandleServerRequest(server, "u", "POST", "/v1/push", conflict).body.find("conflict"),
            std::string::npos);
  const std::string renamed = R"({"protocol":1,"clientId":"a","mutations":[)"
                              R"({"seq":5,"collection":"","key":"b","op":"put")" +
                              stamp + "]}";
  auto renamed_repeat = HandleServerRequest(server, "u", "POST", "/v1/push", renamed);
  EXPECT_EQ(renamed_repeat.status, 200);
  EXPECT_EQ(renamed_repeat.body, R"({"results":[{"seq":5,"status":"conflict"}]})");
}

}  // namespace
}  // namespace ferry
